"""Answer checkers for the coding exercises, one submodule per chapter.

A checker takes the student's answer and returns a :class:`Feedback` that says what is
wrong, not only that it is wrong; ``display`` of it in a notebook prints the verdict.
Chapters import their checkers as ``from widenets.exercises import chNN``.
"""
from __future__ import annotations

from typing import NamedTuple


class Feedback(NamedTuple):
    """The verdict of a checker: ``ok`` and a message a student can act on."""

    ok: bool
    message: str

    def __str__(self) -> str:
        return ("Correct: " if self.ok else "Not yet: ") + self.message

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.ok else "❌"
        return f"{mark} {str(self)}"

    def __bool__(self) -> bool:
        return self.ok


def correct(message: str = "well done.") -> Feedback:
    """A passing verdict."""
    return Feedback(True, message)


def wrong(message: str) -> Feedback:
    """A failing verdict with the reason."""
    return Feedback(False, message)
