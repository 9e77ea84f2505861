"""Is the process that started a run still alive? (A run left "running" by a dead one was interrupted.)

A pid alone can be reused by an unrelated process after a reboot or a long time, so on Linux the
process's start time (``/proc/PID/stat``) is stored with it and must match too. Elsewhere the pid
alone decides. A zombie (killed, not yet reaped by its parent) counts as dead.
"""

from __future__ import annotations

import os
import platform
import sys

_HOST: str | None = None


def host_name() -> str:
    global _HOST
    if _HOST is None:
        _HOST = platform.node()  # the host name, without importing a network module (test_offline)
    return _HOST


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses


def process_token(pid: int) -> str | None:
    """Something that tells this process from a later one given the same pid (Linux: its start time)."""
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def pid_alive(pid: int, token: str | None = None) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    fields = _proc_stat(pid)
    if fields is None:
        return not os.path.isdir("/proc/self")  # /proc exists but not this pid: it is gone
    if fields and fields[0] in ("Z", "X"):
        return False
    return token is None or len(fields) <= 19 or fields[19] == token


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only

    def _windows_alive(pid: int) -> bool:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return int(code.value) == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)

else:

    def _windows_alive(pid: int) -> bool:
        return False
