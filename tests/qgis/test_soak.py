"""A short variant of benchmarks/soak.py: consecutive Processing runs in this QGIS process,
cancelled at random points, leave valid outputs or none, and no temporary file."""

from __future__ import annotations

from pathlib import Path

import pytest
from modules import load_module

pytestmark = [pytest.mark.qgis, pytest.mark.torch]  # trained models (no torch on the 3.40 CI)

ROOT = Path(__file__).resolve().parents[2]


def test_consecutive_runs_with_random_cancels_leave_nothing_behind(s4_processing, tmp_path):
    soak = load_module(ROOT / "benchmarks" / "soak.py", "s4_soak")
    lines = []
    records = soak.soak(5, seed=19, work=tmp_path, print_fn=lines.append, epochs=1)
    text = "\n".join(lines)
    assert [r["result"] for r in records if r["result"] not in ("done", "cancelled")] == [], text
    assert {r["result"] for r in records} == {"done", "cancelled"}, text  # both kinds happened
    assert all(r["valid"] for r in records), text
    assert all(r["temp"] == 0 for r in records), text
    assert records[-1]["fds"] - records[0]["fds"] <= 3, text
