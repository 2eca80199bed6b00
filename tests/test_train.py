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
def test_finetune_on_real_flanders_parcels_learns_them(flanders, tmp_path):
    """Fine-tune from scratch on real LPIS parcels (2018 S2, cloudy frames dropped).

    Asserts that the network learns real data: on its training parcels it beats the majority
    class by a wide margin. Held-out parcels are scored and printed, not asserted: with 19
    parcels in one 640 m square, from-scratch models do not generalise to unseen parcels here
    (OA below the majority class in our runs); benchmarks/few_labels.py measures that with and
    without S4 pretraining (docs/benchmarks.md).
    """
    import fiona

    parcels = flanders / "labels" / "parcels.gpkg"
    with fiona.open(parcels) as src:
        feats, crs, schema = list(src), src.crs, src.schema
    rng = np.random.default_rng(0)
    by_class = {}
    for f in feats:
        by_class.setdefault(f["properties"]["crop_name"], []).append(f)
    train_f, test_f = [], []
    for group in by_class.values():
        idx = rng.permutation(len(group))
        n_test = 1 if len(group) >= 2 else 0  # one unseen parcel per class that has two
        test_f += [group[i] for i in idx[:n_test]]
        train_f += [group[i] for i in idx[n_test:]]
    for name, subset in (("train", train_f), ("test", test_f)):
        with fiona.open(
            tmp_path / f"{name}.gpkg", "w", driver="GPKG", crs=crs, schema=schema
        ) as dst:
            dst.writerecords(subset)
    s2 = sorted(str(p) for p in (flanders / "S2").glob("S2_L2A_2018*.tif"))  # the label year
    model = tmp_path / "flanders.pt"
    api.finetune(
        None, s2, tmp_path / "train.gpkg", "crop_name", model, modality="s2", epochs=25,
        crop_size=32, batch_size=2, max_cloud_fraction=0.3, val_fraction=0.0,
        widths=(16, 32, 64), device="cpu", seed=0,
    )  # fmt: skip
    seg = api.segment(model, tmp_path / "pred.tif", s2=s2, max_cloud_fraction=0.3, device="cpu")

    def oa_and_majority(reference):
        scores = api.evaluate(seg["path"], reference, class_field="crop_name")
        support = np.asarray(scores["confusion_matrix"]).sum(axis=1)
        return scores["oa"], support.max() / support.sum()

    train_oa, train_majority = oa_and_majority(tmp_path / "train.gpkg")
    test_oa, test_majority = oa_and_majority(tmp_path / "test.gpkg")
    print(
        f"flanders: training parcels OA {train_oa:.3f} (majority {train_majority:.3f}); "
        f"held-out parcels OA {test_oa:.3f} (majority {test_majority:.3f})"
    )
    assert train_oa > train_majority + 0.2
