import os

# GUI tests never need a display; the app under test sees the same platform a CI machine has.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
