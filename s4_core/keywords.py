"""Keyword groups: one object inside the engine, plain keywords for the public callers.

A keyword group is a frozen dataclass deriving from ``KeywordGroup`` with the name of the
parameter that receives it (``class SceneInput(KeywordGroup, parameter="scene")``); callers of
a public entry point pass its fields as keywords, the function receives one object:
``control.Control`` (``progress=``, ``cancel=``, ``log=``), ``api.SceneInput`` (``s1=``,
``s2=``, ``bounds=``, ``bounds_crs=``), ``api.MapOutputs`` (``vector_out=``,
``probabilities_out=``, ``confidence_out=``) and ``api.LabelledPolygons`` (``labels=``,
``labels_layer=``). ``takes_groups`` (applied by ``settings.Operation.api``)
shows the fields in the function's signature in place of each such keyword-only parameter and
builds the objects; ``keywords()`` gives them back to forward a call. A new input of a group is
one field: every function that takes the group gets the keyword.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import MISSING, fields
from typing import Any, Callable, Dict, Type, TypeVar

__all__ = ["KeywordGroup", "takes", "takes_groups"]

R = TypeVar("R")


class KeywordGroup:
    """Base of the keyword-group dataclasses; ``parameter``: the name that receives one."""

    #: every group by the name of the parameter that receives it
    by_parameter: Dict[str, Type[KeywordGroup]] = {}

    def __init_subclass__(cls, parameter: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if parameter:
            KeywordGroup.by_parameter[parameter] = cls

    def keywords(self) -> Dict[str, Any]:
        """The fields as the keyword arguments of an entry point that takes the group."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def takes(name: str, group: Type[KeywordGroup]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Let callers of ``function(..., *, name: group)`` pass ``group``'s fields as keywords.

    The fields (keyword-only, with their defaults and annotations) replace ``name`` in the
    signature that ``inspect.signature`` shows; the wrapper builds the ``group`` from them.
    """
    members = fields(group)  # type: ignore[arg-type]

    def decorate(function: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(function)
        if signature.parameters[name].kind != inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{function.__name__}: {name} must be a keyword-only parameter")
        keywords = [
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if f.default is MISSING else f.default,
                annotation=f.type,
            )
            for f in members
        ]
        parameters: list = []
        for p in signature.parameters.values():
            parameters.extend(keywords if p.name == name else [p])

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            given = {f.name: kwargs.pop(f.name) for f in members if f.name in kwargs}
            return function(*args, **{name: group(**given)}, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def takes_groups(function: Callable[..., R]) -> Callable[..., R]:
    """``takes`` for every parameter of ``function`` named after a group (``by_parameter``)."""
    for name in inspect.signature(function).parameters:
        if name in KeywordGroup.by_parameter:
            function = takes(name, KeywordGroup.by_parameter[name])(function)
    return function
