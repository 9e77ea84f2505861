"""The one exception type a user can cause, and the one a user's Cancel raises."""

from __future__ import annotations


class LossLabError(Exception):
    """A problem the user can fix: bad input, a bad file, a loss that does not fit the task.

    The message says what is wrong and how to fix it. ``field`` names the experiment field
    (dotted path such as ``optimizer.lr``) when the problem belongs to one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class Cancelled(BaseException):  # BaseException, so no `except Exception` swallows it
    """Raised inside a long computation (landscape, range test) when its caller asked it to stop."""
