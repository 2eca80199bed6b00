"""Typed results of the public api: JSON-friendly dicts whose keys are declared attributes.

Each api operation returns one of these classes. A class declares every key it carries as an
annotated attribute (``path: str``), so a caller writes ``result.path`` (checked by mypy) or
``result["path"]`` (as before: a result is a ``dict``, which is also what QGIS Processing,
``json`` and the tests take); building one checks that the keys given are exactly the declared
ones (``OPTIONAL`` keys may be absent). ``to_json()`` is what ``s4 ... --json`` prints. A new
result is a subclass here; a new key is one annotation.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, Dict, FrozenSet, List, Optional

__all__ = [
    "AlignResult",
    "EvaluationResult",
    "FinetuneResult",
    "MapResult",
    "ModelCard",
    "PolygonsResult",
    "PretrainResult",
    "Result",
    "SuggestionsResult",
]


class Result(Dict[str, Any]):
    """Base of the api results: a dict with declared, typed keys (see the module docstring)."""

    #: declared keys that may be absent
    OPTIONAL: ClassVar[FrozenSet[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 (dict's signature)
        super().__init__(*args, **kwargs)
        declared = self.keys_declared()
        unknown = sorted(set(self) - declared)
        missing = sorted(declared - set(self) - self.OPTIONAL)
        if unknown or missing:
            raise TypeError(
                f"{type(self).__name__}: unknown keys {unknown}, missing keys {missing}"
            )

    @classmethod
    def keys_declared(cls) -> FrozenSet[str]:
        """Every key the class declares (its annotations and its bases', up to ``Result``)."""
        names: set = set()
        for klass in cls.__mro__:
            if klass is Result:
                break
            names.update(k for k in vars(klass).get("__annotations__", {}) if k != "OPTIONAL")
        return frozenset(names)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 (the declared key's value)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no {name!r}") from None

    def to_json(self, indent: Optional[int] = None) -> str:
        """The result as JSON (paths and other objects as text, NaN and infinities as null)."""
        return json_text(self, indent)


def _finite(value: Any) -> Any:  # noqa: ANN401 (any JSON-like value)
    """``value`` with every float that is NaN or infinite (no JSON number) as None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value: Any, indent: Optional[int] = None) -> str:  # noqa: ANN401
    """Valid JSON of ``value``: NaN and infinities as null (never bare ``NaN``), objects as text."""
    return json.dumps(_finite(value), default=str, indent=indent, allow_nan=False)


class AlignResult(Result):
    """``api.align``: the aligned stacks written (per sensor given), the dates table, a summary."""

    OPTIONAL = frozenset({"s1", "s2"})

    s1: str
    s2: str
    dates_csv: str
    summary: Dict[str, Any]


class PretrainResult(Result):
    """``api.pretrain``: the checkpoint written, its epoch records and final metrics."""

    path: str
    history: List[Dict[str, Any]]
    metrics: Dict[str, Any]
    device: str
    seconds: float


class FinetuneResult(PretrainResult):
    """``api.finetune``: as pretraining, whether ``path`` was written by this run, the classes."""

    written: bool
    classes: List[str]


class MapResult(Result):
    """``api.segment``: the class raster and the other outputs written (None: not asked for)."""

    path: str
    vector: Optional[str]
    n_polygons: Optional[int]
    probabilities: Optional[str]
    confidence: Optional[str]
    backend: str
    precision: str
    tile: List[int]  # the windows' [height, width] in px
    overlap: int
    classes: List[Dict[str, Any]]
    pixel_counts: Any
    device: str
    seconds: float


class PolygonsResult(Result):
    """``api.export_vector``: the GeoPackage written, its polygon count, the classes."""

    path: str
    n_polygons: int
    classes: List[Dict[str, Any]]


class SuggestionsResult(Result):
    """``api.suggest_labels``: the squares to label next, most uncertain first."""

    path: str
    n: int
    method: str
    seed: int
    squares: List[Dict[str, Any]]


class EvaluationResult(Result):
    """``api.evaluate``: the scores of a class raster (``metrics.scores``) and what was compared."""

    oa: Optional[float]
    miou: Optional[float]
    iou: List[Optional[float]]
    per_class: Dict[str, Optional[float]]
    support: List[int]
    predicted: List[int]
    n_pixels: int
    n_present: int
    confusion_matrix: List[List[int]]
    class_names: List[str]
    prediction: str
    truth: str
    truth_type: str
    unmatched: Any
    unpredicted_pixels: int


class ModelCard(Result):
    """``api.export_onnx``: the ONNX model's card (also written as JSON beside it)."""

    format: str
    model: str
    source_checkpoint: str
    engine_version: str
    opset: int
    head: str
    output: str
    modality: str
    bands: Any
    normalisation: Any
    time: Dict[str, Any]
    input: Optional[Dict[str, Any]]
    classes: Any
    metrics: Optional[Dict[str, Any]]
    inputs: Dict[str, str]
    smoothing: Optional[Dict[str, Any]]
    path: str
    card: str
