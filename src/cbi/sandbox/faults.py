"""Fault injection shared by the sandbox stand-ins: counts of requests to afflict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    fail_429: int = 0  # 429 with Retry-After: retry_after_s
    fail_500: int = 0
    drop: int = 0  # connection closed without an answer
    malformed: int = 0  # a body (or record) cut off or corrupt
    retry_after_s: float = 1

    def take(self, name: str) -> bool:
        """True (and one fewer left) when the next request should suffer fault `name`."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False

    def retry_after_header(self) -> str:
        # Retry-After is whole seconds (RFC 9110); 0 lets tests retry at once.
        return str(int(self.retry_after_s)) if float(self.retry_after_s).is_integer() else str(self.retry_after_s)
