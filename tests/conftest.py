import os
import tempfile

import pytest

# GUI tests never need a display; the app under test sees the same platform a CI machine has.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# What the user data folder holds (trusted custom-loss code, see core/trust.py) goes to a throwaway
# folder during tests, never to the real one; subprocesses inherit it.
os.environ.setdefault("LOSSLAB_DATA_DIR", tempfile.mkdtemp(prefix="losslab-test-data-"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread, as LossLab trains: small networks train fastest that way (3x on two cores),
    and test processes may run side by side. Modules ask for it with ``pytestmark``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
