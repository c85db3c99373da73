"""How often and how late a failed handler is tried again before its message is dead-lettered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt *n* (1-based) that failed waits ``base * factor**(n-1)``.

    After ``max_attempts`` failed attempts the message is dead-lettered. Delays are whole
    milliseconds so that an AMQP bus can keep one delay queue per distinct delay.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 60.0

    def delay_ms(self, failed_attempt: int) -> int:
        """Milliseconds to wait after ``failed_attempt`` failed."""
        delay = min(self.base_delay * self.factor ** (failed_attempt - 1), self.max_delay)
        return max(1, round(delay * 1000))

    def gives_up_after(self, failed_attempt: int) -> bool:
        """True when ``failed_attempt`` was the last one allowed."""
        return failed_attempt >= self.max_attempts
