"""The caller's hold on a long run: progress, cancel and log, passed through as one ``Control``.

Every long engine call (alignment, band statistics, training, segmentation, vector export,
profiles, download) takes ``control: Control`` instead of three callables. Public entry points
(``api`` functions, ``stac.fetch_time_series``) keep the keywords ``progress=``, ``cancel=`` and
``log=`` for their callers: ``takes_control`` (applied by ``settings.Operation.api``) turns them
into the ``control`` the function receives.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, TypeVar

from .errors import Cancelled
from .types import Cancel, Log, Metrics, Progress

__all__ = ["NO_CONTROL", "Control", "takes_control"]

R = TypeVar("R")


@dataclass(frozen=True)
class Control:
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

    def keywords(self) -> Dict[str, Any]:
        """``progress``, ``cancel`` and ``log`` as keyword arguments of a public entry point."""
        return {"progress": self.progress, "cancel": self.cancel, "log": self.log}


NO_CONTROL = Control()
"""Nobody follows the run: no progress, never cancelled, no log."""


def takes_control(function: Callable[..., R]) -> Callable[..., R]:
    """Let callers of ``function(..., control)`` pass ``progress=``, ``cancel=``, ``log=`` instead.

    The keywords (each None by default) replace ``control`` in the signature that
    ``inspect.signature`` shows; the wrapper builds the ``Control``.
    """
    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.name != "control"]
    keywords = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in (
            ("progress", "Optional[Progress]"),
            ("cancel", "Optional[Cancel]"),
            ("log", "Optional[Log]"),
        )
    ]
    var = [p for p in kept if p.kind == p.VAR_KEYWORD]
    public = signature.replace(parameters=[p for p in kept if p not in var] + keywords + var)

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        progress: Optional[Progress] = None,
        cancel: Optional[Cancel] = None,
        log: Optional[Log] = None,
        **kwargs: Any,
    ) -> R:
        return function(*args, control=Control(progress, cancel, log), **kwargs)

    wrapper.__signature__ = public  # type: ignore[attr-defined]
    return wrapper
