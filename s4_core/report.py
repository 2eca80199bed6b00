"""Evaluation as a picture: the confusion-matrix figure and a self-contained HTML report.

``write_evaluation_report`` takes the dict of ``api.evaluate`` (OA, mIoU, per-class IoU and
support, confusion matrix) and writes the figure (PNG/SVG/PDF by suffix) and/or an HTML page:
the scores, a per-class table, the confusion matrix as a table and the figure embedded as a
PNG data URI (one file that any browser and QGIS's results viewer open). Both are written to
temporary files and renamed.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, cast

from .types import PathLike
from .validate import HTML, check_outputs, make_parent, temp_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["check_report_outputs", "evaluation_html", "write_evaluation_report"]


def _pct(v: Optional[float]) -> str:
    return "–" if v is None else f"{100 * float(v):.1f} %"


def _png_data_uri(fig: Figure) -> str:
    """``fig`` as a PNG ``data:`` URI for an HTML ``img``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def evaluation_html(scores: Dict[str, Any], image_uri: Optional[str] = None) -> str:
    """The HTML report of an evaluation result (``image_uri``: the figure, e.g. a data URI)."""
    esc = html.escape
    names = [str(n) for n in scores.get("class_names", [])]
    cm = scores.get("confusion_matrix") or []
    rows = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>S4 evaluation</title>",
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;"
        "margin:0.5em 0}td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}"
        "th{background:#eee}td.n{text-align:left}</style></head><body>",
        "<h2>S4 evaluation</h2>",
        f"<p>Prediction: <code>{esc(str(scores.get('prediction', '')))}</code><br>"
        f"Reference: <code>{esc(str(scores.get('truth', '')))}</code> "
        f"({esc(str(scores.get('truth_type', '')))})<br>"
        f"Pixels scored: {scores.get('n_pixels', '')}</p>",
        f"<p><b>Overall accuracy: {_pct(scores.get('oa'))}</b> &nbsp; "
        f"<b>mIoU: {_pct(scores.get('miou'))}</b> (over {scores.get('n_present', '')} "
        "classes present in the reference or the prediction)</p>",
        "<h3>Per class</h3><table><tr><th>class</th><th>IoU</th><th>reference px</th></tr>",
    ]
    for name, iou, support in zip(names, scores.get("iou", []), scores.get("support", [])):
        rows.append(
            f"<tr><td class='n'>{esc(name)}</td><td>{_pct(iou)}</td><td>{support}</td></tr>"
        )
    rows.append("</table>")
    if image_uri:
        rows.append(f"<h3>Confusion matrix</h3><img src='{image_uri}' alt='confusion matrix'>")
    rows.append(
        "<h3>Counts (rows reference, columns prediction)</h3><table><tr><th></th>"
        + "".join(f"<th>{esc(n)}</th>" for n in names)
        + "</tr>"
    )
    for name, row in zip(names, cm):
        rows.append(
            f"<tr><th>{esc(name)}</th>" + "".join(f"<td>{int(v)}</td>" for v in row) + "</tr>"
        )
    rows.append("</table>")
    unmatched = scores.get("unmatched") or {}
    if unmatched:
        from .evaluate import unmatched_text

        rows.append(
            "<p>Reference classes the model does not know (not scored): "
            + esc(unmatched_text(unmatched))
            + "</p>"
        )
    if scores.get("unpredicted_pixels"):
        rows.append(
            f"<p>Reference pixels left as nodata by the prediction: "
            f"{scores['unpredicted_pixels']}</p>"
        )
    rows.append("</body></html>")
    return "\n".join(rows)


def _atomic_text(path: Path, text: str) -> None:
    make_parent(path)
    tmp = temp_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_report_outputs(
    prediction: Optional[PathLike],
    reference: Optional[PathLike],
    outputs: Dict[str, Optional[PathLike]],
    *,
    figure: Optional[str] = None,
    html: Optional[str] = None,
) -> None:
    """Refuse, before scoring, report outputs that are bad or would overwrite the inputs.

    ``outputs``: what each output is called where the user gave it ("--html report") -> path
    (None: not wanted); ``figure`` / ``html``: which of them is the figure / the HTML report
    (their file endings are checked). Raises ``DataError`` / ``OutputError``.
    """
    from .figures import check_figure_path

    if figure and outputs.get(figure) is not None:
        check_figure_path(cast(PathLike, outputs[figure]), figure)
    check_outputs(
        outputs,
        {"class raster": prediction, "reference": reference},
        formats={html: HTML} if html else None,
    )


def write_evaluation_report(
    scores: Dict[str, Any],
    *,
    figure_out: Optional[PathLike] = None,
    html_out: Optional[PathLike] = None,
) -> Dict[str, Optional[str]]:
    """Write the confusion-matrix figure and/or the HTML report; returns their paths.

    Neither may overwrite the evaluation's inputs (``check_report_outputs``).
    """
    from .figures import confusion_figure, save_figure

    check_report_outputs(
        scores.get("prediction"),
        scores.get("truth"),
        {"confusion-matrix figure": figure_out, "HTML report": html_out},
        figure="confusion-matrix figure",
        html="HTML report",
    )
    fig = confusion_figure(
        [str(n) for n in scores.get("class_names", [])],
        scores.get("confusion_matrix") or [],
        title=f"OA {_pct(scores.get('oa'))}, mIoU {_pct(scores.get('miou'))}",
    )
    out: Dict[str, Optional[str]] = {"figure": None, "html": None}
    if figure_out is not None:
        out["figure"] = str(save_figure(fig, figure_out))
    if html_out is not None:
        path = Path(os.fspath(html_out))
        _atomic_text(path, evaluation_html(scores, _png_data_uri(fig)))
        out["html"] = str(path)
    return out
