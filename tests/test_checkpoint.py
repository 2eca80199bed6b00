"""Checkpoint format: round trip, atomic writes, clear errors, model building, describe()."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from s4_core import __version__
from s4_core import checkpoint as ck
from s4_core.errors import CheckpointError
from s4_core.labels import ClassMap
from s4_core.model import NetConfig, S4Net

BANDS = {"s1": ["VV", "VH"], "s2": ["B02", "B03", "B04"]}


def _stats(bands):
    try:
        from s4_core.normalize import BandStats

        return BandStats(bands, np.arange(len(bands)) * 0.1, np.ones(len(bands))).to_dict()
    except ImportError:  # pragma: no cover - normalize.py is written in parallel
        return {"band_names": list(bands), "mean": [0.0] * len(bands), "std": [1.0] * len(bands)}


def make_payload(kind="finetuned", seed=0):
    torch.manual_seed(seed)
    cfg = NetConfig(
        s1_channels=2,
        s2_channels=3,
        widths=(4, 8),
        proj_dim=4,
        num_classes=3 if kind == "finetuned" else 0,
        dec_out_width=4,
    )
    model = S4Net(cfg).eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(1, 4, 3, 8, 8)
    model.reconstruct(model.encode(x, "s2"), "s1").sum().backward()
    optimizer.step()
    payload = {
        "kind": kind,
        "net_config": cfg.to_dict(),
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "modality": "s2" if kind == "finetuned" else None,
        "bands": BANDS,
        "band_stats": {m: _stats(b) for m, b in BANDS.items()},
        "time": {"length": 4, "mode": "repeat"},
        "classes": ClassMap.from_names(["maize", "wheat", "grass"], [1200, 1100, 9120]).to_dict()
        if kind == "finetuned"
        else None,
        "metrics": {"val_oa": np.float64(0.75), "val_miou": 0.5},
        "history": [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}],
        "optimizer": optimizer.state_dict(),
        "epoch": 2,
        "seed": seed,
        "train_config": {"widths": (4, 8), "out": Path("/tmp/x.pt")},
    }
    return payload, model


def test_round_trip_keeps_everything_and_adds_format_fields(tmp_path):
    payload, model = make_payload()
    path = ck.save_checkpoint(tmp_path / "m.pt", payload)
    assert path == tmp_path / "m.pt"
    loaded = ck.load_checkpoint(path)
    assert loaded["format"] == ck.FORMAT == "s4-checkpoint"
    assert loaded["format_version"] == ck.FORMAT_VERSION
    assert loaded["engine_version"] == __version__
    created = dt.datetime.fromisoformat(loaded["created"])
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 600
    for key, value in model.state_dict().items():
        assert torch.equal(loaded["state_dict"][key], value), key
    assert loaded["bands"] == BANDS
    assert loaded["classes"]["names"] == ["maize", "wheat", "grass"]
    assert loaded["classes"]["values"] == [1200, 1100, 9120]
    assert loaded["time"] == {"length": 4, "mode": "repeat"}
    # numpy scalars, paths and tuples were made plain so that weights_only loading works
    assert type(loaded["metrics"]["val_oa"]) is float
    assert loaded["train_config"]["out"] == "/tmp/x.pt"
    assert loaded["train_config"]["widths"] == (4, 8)
    assert loaded["history"][1] == {"epoch": 2, "loss": 0.5}
    # the optimizer state resumes
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    opt.load_state_dict(loaded["optimizer"])
    state = opt.state_dict()["state"]
    assert state and all(int(s["step"]) == 1 for s in state.values())
    # plain data only: the file loads with weights_only=True outside our loader too
    torch.load(path, weights_only=True)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    payload, _ = make_payload()
    target = tmp_path / "sub" / "m.pt"
    ck.save_checkpoint(target, payload)  # creates the folder
    before = target.read_bytes()

    def broken_save(obj, fh, *a, **k):
        fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(CheckpointError, match="disk full"):
        ck.save_checkpoint(target, payload)
    assert target.read_bytes() == before  # the previous checkpoint survives
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.pt"]


def test_unplain_payload_is_refused_before_writing(tmp_path):
    payload, _ = make_payload()
    payload["metrics"] = {"obj": object()}
    with pytest.raises(TypeError, match=r"payload\['metrics'\]\['obj'\]"):
        ck.save_checkpoint(tmp_path / "m.pt", payload)
    with pytest.raises(ValueError, match="kind"):
        ck.save_checkpoint(tmp_path / "m.pt", {**payload, "kind": "other"})
    assert list(tmp_path.iterdir()) == []


def test_numpy_arrays_become_tensors(tmp_path):
    payload, _ = make_payload()
    payload["extra"] = {"mean": np.arange(3, dtype=np.float32)}
    loaded = ck.load_checkpoint(ck.save_checkpoint(tmp_path / "m.pt", payload))
    assert torch.equal(loaded["extra"]["mean"], torch.arange(3, dtype=torch.float32))


def test_missing_garbage_and_truncated_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        ck.load_checkpoint(tmp_path / "nope.pt")
    text = tmp_path / "notes.pt"
    text.write_text("this is not a model")
    with pytest.raises(CheckpointError, match="notes.pt") as err:
        ck.load_checkpoint(text)
    assert "notes.pt is not an S4 checkpoint: it is not a PyTorch file" in str(err.value)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt is not an S4 checkpoint: it is empty"):
        ck.load_checkpoint(tmp_path / "empty.pt")
    payload, _ = make_payload()
    good = ck.save_checkpoint(tmp_path / "good.pt", payload)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="cut.pt.*truncated"):
        ck.load_checkpoint(cut)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_pickled_objects_are_never_executed(tmp_path):
    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as fh:
        torch.save({"format": ck.FORMAT, "x": _Evil()}, fh)
    with pytest.raises(CheckpointError, match="evil.pt.*plain data") as err:
        ck.load_checkpoint(bad)
    # torch's advice to load with weights_only=False (running the file's code) is not passed on
    assert "weights_only" not in str(err.value) and "code execution" not in str(err.value)


def test_onnx_exports_and_rasters_are_named_not_unpickled(tmp_path):
    """Files a user may pick as a model to train from: an ONNX export (by name or by content)
    and a GeoTIFF are named for what they are; torch's weights_only advice never shows."""
    import shutil

    import rasterio
    from rasterio.transform import from_origin

    from s4_core import api

    payload, _ = make_payload()
    onnx = tmp_path / "m.onnx"
    api.export_onnx(ck.save_checkpoint(tmp_path / "m.pt", payload), onnx)
    renamed = shutil.copy(onnx, tmp_path / "model.bin")
    tif = tmp_path / "S2_20200105.tif"
    profile = dict(driver="GTiff", width=4, height=4, count=1, dtype="uint16", crs="EPSG:32631",
                   transform=from_origin(500000, 5650000, 10, 10))  # fmt: skip
    with rasterio.open(tif, "w", **profile) as ds:
        ds.write(np.ones((1, 4, 4), np.uint16))
    expected = {
        onnx: r"m\.onnx is an ONNX export \(for mapping only\): training needs the \.pt "
        r"checkpoint it was exported from",
        Path(renamed): r"model\.bin is an ONNX export \(for mapping only\)",
        tif: r"S2_20200105\.tif is not an S4 checkpoint: it is a GeoTIFF / TIFF image\. Give a "
        r"\.pt model written by s4 pretrain / s4 finetune",
    }
    for path, message in expected.items():
        with pytest.raises(CheckpointError, match=message) as err:
            ck.load_checkpoint(path)
        assert "weights_only" not in str(err.value) and "Weights only" not in str(err.value)


def test_other_pytorch_files_and_format_versions(tmp_path):
    plain = tmp_path / "weights.pt"
    torch.save({"conv.weight": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="weights.pt is a PyTorch file but not an S4"):
        ck.load_checkpoint(plain)
    payload, _ = make_payload()
    ck.save_checkpoint(tmp_path / "m.pt", payload)
    data = torch.load(tmp_path / "m.pt", weights_only=True)
    for version, word in ((ck.FORMAT_VERSION + 1, "newer"), (0, "older")):
        torch.save({**data, "format_version": version, "engine_version": "9.9"}, tmp_path / "v.pt")
        with pytest.raises(CheckpointError) as err:
            ck.load_checkpoint(tmp_path / "v.pt")
        msg = str(err.value)
        assert "v.pt" in msg and f"version {version}" in msg and word in msg
        assert "9.9" in msg and __version__ in msg


def test_incomplete_checkpoints_are_refused(tmp_path):
    payload, _ = make_payload()
    ck.save_checkpoint(tmp_path / "a.pt", {**payload, "classes": None})
    with pytest.raises(CheckpointError, match="a.pt is an incomplete finetuned.*'classes'"):
        ck.load_checkpoint(tmp_path / "a.pt")
    ck.save_checkpoint(tmp_path / "b.pt", {**payload, "time": {"length": 4, "mode": "loop"}})
    with pytest.raises(CheckpointError, match="time policy"):
        ck.load_checkpoint(tmp_path / "b.pt")
    ck.save_checkpoint(tmp_path / "c.pt", {**payload, "modality": "s1", "bands": {"s2": ["B02"]}})
    with pytest.raises(CheckpointError, match="fine-tuned for S1 but has no 'bands'"):
        ck.load_checkpoint(tmp_path / "c.pt")
    # a setting of a newer engine: named with the file when it is read, not later when built
    newer = {**payload, "net_config": {**payload["net_config"], "attention_heads": 4}}
    ck.save_checkpoint(tmp_path / "d.pt", newer)
    with pytest.raises(CheckpointError, match=r"d\.pt: unknown network setting.*attention_heads"):
        ck.load_checkpoint(tmp_path / "d.pt")


def test_build_model_reproduces_the_network_in_eval_mode(tmp_path):
    payload, model = make_payload()
    loaded = ck.load_checkpoint(ck.save_checkpoint(tmp_path / "m.pt", payload))
    rebuilt = ck.build_model(loaded)
    assert not rebuilt.training
    x = torch.randn(2, 5, 3, 12, 12)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    with torch.no_grad():
        assert torch.equal(rebuilt.segment(x, "s2", mask), model.segment(x, "s2", mask))
    broken = dict(loaded)
    broken["state_dict"] = {k: v for k, v in loaded["state_dict"].items() if "seg_head" not in k}
    with pytest.raises(CheckpointError, match="do not fit"):
        ck.build_model(broken)


def test_describe_is_a_json_friendly_summary(tmp_path):
    payload, model = make_payload()
    payload["metrics"]["val_loss"] = float("nan")
    payload["metrics"]["per_class"] = torch.tensor([0.5, 0.25])
    path = ck.save_checkpoint(tmp_path / "m.pt", payload)
    info = ck.describe(path)
    json.dumps(info, allow_nan=False)  # strict JSON: no NaN, no tensors
    assert info["kind"] == "finetuned" and info["modality"] == "s2"
    # an S2 model: the S1 input layers left from pretraining are not offered as an input
    assert info["modalities"] == ["s2"]
    assert info["bands"] == {"s2": BANDS["s2"]}
    pre = ck.describe(ck.save_checkpoint(tmp_path / "p.pt", make_payload("pretrained")[0]))
    assert pre["modalities"] == ["s1", "s2"] and pre["bands"] == BANDS
    assert [c["name"] for c in info["classes"]] == ["maize", "wheat", "grass"]
    assert info["classes"][0]["value"] == 1200 and len(info["classes"][0]["color"]) == 3
    assert info["time"] == {"length": 4, "mode": "repeat"}
    assert info["metrics"] == {
        "val_oa": 0.75, "val_miou": 0.5, "val_loss": None, "per_class": [0.5, 0.25]
    }  # fmt: skip
    assert info["format_version"] == ck.FORMAT_VERSION and info["engine_version"] == __version__
    assert info["parameters"] == sum(p.numel() for p in model.parameters())
    assert info["epoch"] == 2 and info["epochs_recorded"] == 2 and info["resumable"]
    assert info["created"] and info["file_size_bytes"] == path.stat().st_size

    pre, pre_model = make_payload("pretrained")
    info = ck.describe(ck.save_checkpoint(tmp_path / "p.pt", pre))
    assert info["kind"] == "pretrained" and info["modality"] is None
    assert info["classes"] == [] and info["n_classes"] == 0
    assert info["parameters"] == sum(p.numel() for p in pre_model.parameters())
