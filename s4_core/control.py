"""The caller's hold on a long run: progress, cancel and log, passed through as one ``Control``.

Every long engine call (alignment, band statistics, training, segmentation, vector export,
profiles, download) takes ``control: Control`` instead of three callables. Public entry points
(``api`` functions, ``stac.fetch_time_series``) keep the keywords ``progress=``, ``cancel=`` and
``log=`` for their callers: ``Control`` is a keyword group (``keywords.py``) that
``settings.Operation.api`` turns into those keywords.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .errors import Cancelled
from .keywords import KeywordGroup
from .types import Cancel, Log, Metrics, Progress

__all__ = ["NO_CONTROL", "Control"]


@dataclass(frozen=True)
class Control(KeywordGroup, parameter="control"):
    """``progress(fraction, message, metrics)``, ``cancel()`` and ``log(text)``; each optional."""

    progress: Optional[Progress] = None
    cancel: Optional[Cancel] = None
    log: Optional[Log] = None

    def report(self, fraction: float, message: str, metrics: Optional[Metrics] = None) -> None:
        """Report ``fraction`` (clipped to 0..1) and ``message`` (and ``metrics``) if followed."""
        if self.progress is not None:
            self.progress(min(1.0, max(0.0, fraction)), message, metrics)

    def cancelled(self) -> bool:
        """Whether the caller asked to stop."""
        return self.cancel is not None and bool(self.cancel())

    def check(self, message: str = "cancelled by the user") -> None:
        """Raise ``Cancelled(message)`` when the caller asked to stop."""
        if self.cancelled():
            raise Cancelled(message)

    def say(self, text: str) -> None:
        """One line for the user (``log``), if followed."""
        if self.log is not None:
            self.log(text)

    def part(self, base: float, span: float) -> Control:
        """The same control with this run's 0..1 progress mapped onto ``base`` .. ``base + span``."""
        if self.progress is None:
            return self
        outer = self.progress

        def progress(fraction: float, message: str, metrics: Optional[Metrics] = None) -> None:
            outer(base + span * fraction, message, metrics)

        return Control(progress, self.cancel, self.log)

    def quiet(self) -> Control:
        """The same cancel, without progress or log (a step whose progress nobody follows)."""
        return Control(cancel=self.cancel)


NO_CONTROL = Control()
"""Nobody follows the run: no progress, never cancelled, no log."""
