"""Training loops: pretraining lowers the S4 loss, fine-tuning learns, cancel and resume work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s4_core import api
from s4_core.checkpoint import load_checkpoint
from s4_core.errors import Cancelled, DataError, LabelError
from s4_core.labels import IGNORE_INDEX
from s4_core.train import split_polygons

SMALL = dict(crop_size=16, batch_size=2, widths=(8, 16, 32), device="cpu", seed=0)


@pytest.fixture(scope="module")
def pretrained(tiny_demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "pre.pt"
    result = api.pretrain(
        str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out, epochs=4, steps_per_epoch=6, **SMALL
    )
    return out, result


def test_pretraining_lowers_the_loss_and_writes_a_full_checkpoint(pretrained):
    path, result = pretrained
    losses = [h["loss"] for h in result["history"]]
    assert len(losses) == 4
    assert losses[-1] < losses[0]
    assert all(0.0 <= h["accuracy"] <= 1.0 for h in result["history"])
    ckpt = load_checkpoint(path)
    assert ckpt["kind"] == "pretrained"
    assert ckpt["bands"]["s1"] == ["VV", "VH"]
    assert len(ckpt["bands"]["s2"]) == 10
    assert set(ckpt["band_stats"]) == {"s1", "s2"}
    assert ckpt["time"]["length"] >= 1


def test_finetune_from_pretrained_learns_and_keeps_best(tiny_demo, pretrained, tmp_path):
    out = tmp_path / "ft.pt"
    result = api.finetune(
        None, str(tiny_demo.s2_dir), tiny_demo.parcels, tiny_demo.class_field, out,
        modality="s2", init=pretrained[0], epochs=4, val_fraction=0.0, **SMALL,
    )  # fmt: skip
    losses = [h["loss"] for h in result["history"]]
    assert losses[-1] < losses[0]
    ckpt = load_checkpoint(out)
    assert ckpt["kind"] == "finetuned" and ckpt["modality"] == "s2"
    assert ckpt["classes"]["names"] == result["classes"]
    assert ckpt["init"] == str(pretrained[0])


def test_finetune_from_scratch_beats_chance_on_the_demo_scene(tiny_demo, tmp_path):
    model = tmp_path / "scratch.pt"
    api.finetune(
        None, str(tiny_demo.s2_dir), tiny_demo.parcels, tiny_demo.class_field, model,
        modality="s2", epochs=12, val_fraction=0.0, **SMALL,
    )  # fmt: skip
    seg = api.segment(model, tmp_path / "classes.tif", s2=str(tiny_demo.s2_dir), device="cpu")
    scores = api.evaluate(seg["path"], tiny_demo.truth)
    n = len(seg["classes"])
    assert scores["oa"] > 2.0 / n  # chance is 1 / n


def test_cancel_stops_promptly_and_keeps_the_last_good_checkpoint(tiny_demo, tmp_path):
    out = tmp_path / "pre.pt"
    api.pretrain(
        str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out, epochs=1, steps_per_epoch=2, **SMALL
    )
    before = out.read_bytes()
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        api.pretrain(
            str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out, epochs=5, steps_per_epoch=50,
            cancel=cancel, **SMALL,
        )  # fmt: skip
    assert calls["n"] <= 4  # within a batch or two
    assert out.read_bytes() == before
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.tmp*"))


def test_resume_continues_the_epoch_count(tiny_demo, tmp_path):
    out = tmp_path / "pre.pt"
    api.pretrain(
        str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out, epochs=1, steps_per_epoch=2, **SMALL
    )
    res = api.pretrain(
        str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), out, epochs=2, steps_per_epoch=2,
        resume=out, **SMALL,
    )  # fmt: skip
    assert [h["epoch"] for h in res["history"]] == [1, 2]


def test_cpu_runs_are_reproducible(tiny_demo, tmp_path):
    runs = []
    for name in ("a", "b"):
        r = api.pretrain(
            str(tiny_demo.s1_dir), str(tiny_demo.s2_dir), tmp_path / f"{name}.pt", epochs=1,
            steps_per_epoch=3, **SMALL,
        )  # fmt: skip
        runs.append(r["history"][0]["loss"])
    assert runs[0] == runs[1]
    sd_a = load_checkpoint(tmp_path / "a.pt")["state_dict"]
    sd_b = load_checkpoint(tmp_path / "b.pt")["state_dict"]
    assert all(torch.equal(sd_a[k], sd_b[k]) for k in sd_a)


def test_split_polygons_holds_out_whole_polygons_per_class():
    labels = np.full((10, 10), IGNORE_INDEX, np.uint8)
    ids = np.zeros((10, 10), np.int32)
    for i in range(5):  # five polygons of class 0, one of class 1
        labels[i * 2 : i * 2 + 2, :5] = 0
        ids[i * 2 : i * 2 + 2, :5] = i + 1
    labels[:, 5:] = 1
    ids[:, 5:] = 6
    train, val = split_polygons(labels, ids, 0.4, np.random.default_rng(0))
    held = np.unique(ids[val != IGNORE_INDEX])
    assert len(held) == 2 and 6 not in held  # a class with one polygon keeps it for training
    assert not ((train != IGNORE_INDEX) & (val != IGNORE_INDEX)).any()
    for pid in held:  # whole polygons move
        assert (train[ids == pid] == IGNORE_INDEX).all()


def test_errors_name_the_problem(tiny_demo, tmp_path):
    with pytest.raises(DataError, match="S1"):
        api.finetune(None, str(tiny_demo.s2_dir), tiny_demo.parcels, tiny_demo.class_field,
                     tmp_path / "x.pt", modality="s1", epochs=1, **SMALL)  # fmt: skip
    with pytest.raises(LabelError, match="nope"):
        api.finetune(None, str(tiny_demo.s2_dir), tiny_demo.parcels, "nope",
                     tmp_path / "x.pt", epochs=1, **SMALL)  # fmt: skip
    with pytest.raises(DataError, match="Sentinel-1 AND Sentinel-2|no Sentinel"):
        api.pretrain(None, str(tiny_demo.s2_dir), tmp_path / "x.pt", epochs=1, **SMALL)
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.realdata
@pytest.mark.slow
def test_finetune_on_real_flanders_beats_the_majority_class_on_heldout_parcels(flanders, tmp_path):
    """Train on some real LPIS parcels, score on the others (S2 only, cloudy frames dropped)."""
    import fiona

    parcels = flanders / "labels" / "parcels.gpkg"
    with fiona.open(parcels) as src:
        feats = list(src)
    rng = np.random.default_rng(0)
    by_class = {}
    for f in feats:
        by_class.setdefault(f["properties"]["crop_name"], []).append(f)
    train_f, test_f = [], []
    for group in by_class.values():
        idx = rng.permutation(len(group))
        n_test = len(group) // 3  # a third of each class's parcels, none where only one
        test_f += [group[i] for i in idx[:n_test]]
        train_f += [group[i] for i in idx[n_test:]]
    with fiona.open(parcels) as src:
        for name, subset in (("train", train_f), ("test", test_f)):
            with fiona.open(tmp_path / f"{name}.gpkg", "w", driver="GPKG", crs=src.crs,
                            schema=src.schema) as dst:  # fmt: skip
                dst.writerecords(subset)
    model = tmp_path / "flanders.pt"
    api.finetune(
        None, str(flanders / "S2"), tmp_path / "train.gpkg", "crop_name", model, modality="s2",
        epochs=12, crop_size=32, batch_size=2, max_cloud_fraction=0.3, val_fraction=0.0,
        widths=(16, 32, 64), device="cpu", seed=0,
    )  # fmt: skip
    seg = api.segment(model, tmp_path / "pred.tif", s2=str(flanders / "S2"), max_cloud_fraction=0.3,
                      device="cpu")  # fmt: skip
    scores = api.evaluate(seg["path"], tmp_path / "test.gpkg", class_field="crop_name")
    support = np.asarray(scores["confusion_matrix"]).sum(axis=1)
    majority = support.max() / support.sum()
    print(f"flanders held-out OA {scores['oa']:.3f} vs majority {majority:.3f}")
    assert scores["oa"] > majority + 0.1
