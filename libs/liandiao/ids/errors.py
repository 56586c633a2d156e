"""Errors raised by the identifier validators."""

from __future__ import annotations


class InvalidIdentifier(ValueError):
    """An identifier (ID number, credit code, phone, region code) was refused.

    ``reason`` is a sentence a clerk can act on ("check character should be X, not 5"). It quotes
    at most the faulty part (one character, a date, a region code), never a whole ID or phone
    number, so the error can be shown back to the person who typed it and logged after review.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def shown(value: str, limit: int = 20) -> str:
    """A faulty value as a reason quotes it: cut short, so a reason never grows with the input."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"
