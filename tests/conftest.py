import atexit
import os
import shutil
import tempfile

import pytest

# GUI tests never need a display; the app under test sees the same platform a CI machine has.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# What the user data folder holds (trusted custom-loss code, see core/trust.py; the run history that
# every `losslab run` and losslab.train records into, see core/runs) goes to a throwaway folder
# during tests, never to the real one; subprocesses inherit it. Tests that look at what was stored
# use their own folder (tmp_path) so that runs recorded by other tests do not get in the way.
if not os.environ.get("LOSSLAB_DATA_DIR"):
    os.environ["LOSSLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="losslab-test-data-")
    atexit.register(shutil.rmtree, os.environ["LOSSLAB_DATA_DIR"], ignore_errors=True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread, as LossLab trains: small networks train fastest that way (3x on two cores),
    and test processes may run side by side. Modules ask for it with ``pytestmark``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def any_code_runs(monkeypatch):
    """For tests of what custom-loss code does, not of whether it may run: every code is trusted.
    The refusal itself is tested at every door in tests/test_trust_doors.py."""
    from losslab.core import code_trust

    monkeypatch.setattr(code_trust, "is_trusted", lambda code: True)
