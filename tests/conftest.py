import os
import tempfile

# GUI tests never need a display; the app under test sees the same platform a CI machine has.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# What the user data folder holds (trusted custom-loss code, see core/trust.py) goes to a throwaway
# folder during tests, never to the real one; subprocesses inherit it.
os.environ.setdefault("LOSSLAB_DATA_DIR", tempfile.mkdtemp(prefix="losslab-test-data-"))
