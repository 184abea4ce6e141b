"""The run's circuit breaker: stop when the same error kind ends episode after episode.

An episode that ends in a harness or LLM error (a record with `error`) is not a result; when the
same kind of error (`auth`, `timeout`, `connection`, ... or the exception's type) ends `limit`
episodes in a row, every further episode would most likely end the same way, so the run stops
instead of burning hours on it. An episode that ends without an error (a success or a policy's
failure) resets the count.
"""

from __future__ import annotations

from typing import Any


def error_kind(error: dict[str, Any] | None) -> str | None:
    """The kind of a record's error: the LLM error kind when there is one, else the exception's type."""
    if not error:
        return None
    return str(error.get("kind") or error.get("type") or "unknown")


class CircuitBreaker:
    """Counts consecutive episodes that ended in the same kind of error; trips at `limit` (0: never)."""

    def __init__(self, limit: int):
        self.limit = max(0, int(limit))
        self.kind: str | None = None
        self.streak = 0
        self.last_message = ""
        self.reason: str | None = None  # set when it trips

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def record(self, error: dict[str, Any] | None) -> bool:
        """Count one finished episode; True when this one trips the breaker."""
        kind = error_kind(error)
        if kind is None:
            self.kind, self.streak = None, 0
            return False
        self.streak = self.streak + 1 if kind == self.kind else 1
        self.kind = kind
        self.last_message = str((error or {}).get("message") or "")
        if self.limit and self.streak >= self.limit and not self.tripped:
            first_line = self.last_message.strip().splitlines()[0] if self.last_message.strip() else ""
            self.reason = (
                f"stopped after {self.streak} episodes in a row ended in the same error ({kind})"
                + (f": {first_line[:300]}" if first_line else "")
            )
            return True
        return False
