"""Figures: class profiles, training curves, confusion matrices (matplotlib, no pyplot).

Every function draws into a ``matplotlib.figure.Figure`` (a new one, or ``fig`` when given:
the QGIS dock passes the figure of its Qt canvas), so the command line, the Processing
algorithms and the dock show the same pictures. No pyplot: no global state, safe in worker
threads. ``save_figure`` writes PNG, SVG or PDF (by suffix) to a temporary file and renames.
matplotlib is imported when a figure is made; ``MissingPlotting`` (a ``DataError``) says how to
install it (Debian/Ubuntu: python3-matplotlib; QGIS on Windows/macOS ships it).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type

import numpy as np

from .errors import DataError
from .types import PathLike
from .validate import temp_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .profiles import ClassProfiles

FORMATS = (".png", ".svg", ".pdf")
#: history/metric keys drawn as scores (0..1, right-hand panel); the others with "loss" in their
#: name or the pretraining terms are losses
SCORE_KEYS = ("accuracy", "val_oa", "val_miou", "oa", "miou")
LOSS_KEYS = ("loss", "contrastive", "reconstruction", "val_loss")

__all__ = [
    "FORMATS",
    "MissingPlotting",
    "confusion_figure",
    "curves_figure",
    "new_figure",
    "profiles_figure",
    "save_figure",
]


class MissingPlotting(DataError):
    """matplotlib is not installed."""


def _matplotlib() -> Type[Figure]:
    """Matplotlib's ``Figure`` class; MissingPlotting naming the install when absent."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingPlotting(
            "figures need matplotlib, which is not installed: install python3-matplotlib "
            "(Debian/Ubuntu: apt-get install python3-matplotlib) or 'pip install matplotlib' "
            f"into the Python that runs S4 ({exc})"
        ) from None
    return Figure


def new_figure(width: float = 8.0, height: float = 5.0, dpi: int = 100) -> Figure:
    """An empty ``Figure`` (not registered with pyplot)."""
    figure_class = _matplotlib()
    return figure_class(figsize=(width, height), dpi=dpi, layout="constrained")


def _clear(fig: Optional[Figure], width: float, height: float) -> Figure:
    """``fig`` cleared for a new drawing, or a new figure when None."""
    if fig is None:
        return new_figure(width, height)
    fig.clear()
    return fig


def check_figure_path(path: PathLike, setting: str = "figure") -> Path:
    """``path`` as a Path; DataError when its suffix is not a figure format."""
    p = Path(os.fspath(path))
    if p.suffix.lower() not in FORMATS:
        raise DataError(
            f"{setting} {p}: give a file ending in {', '.join(FORMATS)} (the format follows "
            "the suffix)"
        )
    return p


def save_figure(fig: Figure, path: PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (PNG, SVG or PDF by suffix) via a temporary file."""
    from .validate import make_parent

    p = check_figure_path(path)
    make_parent(p)
    tmp = temp_path(p, p.suffix)
    try:
        fig.savefig(tmp, dpi=dpi, format=p.suffix[1:].lower())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def class_colour(colors: Optional[Sequence[Sequence[int]]], i: int) -> Tuple[float, float, float]:
    """Class ``i``'s colour (0..1 RGB) from ``colors`` (0..255), else a tab10 colour."""
    if colors and i < len(colors) and colors[i]:
        r, g, b = colors[i][:3]
        return (r / 255.0, g / 255.0, b / 255.0)
    tab10 = [
        (0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16),
        (0.58, 0.4, 0.74), (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.5, 0.5, 0.5),
        (0.74, 0.74, 0.13), (0.09, 0.75, 0.81),
    ]  # fmt: skip
    return tab10[i % len(tab10)]


# ----------------------------------------------------------------------------- profiles
def profiles_figure(
    profiles: ClassProfiles,
    *,
    selected: Sequence[int] = (),
    colors: Optional[Sequence[Sequence[int]]] = None,
    show_outliers: bool = True,
    title: Optional[str] = None,
    fig: Optional[Figure] = None,
) -> Figure:
    """Per variable (NDVI or NDRE, VV, VH) one panel of class profiles over time.

    Each class's mean with a band of +- one standard deviation; the polygons in ``selected``
    (0-based positions) as thin lines of their class's colour, outlier polygons dashed when
    ``show_outliers``.
    """
    names = list(profiles.variables)
    fig = _clear(fig, 8.0, 2.6 * max(1, len(names)) + 0.6)
    if not names:
        return fig
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    outliers = {p.index for p in profiles.outliers} if show_outliers else set()
    chosen = list(dict.fromkeys(int(i) for i in selected))
    for ax, name in zip(axes, names):
        v = profiles.variables[name]
        dates = np.array(v.dates, dtype="datetime64[D]")
        for c, cname in enumerate(profiles.classes):
            if c >= v.class_mean.shape[0]:
                continue
            colour = class_colour(colors, c)
            m, s = v.class_mean[c], v.class_std[c]
            ok = np.isfinite(m)
            if not ok.any():
                continue
            ax.plot(dates[ok], m[ok], "-o", ms=2.5, lw=1.6, color=colour, label=cname)
            ax.fill_between(dates[ok], (m - s)[ok], (m + s)[ok], color=colour, alpha=0.15, lw=0)
        for p in chosen + sorted(outliers - set(chosen)):
            if p >= v.polygon_mean.shape[0]:
                continue
            c = int(profiles.polygon_class[p]) if p < len(profiles.polygon_class) else -1
            y = v.polygon_mean[p]
            ok = np.isfinite(y)
            if c < 0 or not ok.any():
                continue
            style = "--" if p in outliers else "-"
            ax.plot(dates[ok], y[ok], style, lw=0.9, color=class_colour(colors, c), alpha=0.9)
        unit = {"VV": "VV (dB)", "VH": "VH (dB)"}.get(name, name)
        ax.set_ylabel(unit)
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    axes[0].legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.02), fontsize="small", frameon=False,
        ncol=min(5, max(1, len(profiles.classes))),
    )  # fmt: skip
    axes[-1].tick_params(axis="x", labelrotation=30)
    return fig


# ----------------------------------------------------------------------------- curves
def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _series(
    points: Iterable[Tuple[float, Dict[str, Any]]],
) -> Dict[str, Tuple[List[float], List[float]]]:
    """``{key: (xs, values)}`` of every numeric key of the records of ``points``.

    ``points``: (x, record) pairs; ``epoch`` and ``pixels`` are left out.
    """
    out: Dict[str, Tuple[List[float], List[float]]] = {}
    for x, record in points:
        for key, value in record.items():
            if key in ("epoch", "pixels") or not _is_number(value):
                continue
            xs, ys = out.setdefault(key, ([], []))
            xs.append(x)
            ys.append(float(value))
    return out


def curve_series(history: Sequence[Dict[str, Any]]) -> Dict[str, Tuple[List[float], List[float]]]:
    """{key: (epochs, values)} of every numeric key of the history records but ``epoch``."""
    return _series(
        (float(record["epoch"]) if _is_number(record.get("epoch")) else i + 1.0, record)
        for i, record in enumerate(history or [])
    )


def curves_figure(
    history: Sequence[Dict[str, Any]] = (),
    *,
    steps: Sequence[Tuple[float, Dict[str, Any]]] = (),
    title: Optional[str] = None,
    fig: Optional[Figure] = None,
) -> Figure:
    """Training curves: losses (left) and scores in 0..1 (right) per epoch.

    Scores: retrieval accuracy, validation OA / mIoU. ``history``: a checkpoint's per-epoch records.
    ``steps``: live per-step metrics as (progress fraction 0..1, metrics); when given the x axis is
    the progress in % and the epoch records are drawn at the fraction they were reported (or, when
    no step carried an ``epoch``, ``history`` spread evenly up to 100 %).
    """
    fig = _clear(fig, 8.0, 3.4)
    ax_loss, ax_score = fig.subplots(1, 2)
    live = bool(steps)
    if live:
        step_x = [100.0 * f for f, m in steps if _is_number(m.get("loss"))]
        step_y = [float(m["loss"]) for f, m in steps if _is_number(m.get("loss"))]
        if step_x:
            ax_loss.plot(step_x, step_y, "-", lw=0.8, color="0.6", label="loss (step)")
        epoch_points = [(100.0 * f, m) for f, m in steps if "epoch" in m]
        if not epoch_points and history:  # e.g. the pixel head: one record, at the end
            n = len(history)
            epoch_points = [(100.0 * (i + 1) / n, m) for i, m in enumerate(history)]
        series = _series(epoch_points)
    else:
        series = curve_series(history)
    for key, (xs, ys) in series.items():
        target = ax_score if key in SCORE_KEYS else ax_loss
        label = f"{key} (epoch)" if live and key == "loss" else key
        target.plot(xs, ys, "-o", ms=3, lw=1.4, label=label)
    if not live:  # whole epochs on the axis (one record: the pixel head's single fit)
        from matplotlib.ticker import MaxNLocator

        for ax in (ax_loss, ax_score):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(history or []) == 1:
            for ax in (ax_loss, ax_score):
                ax.set_xlim(0.5, 1.5)
                ax.set_xticks([1])
    xlabel = "progress (%)" if live else "epoch"
    ax_loss.set_xlabel(xlabel)
    ax_score.set_xlabel(xlabel)
    ax_loss.set_ylabel("loss")
    ax_score.set_ylabel("score")
    ax_score.set_ylim(0.0, 1.0)
    if live:
        ax_loss.set_xlim(0.0, 100.0)
        ax_score.set_xlim(0.0, 100.0)
    for ax in (ax_loss, ax_score):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="best")
    if not any(key in SCORE_KEYS for key in series):
        ax_score.text(
            0.5, 0.5, "no validation scores\n(held-out polygons)", ha="center", va="center",
            transform=ax_score.transAxes, color="0.5",
        )  # fmt: skip
    if title:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------- confusion
def confusion_figure(
    class_names: Sequence[str],
    matrix: Sequence[Sequence[int]],
    *,
    title: Optional[str] = None,
    fig: Optional[Figure] = None,
) -> Figure:
    """The confusion matrix (rows reference, columns prediction) coloured by row share.

    The colour is the recall; the pixel counts are written in the cells.
    """
    cm = np.asarray(matrix, dtype=np.float64)
    k = len(class_names)
    side = max(4.0, 0.7 * k + 2.5)
    fig = _clear(fig, side + 1.0, side)
    ax = fig.subplots()
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the reference class")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(class_names, rotation=45, ha="right")
    ax.set_yticklabels(class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    for i in range(k):
        for j in range(k):
            if i < cm.shape[0] and j < cm.shape[1]:
                ax.text(
                    j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize="small",
                    color="white" if share[i, j] > 0.5 else "black",
                )  # fmt: skip
    if title:
        ax.set_title(title)
    return fig
