"""Exponential backoff with jitter: the one rule for waiting before trying again.

Pure; any thread. Used for reconnecting the streaming socket (``app.core.settings.ReconnectPolicy``)
and for retrying a translation (``app.translate.queue``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Try ``n`` waits ``first_delay_s * factor**(n-1)``, capped at ``max_delay_s``, times a random
    factor between ``jitter[0]`` and ``jitter[1]`` so that many clients do not retry in lockstep."""

    first_delay_s: float = 0.25
    factor: float = 2.0
    max_delay_s: float = 15.0
    jitter: tuple[float, float] = (0.8, 1.2)

    def __post_init__(self) -> None:
        low, high = self.jitter
        if self.first_delay_s < 0 or self.factor < 1 or self.max_delay_s < 0 or not 0 <= low <= high:
            raise ValueError(f"invalid backoff {self}")

    def delay(self, attempt: int, rnd: float) -> float:
        """Seconds to wait before try number ``attempt`` (1-based); ``rnd`` in [0, 1)."""
        base = min(self.max_delay_s, self.first_delay_s * self.factor ** max(0, attempt - 1))
        low, high = self.jitter
        return max(0.0, base * (low + (high - low) * rnd))


# Streaming reconnects: a fast first retry, doubling, capped, +/- 20 %.
RECONNECT_BACKOFF = Backoff(first_delay_s=0.25, factor=2.0, max_delay_s=15.0, jitter=(0.8, 1.2))
# Translation retries: 0.5 s, 1 s, 2 s ... capped at 20 s, 50-100 % of that.
TRANSLATION_BACKOFF = Backoff(first_delay_s=0.5, factor=2.0, max_delay_s=20.0, jitter=(0.5, 1.0))
