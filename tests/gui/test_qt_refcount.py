"""Guards against the PySide6 6.12.0 / Python 3.11 bug that drops a reference to None on every
wrapped call returning void: a window then aborts with "Fatal Python error: none_dealloc"."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal()


def test_void_calls_do_not_leak_references_to_none(qapp):
    obj = _Emitter()
    before = sys.getrefcount(None)
    for _ in range(1000):
        obj.setObjectName("x")
    assert abs(sys.getrefcount(None) - before) < 50


def test_signal_emit_does_not_drop_references_to_true(qapp):
    obj = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(1000):
        obj.ping.emit()
    assert abs(sys.getrefcount(True) - before) < 50
