"""Tiled inference, GeoTIFF/GeoPackage outputs, evaluation and the segment/evaluate commands."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from rasters import write_tif
from test_vector_evaluate import _read_gpkg, _write_polygons

from s4_core import inference as inf
from s4_core import raster_io
from s4_core.align import build_scene, fixed_length_indices
from s4_core.checkpoint import build_model, save_checkpoint
from s4_core.cli import main as cli_main
from s4_core.control import NO_CONTROL, Control
from s4_core.errors import Cancelled, CheckpointError, DataError
from s4_core.evaluate import evaluate
from s4_core.labels import ClassMap
from s4_core.model import NetConfig, PixelHeadConfig, S4Net
from s4_core.normalize import BandStats
from s4_core.series import open_series
from s4_core.vectorize import vectorize_classes

CRS = "EPSG:32631"
ORIGIN = (500000.0, 5650000.0)
S2_BANDS = ["B02", "B03", "B04"]
S1_BANDS = ["VV", "VH"]
NAMES = ["maize", "wheat", "grass"]
VALUES = [1200, 1100, 9120]
# widths (4, 8): down-sampling factor 2, receptive span 10 px before / 11 px after a pixel:
# margins of 12 px (overlap 24) make tiled and whole-scene runs identical.
WIDTHS = (4, 8)


# ----------------------------------------------------------------------------- fixtures
def _write_series(folder: Path, sensor: str, n: int, h: int, w: int, seed: int) -> Path:
    """Per-date GeoTIFFs on a 10 m grid; the top-left 5 x 7 px have no data on any date."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    transform = Affine(10.0, 0, ORIGIN[0], 0, -10.0, ORIGIN[1])
    bands = S2_BANDS if sensor == "s2" else S1_BANDS
    for i in range(n):
        d = date(2018, 3, 1) + timedelta(days=7 * i)
        base = np.sin(xx / 5.0 + i) + np.cos(yy / 7.0 - 0.5 * i)
        data = np.stack([base * (b + 1) + rng.normal(0, 0.3, (h, w)) for b in range(len(bands))])
        if sensor == "s2":
            arr = np.clip(1500 + 400 * data, 1, 10000).astype(np.uint16)
            arr[:, :5, :7] = 0
            if i == 2:
                arr[:, 20:30, 10:20] = 0  # a cloud-masked patch on one date
            nodata, stem = 0, f"S2_L2A_{d:%Y%m%d}.tif"
        else:
            arr = (-12 + 2 * data).astype(np.float32)
            arr[:, :5, :7] = np.nan
            nodata, stem = float("nan"), f"S1_GRD_ASC_{d:%Y%m%d}.tif"
        tags = {"ACQUISITION_DATETIME": f"{d.isoformat()}T10:30:00Z"}
        if sensor == "s1":
            tags["UNITS"] = "dB"
        write_tif(
            folder / stem, arr, descriptions=bands, nodata=nodata, tags=tags, transform=transform,
            crs=CRS,
        )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scene")
    _write_series(root / "S2", "s2", 6, 45, 51, seed=1)
    _write_series(root / "S1", "s1", 5, 45, 51, seed=2)
    return root


@pytest.fixture(scope="module")
def scene(data_dir):
    return build_scene(s2=open_series(data_dir / "S2", sensor="s2"))


@pytest.fixture(scope="module")
def s1_scene(data_dir):
    return build_scene(s1=open_series(data_dir / "S1", sensor="s1"))


def make_ckpt(modality="s2", *, length=6, mode="repeat", widths=WIDTHS, seed=0, bands=None):
    torch.manual_seed(seed)
    cfg = NetConfig(
        s1_channels=2, s2_channels=3, widths=widths, proj_dim=4, num_classes=3, dec_out_width=4
    )
    model = S4Net(cfg).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics so eval mode matters
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm3d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    bands = bands or (S2_BANDS if modality == "s2" else S1_BANDS)
    mean = [0.15, 0.14, 0.13] if modality == "s2" else [-12.0, -12.0]
    std = [0.06, 0.1, 0.14] if modality == "s2" else [2.0, 4.0]
    return {
        "kind": "finetuned",
        "net_config": cfg.to_dict(),
        "state_dict": model.state_dict(),
        "modality": modality,
        "bands": {modality: list(bands)},
        "band_stats": {modality: BandStats(list(bands), mean, std).to_dict()},
        "time": {"length": length, "mode": mode},
        "classes": ClassMap.from_names(NAMES, VALUES).to_dict(),
        "metrics": {},
        "history": [],
        "epoch": 1,
        "seed": seed,
    }


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("model") / "model.pt", make_ckpt())


def reference_probabilities(ckpt, scene) -> tuple:
    """Slow reference: the whole scene in one forward pass, inputs prepared by hand."""
    m = ckpt["modality"]
    model = build_model(ckpt)
    idx, fvalid = fixed_length_indices(scene.n_frames, ckpt["time"]["length"], ckpt["time"]["mode"])
    data = scene.read(None, modalities=[m], frames=idx)
    fm = fvalid & data["frame_valid"]
    valid = data[m + "_valid"] & fm[:, None, None]
    x = BandStats.from_dict(ckpt["band_stats"][m]).apply(data[m], valid)
    with torch.no_grad():
        logits = model.segment(torch.from_numpy(x)[None], m, torch.from_numpy(fm)[None])
    probs = torch.softmax(logits, 1)[0].numpy()
    return probs, valid.any(0)


def assemble(windows, grid, k):
    out = np.full((k, grid.height, grid.width), np.nan, dtype=np.float32)
    valid = np.zeros(grid.shape, dtype=bool)
    hits = np.zeros(grid.shape, dtype=int)
    for win, p, v in windows:
        r, c = win.offset_in(grid)
        out[:, r : r + win.height, c : c + win.width] = p
        valid[r : r + win.height, c : c + win.width] = v
        hits[r : r + win.height, c : c + win.width] += 1
    return out, valid, hits


def segment_on_cpu(ckpt, scene, out, control=NO_CONTROL, probabilities=None,
                   probabilities_dtype="float32", **prediction):  # fmt: skip
    """``segment_scene`` with ``Prediction(**prediction)``, on the CPU unless ``device`` is given."""
    prediction.setdefault("device", "cpu")
    return inf.segment_scene(
        ckpt, scene, out, inf.Prediction(**prediction), control,
        probabilities_path=probabilities, probabilities_dtype=probabilities_dtype,
    )  # fmt: skip


def listing(folder: Path):
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------- tiling
@pytest.mark.parametrize(
    "h, w, tile, overlap, align",
    [
        (45, 51, 40, 24, 2), (100, 37, 32, 8, 4), (16, 16, 128, 32, 4), (130, 129, 64, 16, 8),
        (130, 129, (64, 40), 16, 8), (100, 37, (24, 64), 8, 4),  # rectangles
    ],
)  # fmt: skip
def test_tile_cores_partition_the_scene(h, w, tile, overlap, align):
    tiles = inf.plan_tiles(h, w, tile, overlap, align)
    tile_h, tile_w = (tile, tile) if isinstance(tile, int) else tile
    cover = np.zeros((h, w), dtype=int)
    for t in tiles:
        assert t.row % align == 0 and t.col % align == 0  # pooling cells line up
        assert t.row + t.height <= h and t.col + t.width <= w
        for size, length, side in ((t.height, h, tile_h), (t.width, w, tile_w)):
            assert size == length if length <= side else side <= size < side + align
        # the core lies inside the window with >= overlap // 2 px of margin on inner sides
        assert t.row <= t.core_row and t.core_row + t.core_height <= t.row + t.height
        if t.core_row > 0:
            assert t.core_row - t.row >= overlap // 2
        if t.core_row + t.core_height < h:
            assert t.row + t.height - (t.core_row + t.core_height) >= overlap // 2
        if t.core_col > 0:
            assert t.core_col - t.col >= overlap // 2
        cover[t.core_row : t.core_row + t.core_height, t.core_col : t.core_col + t.core_width] += 1
    assert (cover == 1).all()


def test_tile_settings_are_checked():
    with pytest.raises(DataError, match="--overlap"):
        inf.plan_tiles(64, 64, 32, 32)
    with pytest.raises(DataError, match="tile size"):
        inf.plan_tiles(64, 64, 0, 0)


# ----------------------------------------------------------------------------- prediction
@pytest.mark.parametrize("tile, overlap", [(40, 24), (32, 24), ((28, 40), 24)])
def test_tiled_prediction_equals_whole_scene_prediction(scene, tile, overlap):
    ckpt = make_ckpt()
    ref, ref_valid = reference_probabilities(ckpt, scene)
    kw = dict(device="cpu", batch_size=3)
    windows = list(
        inf.predict_windows(ckpt, scene, inf.Prediction(tile_size=tile, overlap=overlap, **kw))
    )
    assert len(windows) >= 4  # really tiled
    probs, valid, hits = assemble(windows, scene.grid, 3)
    assert (hits == 1).all()
    assert np.array_equal(valid, ref_valid)
    assert not valid[:5, :7].any() and valid.sum() == 45 * 51 - 35
    np.testing.assert_allclose(probs[:, valid], ref[:, valid], atol=1e-5)
    assert np.array_equal(probs.argmax(0)[valid], ref.argmax(0)[valid])
    # one window covering the scene gives the same
    whole = list(inf.predict_windows(ckpt, scene, inf.Prediction(tile_size=64, overlap=0, **kw)))
    assert len(whole) == 1
    np.testing.assert_allclose(whole[0][1][:, valid], ref[:, valid], atol=1e-5)


@pytest.mark.parametrize("widths", [(4, 8), (4, 8, 16)])
@pytest.mark.parametrize("head", ["unet", "pixel"])
def test_receptive_span_is_the_measured_one(widths, head):
    """Gradient probe on random inputs: how far before / after a pixel (along columns, all
    pooling phases) an input changes its output. (Zero inputs under-count the far side: a
    max-pooling cell of equal values passes the gradient to its first element only.)"""
    from s4_core.tiling import receptive_radius, receptive_span

    torch.manual_seed(0)
    cfg = NetConfig(s2_channels=2, widths=widths, num_classes=2, head=head, head_frames=4,
                    pixel_head=PixelHeadConfig(hidden=4, members=1, smooth_iters=2),
                    dec_out_width=4)  # fmt: skip
    net = S4Net(cfg).eval()
    n, before, after = 96, 0, 0  # > 2 x (span + factor): the probe never reaches an edge
    for c in range(40, 40 + cfg.factor):
        x = torch.randn(1, 4, 2, n, n, requires_grad=True)
        net.segment(x, "s2")[0, 0, c, c].backward()
        cols = (x.grad.abs().sum((0, 1, 2, 3)) > 0).nonzero().flatten()
        before, after = max(before, c - int(cols.min())), max(after, int(cols.max()) - c)
    span = receptive_span(len(widths) - 1, head, cfg.pixel_head.smooth_iters)
    assert (before, after) == span
    assert receptive_radius(len(widths) - 1, head, cfg.pixel_head.smooth_iters) == max(span)


def test_cores_keep_the_receptive_span_inside_their_window():
    span = (24, 27)  # widths (32, 64, 128): 24 px before a pixel, 27 after
    tiles = inf.plan_tiles(300, 300, 120, 52, 4, span)
    assert len(tiles) > 4
    for t in tiles:
        if t.core_col > 0:
            assert t.core_col - t.col >= span[0]
        if t.core_col + t.core_width < 300:
            assert t.col + t.width - (t.core_col + t.core_width) >= span[1]
    # without the span the border is the middle: 26 px on each side is too few after a pixel
    plain = inf.plan_tiles(300, 300, 120, 52, 4)
    inner = [t for t in plain if 0 < t.core_col and t.core_col + t.core_width < 300]
    assert min(t.col + t.width - (t.core_col + t.core_width) for t in inner) < span[1]


def test_folded_batch_norms_give_the_same_outputs():
    from s4_core.model import fold_batchnorm

    ckpt = make_ckpt(widths=(4, 8, 16))
    plain, folded = build_model(ckpt), fold_batchnorm(build_model(ckpt))
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in folded.modules())
    x = torch.randn(2, 6, 3, 20, 24)
    fm = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])  # masked path too
    with torch.no_grad():
        torch.testing.assert_close(
            folded.segment(x, "s2", fm), plain.segment(x, "s2", fm), atol=1e-5, rtol=1e-4
        )
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(build_model(ckpt).train())


def test_automatic_overlap_makes_tiles_equal_a_whole_scene_pass(scene):
    ckpt = make_ckpt()
    ref, valid = reference_probabilities(ckpt, scene)
    windows = list(inf.predict_windows(ckpt, scene, inf.Prediction(tile_size=32, device="cpu")))
    assert len(windows) >= 4
    probs, _, hits = assemble(windows, scene.grid, 3)
    assert (hits == 1).all()
    np.testing.assert_allclose(probs[:, valid], ref[:, valid], atol=1e-5)
    # the automatic tile: one window when the scene fits the memory budget ...
    tile, overlap = inf.choose_tiling(ckpt["net_config"], 6, 45, 51)
    assert (tile, overlap) == ((45, 51), 22)  # span (10, 11), factor 2
    # ... else rectangles: 6 windows of 288 x 212 px, where squares of the budget's side took 9
    from s4_core.tiling import auto_tiling, plan_tiles

    tile, overlap = auto_tiling(30, 4, frames=32, width0=32, height=512, width=512)
    assert (tile, overlap) == ((288, 212), 60) and len(plan_tiles(512, 512, tile, overlap, 4)) == 6


def _least_computed_area(height, width, overlap, align, area, shortest):
    """Slow reference: the least area any pair of window sizes fitting ``area`` computes."""
    from s4_core.tiling import _axis_plan

    def axis(length):
        found = set()
        for tile in range(min(length, shortest), length + 1):
            sizes = [size for _, size, _, _ in _axis_plan(length, tile, overlap, align)]
            found.add((sum(sizes), max(sizes)))
        return found

    rows, cols = axis(height), axis(width)
    return min(cr * cc for cr, lr in rows for cc, lc in cols if lr * lc <= area)


@pytest.mark.parametrize(
    "height, width, memory_mb", [(512, 512, 2048), (700, 430, 2048), (1024, 1024, 900)]
)
def test_automatic_windows_fit_the_budget_and_compute_near_the_least_area(height, width, memory_mb):
    from s4_core.tiling import TILING_SLACK, auto_tiling, plan_tiles, window_bytes_per_px

    kw = dict(frames=32, width0=32, height=height, width=width, memory_mb=memory_mb)
    tile, overlap = auto_tiling((24, 27), 4, **kw)
    tiles = plan_tiles(height, width, tile, overlap, 4)
    area = memory_mb * 2**20 / window_bytes_per_px(32, 32)
    assert max(t.height * t.width for t in tiles) <= area
    least = _least_computed_area(height, width, overlap, 4, area, 2 * overlap + 64)
    computed = sum(t.height * t.width for t in tiles)
    assert least <= computed <= least * (1 + TILING_SLACK)


@pytest.mark.parametrize("width0", [4, 32])
def test_automatic_window_memory_does_not_depend_on_the_scene_area(width0):
    # issue 17: the peak follows the largest window; squares shrunk to the scene used 80-100 %
    # of the budget (376 to 420 px on 1024 to 4096 px scenes, widths 4-8-16)
    from s4_core.tiling import auto_tiling, plan_tiles, window_bytes_per_px

    area = 2048 * 2**20 / window_bytes_per_px(32, width0)
    used = []
    for side in (1024, 2048, 4096):
        kw = dict(frames=32, width0=width0, height=side, width=side)
        tile, overlap = auto_tiling((24, 27), 4, **kw)
        used.append(max(t.height * t.width for t in plan_tiles(side, side, tile, overlap, 4)))
    assert max(used) <= area and min(used) >= 0.88 * area


def test_narrow_margins_change_only_pixels_near_core_borders(scene):
    ckpt = make_ckpt()
    ref, valid = reference_probabilities(ckpt, scene)
    windows = list(
        inf.predict_windows(ckpt, scene, inf.Prediction(tile_size=24, overlap=4, device="cpu"))
    )
    probs, _, _ = assemble(windows, scene.grid, 3)
    diff = np.abs(probs - ref).max(0)
    assert diff[valid].max() > 1e-4  # margins of 2 px are narrower than the receptive field
    assert np.median(diff[valid]) < 0.05


@pytest.mark.skipif(
    not __import__("s4_core.backends", fromlist=["x"]).bf16_supported(),
    reason="this CPU has no native bfloat16",
)
def test_bf16_maps_close_to_fp32(scene, tmp_path):
    ckpt = make_ckpt(widths=(4, 8, 16))
    ref, valid = reference_probabilities(ckpt, scene)
    messages = []
    res = segment_on_cpu(
        ckpt,
        scene,
        tmp_path / "c.tif",
        Control(log=messages.append),
        probabilities=tmp_path / "p.tif",
        precision="bf16",
    )
    assert res.precision == "bf16" and "bfloat16" in messages[-1]
    with rasterio.open(tmp_path / "p.tif") as ds:
        probs = ds.read()
    err = np.abs(probs[:, valid] - ref[:, valid])
    print(f"bf16: max probability error {err.max():.4f}, mean {err.mean():.5f}")
    assert 0 < err.max() < 0.05 and err.mean() < 0.005  # not exact, close
    agree = (probs.argmax(0) == ref.argmax(0))[valid].mean()
    assert agree > 0.97
    with pytest.raises(DataError, match="precision"):
        segment_on_cpu(ckpt, scene, tmp_path / "d.tif", precision="fp16")


@pytest.mark.skipif(
    not __import__("s4_core.backends", fromlist=["x"]).bf16_supported(),
    reason="this CPU has no native bfloat16",
)
def test_segment_command_with_bf16(data_dir, ckpt_path, tmp_path, capsys):
    out = tmp_path / "classes.tif"
    rc = cli_main(["segment", "--model", str(ckpt_path), "--s2", str(data_dir / "S2"), "--out",
                   str(out), "--precision", "bf16", "--device", "cpu", "--json", "--quiet"])  # fmt: skip
    assert rc == 0 and json.loads(capsys.readouterr().out)["precision"] == "bf16"
    with pytest.raises(SystemExit):  # argparse: not one of the choices
        cli_main(["segment", "--model", str(ckpt_path), "--s2", str(data_dir / "S2"), "--out",
                  str(out), "--precision", "fp8"])  # fmt: skip
    assert "--precision" in capsys.readouterr().err


def test_segment_scene_writes_styled_class_raster_and_probabilities(scene, tmp_path):
    ckpt = make_ckpt()
    ref, ref_valid = reference_probabilities(ckpt, scene)
    calls = []
    result = segment_on_cpu(
        ckpt,
        scene,
        tmp_path / "classes.tif",
        Control(progress=lambda f, msg, metrics=None: calls.append(f)),
        probabilities=tmp_path / "probs.tif",
        tile_size=40,
        overlap=24,
        batch_size=2,
    )
    assert listing(tmp_path) == ["classes.tif", "probs.tif"]
    assert result.path == tmp_path / "classes.tif" and result.device == "cpu"
    assert calls == sorted(calls) and calls[-1] == pytest.approx(1.0)
    with rasterio.open(tmp_path / "classes.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 255 and ds.count == 1
        assert ds.crs == scene.grid.crs and ds.transform == scene.grid.transform
        assert ds.profile["tiled"] and ds.compression.name.lower() == "deflate"
        cmap = ds.colormap(1)
        classes = ds.read(1)
        tags = ds.tags()
    for i, color in enumerate(result.class_colors):
        assert cmap[i] == (*color, 255)
    assert cmap[255][3] == 0
    assert json.loads(tags["S4_CLASS_NAMES"]) == NAMES
    assert [c["name"] for c in json.loads(tags["S4_CLASSES"])] == NAMES
    expected = np.where(ref_valid, ref.argmax(0), 255)
    assert np.array_equal(classes, expected)
    assert result.pixel_counts == {n: int((expected == i).sum()) for i, n in enumerate(NAMES)}
    assert result.nodata_pixels == 35
    with rasterio.open(tmp_path / "probs.tif") as ds:
        assert ds.count == 3 and ds.dtypes[0] == "float32"
        assert list(ds.descriptions) == NAMES
        probs = ds.read()
    assert np.isnan(probs[:, ~ref_valid]).all()
    np.testing.assert_allclose(probs[:, ref_valid], ref[:, ref_valid], atol=1e-5)
    np.testing.assert_allclose(probs[:, ref_valid].sum(0), 1.0, atol=1e-5)
    # read back through the engine
    arr, class_map, grid = raster_io.read_class_raster(tmp_path / "classes.tif")
    assert np.array_equal(arr, classes) and class_map.names == NAMES
    assert class_map.values == VALUES and grid.same_as(scene.grid)


def test_uint8_probabilities_are_scaled(scene, tmp_path):
    ckpt = make_ckpt()
    ref, valid = reference_probabilities(ckpt, scene)
    segment_on_cpu(
        ckpt,
        scene,
        tmp_path / "c.tif",
        probabilities=tmp_path / "p.tif",
        probabilities_dtype="uint8",
        tile_size=64,
    )
    with rasterio.open(tmp_path / "p.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == 255
        assert ds.scales[0] == pytest.approx(1 / 254)
        p = ds.read()
    assert (p[:, ~valid] == 255).all()
    assert np.abs(p[:, valid] / 254.0 - ref[:, valid]).max() <= 0.5 / 254 + 1e-6


@pytest.mark.parametrize("length, mode", [(4, "even"), (9, "repeat"), (3, "clip")])
def test_time_policy_of_the_checkpoint_is_applied(scene, tmp_path, length, mode):
    ckpt = make_ckpt(length=length, mode=mode, seed=3)
    ref, valid = reference_probabilities(ckpt, scene)
    res = segment_on_cpu(ckpt, scene, tmp_path / "c.tif", tile_size=64)
    with rasterio.open(res.path) as ds:
        classes = ds.read(1)
    assert np.array_equal(classes, np.where(valid, ref.argmax(0), 255))


def test_s1_model_on_s1_scene(s1_scene, tmp_path):
    ckpt = make_ckpt("s1", length=5)
    ref, valid = reference_probabilities(ckpt, s1_scene)
    res = segment_on_cpu(ckpt, s1_scene, tmp_path / "c.tif", tile_size=64)
    with rasterio.open(res.path) as ds:
        assert ds.tags()["S4_MODALITY"] == "s1"
        assert np.array_equal(ds.read(1), np.where(valid, ref.argmax(0), 255))


def test_wrong_modality_bands_or_kind_are_clear_errors(scene, s1_scene, tmp_path):
    with pytest.raises(DataError, match="segments from S1 but the scene holds S2"):
        segment_on_cpu(make_ckpt("s1"), scene, tmp_path / "c.tif")
    with pytest.raises(DataError, match=r"missing \['B08'\]"):
        segment_on_cpu(make_ckpt(bands=["B02", "B03", "B08"]), scene, tmp_path / "c.tif")
    pre = {**make_ckpt(), "kind": "pretrained", "classes": None}
    with pytest.raises(CheckpointError, match="fine-tune"):
        segment_on_cpu(pre, scene, tmp_path / "c.tif")
    with pytest.raises(DataError, match="is a folder"):
        segment_on_cpu(make_ckpt(), scene, tmp_path)
    assert listing(tmp_path) == []


def test_cancel_leaves_no_output(scene, tmp_path):
    (tmp_path / "classes.tif").write_bytes(b"previous result")
    batches = []

    def progress(f, msg, metrics=None):
        batches.append(f)

    with pytest.raises(Cancelled):
        segment_on_cpu(
            make_ckpt(),
            scene,
            tmp_path / "new.tif",
            Control(progress=progress, cancel=lambda: len(batches) >= 2),
            probabilities=tmp_path / "p.tif",
            tile_size=26,
            overlap=24,
            batch_size=2,
        )
    assert len(batches) == 2  # stopped at the next batch
    assert listing(tmp_path) == ["classes.tif"]
    assert (tmp_path / "classes.tif").read_bytes() == b"previous result"


def test_out_of_memory_backs_off_and_gives_the_same_result(scene, tmp_path, monkeypatch):
    ckpt = make_ckpt()
    kw = dict(tile_size=32, overlap=24, device="cpu")  # 12 windows, 6 of them 32 x 32
    normal = segment_on_cpu(ckpt, scene, tmp_path / "a.tif", **kw)
    original = S4Net.segment
    sizes = []

    def limited(self, x, modality, frame_mask=None):
        sizes.append(x.shape[0])
        if x.shape[0] > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return original(self, x, modality, frame_mask)

    monkeypatch.setattr(S4Net, "segment", limited)
    messages = []
    res = segment_on_cpu(
        ckpt, scene, tmp_path / "b.tif", Control(log=messages.append), batch_size=4, **kw
    )
    assert sizes[:3] == [4, 2, 1] and set(sizes[3:]) == {1}  # stays at 1 once it backed off
    assert res.batch_size == 1
    assert any("retrying with batch size 2" in m for m in messages)
    with rasterio.open(normal.path) as a, rasterio.open(res.path) as b:
        assert np.array_equal(a.read(1), b.read(1))


def test_given_tile_size_keeps_batches_within_the_memory_budget(scene, tmp_path, monkeypatch):
    # A given --tile-size used to keep the default 4 windows per batch whatever the budget (a
    # 1024 px scene with 420 px windows peaked at 6.2 GB instead of 1.5 GB).
    ckpt = make_ckpt(length=64, widths=(16, 32))  # ~26 MB per 32 px window
    kw = dict(tile_size=32, overlap=24, batch_size=4)
    monkeypatch.setenv("S4_TILE_MEMORY_MB", "100000")
    roomy = segment_on_cpu(ckpt, scene, tmp_path / "a.tif", **kw)
    monkeypatch.setenv("S4_TILE_MEMORY_MB", "64")  # the smallest budget: 2 windows
    tight = segment_on_cpu(ckpt, scene, tmp_path / "b.tif", **kw)
    assert (roomy.batch_size, tight.batch_size) == (4, 2)
    with rasterio.open(roomy.path) as a, rasterio.open(tight.path) as b:
        assert np.array_equal(a.read(1), b.read(1))


# ----------------------------------------------------------------------------- commands
def test_segment_and_evaluate_commands(data_dir, ckpt_path, tmp_path, capsys):
    out = tmp_path / "classes.tif"
    rc = cli_main(
        [
            "segment", "--model", str(ckpt_path), "--s2", str(data_dir / "S2"), "--out", str(out),
            "--vector", str(tmp_path / "classes.gpkg"), "--min-area", "300",
            "--probabilities", str(tmp_path / "probs.tif"), "--tile-size", "40", "--overlap", "24",
            "--batch-size", "2", "--device", "cpu", "--json", "--quiet",
        ]
    )  # fmt: skip
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == str(out) and result["n_polygons"] > 0
    assert result["precision"] == "fp32"  # the default: exact
    assert [c["name"] for c in result["classes"]] == NAMES
    assert listing(tmp_path) == ["classes.gpkg", "classes.tif", "probs.tif"]
    _, rows = _read_gpkg(tmp_path / "classes.gpkg")
    assert len(rows) == result["n_polygons"] and min(a for _, _, a in rows) >= 300

    polys = [((0, 0, 45, 25), "maize"), ((0, 25, 45, 51), "grass")]
    _write_polygons(tmp_path / "truth.gpkg", polys, field="name")
    rc = cli_main(["evaluate", "--pred", str(out), "--truth", str(tmp_path / "truth.gpkg"),
                   "--class-field", "name"])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0
    assert "overall accuracy" in text and "mIoU" in text and "confusion matrix" in text
    res = evaluate(out, tmp_path / "truth.gpkg", class_field="name")
    assert f"{res['oa']:.3f}" in text
    rc = cli_main(["evaluate", "--pred", str(out), "--truth", str(tmp_path / "truth.gpkg"),
                   "--class-field", "name", "--json"])  # fmt: skip
    assert json.loads(capsys.readouterr().out)["confusion_matrix"] == res["confusion_matrix"]


def test_segment_command_errors(data_dir, ckpt_path, tmp_path, capsys):
    rc = cli_main(["segment", "--model", str(ckpt_path), "--s1", str(data_dir / "S1"),
                   "--out", str(tmp_path / "c.tif"), "--quiet"])  # fmt: skip
    assert rc == 2
    assert "fine-tuned for S2" in capsys.readouterr().err
    rc = cli_main(["segment", "--model", str(tmp_path / "none.pt"), "--s2", str(data_dir / "S2"),
                   "--out", str(tmp_path / "c.tif"), "--quiet"])  # fmt: skip
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    assert listing(tmp_path) == []


def test_segment_command_with_bounds(data_dir, ckpt_path, tmp_path, capsys):
    left, top = ORIGIN[0] + 100, ORIGIN[1] - 50
    rc = cli_main(
        [
            "segment", "--model", str(ckpt_path), "--s2", str(data_dir / "S2"),
            "--out", str(tmp_path / "c.tif"), "--device", "cpu", "--quiet",
            "--bounds", str(left), str(top - 200), str(left + 250), str(top),
        ]
    )  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert f"wrote {tmp_path / 'c.tif'}" in text and "maize" in text
    with rasterio.open(tmp_path / "c.tif") as ds:
        assert (ds.width, ds.height) == (25, 20)
        assert ds.bounds.left == pytest.approx(left) and ds.bounds.top == pytest.approx(top)


@pytest.mark.parametrize("bounds_crs", ["EPSG:4326", "EPSG:3857", CRS])
def test_segment_bounds_in_another_crs_keep_the_imagery_grid(
    data_dir, ckpt_path, tmp_path, bounds_crs
):
    """An extent drawn on a map in another CRS (a QGIS canvas in EPSG:3857) selects the part of
    the imagery's own pixels that covers it: the map stays in the imagery's CRS and 10 m pixels
    on its lattice (it was resampled onto a grid in the extent's CRS)."""
    from rasterio.warp import transform_bounds

    from s4_core import api
    from s4_core.grid import Grid

    box = (ORIGIN[0] + 103.0, ORIGIN[1] - 247.0, ORIGIN[0] + 356.0, ORIGIN[1] - 41.0)
    given = transform_bounds(CRS, bounds_crs, *box, densify_pts=21)
    out = tmp_path / "c.tif"
    api.segment(ckpt_path, out, s2=str(data_dir / "S2"), bounds=given, bounds_crs=bounds_crs,
                device="cpu")  # fmt: skip
    mapped, imagery = (
        Grid.from_raster(out),
        Grid.from_raster(sorted((data_dir / "S2").iterdir())[0]),
    )
    assert mapped.crs == imagery.crs and mapped.res == pytest.approx(imagery.res)
    assert mapped.offset_in(imagery) is not None  # the imagery's pixels, not resampled
    left, bottom, right, top = mapped.bounds
    assert left <= box[0] and bottom <= box[1] and right >= box[2] and top >= box[3]
    if bounds_crs == CRS:  # the box itself: at most one pixel added on each side
        assert (left, bottom, right, top) == (
            ORIGIN[0] + 100,
            ORIGIN[1] - 250,
            ORIGIN[0] + 360,
            ORIGIN[1] - 40,
        )


@pytest.mark.parametrize(
    "bounds, bounds_crs, given, imagery",
    [
        ((100, 10, 101, 11), "EPSG:4326", r"\(100, 10, 101, 11\) in EPSG:4326",
         r"\(3[\d.]*, 5[01][\d.]*, 3\.\d+, 51[\d.]*\) in EPSG:4326"),
        ((0, 0, 1000, 1000), None, r"\(0, 0, 1000, 1000\) in EPSG:32631",
         rf"\({ORIGIN[0]:.0f}, \d+, \d+, {ORIGIN[1]:.0f}\) in EPSG:32631"),
    ],
    ids=["lon-lat far away", "metres far away"],
)  # fmt: skip
def test_segment_with_an_extent_outside_the_imagery_says_so(
    data_dir, ckpt_path, tmp_path, capsys, bounds, bounds_crs, given, imagery
):
    """An extent far from the imagery (in its CRS or another) is named with the imagery's bounds
    in the extent's CRS, not reported as an S2 image that misses the reference grid."""
    import re

    from s4_core import api

    with pytest.raises(DataError) as info:
        api.segment(ckpt_path, tmp_path / "c.tif", s2=str(data_dir / "S2"), bounds=bounds,
                    bounds_crs=bounds_crs, device="cpu")  # fmt: skip
    message = str(info.value)
    assert re.search(
        rf"the extent \(bounds {given}\) lies outside the imagery \(its bounds {imagery}: the S2 "
        r"images .*S2\): choose an extent over the imagery",
        message,
    ), message
    assert "reference grid" not in message
    if bounds_crs is None:  # the command line's --bounds says the same
        rc = cli_main(["segment", "--model", str(ckpt_path), "--s2", str(data_dir / "S2"),
                       "--out", str(tmp_path / "c.tif"), "--device", "cpu", "--quiet",
                       "--bounds", *map(str, bounds)])  # fmt: skip
        assert rc == 2 and "lies outside the imagery" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_flanders_tiled_equals_whole_and_evaluates(flanders, tmp_path):
    scene = build_scene(s2=open_series(flanders / "S2", sensor="s2"))
    bands = list(scene.s2.band_names)
    ckpt = make_ckpt(length=8, mode="even", seed=5)
    torch.manual_seed(5)
    cfg = NetConfig(s1_channels=2, s2_channels=len(bands), widths=WIDTHS, proj_dim=4,
                    num_classes=3, dec_out_width=4)  # fmt: skip
    ckpt.update(
        net_config=cfg.to_dict(),
        state_dict=S4Net(cfg).state_dict(),
        bands={"s2": bands},
        band_stats={"s2": BandStats(bands, [0.1] * len(bands), [0.08] * len(bands)).to_dict()},
        classes=ClassMap.from_names(
            ["maize", "potatoes", "permanent grassland"], [1200, 5100, 9120]
        ).to_dict(),  # fmt: skip
    )
    a = segment_on_cpu(ckpt, scene, tmp_path / "a.tif", tile_size=64, overlap=0)
    b = segment_on_cpu(ckpt, scene, tmp_path / "b.tif", tile_size=32, overlap=24)
    with rasterio.open(a.path) as da, rasterio.open(b.path) as db:
        assert (da.width, da.height) == (64, 64)
        assert np.array_equal(da.read(1), db.read(1))
    res = evaluate(a.path, flanders / "labels" / "crop_type.tif")
    # codes matched by the names in the raster's CLASSES tag ({code: name})
    assert res["n_pixels"] > 0 and sum(res["support"]) == res["n_pixels"]
    assert set(res["unmatched"]) <= {"cabbages", "other leguminous"}
    n = vectorize_classes(a.path, tmp_path / "a.gpkg", min_area_m2=1000)
    assert n > 0


def _warp_series(src_dir: Path, dst_dir: Path, crs: str) -> Path:
    """Copies of the GeoTIFFs of ``src_dir`` reprojected to ``crs`` (as gdalwarp does)."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    dst_dir.mkdir(parents=True)
    for path in sorted(src_dir.glob("*.tif")):
        with rasterio.open(path) as src:
            transform, width, height = calculate_default_transform(
                src.crs, crs, src.width, src.height, *src.bounds
            )
            profile = {**src.profile, "crs": crs, "transform": transform, "width": width,
                       "height": height}  # fmt: skip
            with rasterio.open(dst_dir / path.name, "w", **profile) as dst:
                for b in range(1, src.count + 1):
                    reproject(rasterio.band(src, b), rasterio.band(dst, b),
                              resampling=Resampling.nearest)  # fmt: skip
                dst.update_tags(**src.tags())
                dst.descriptions = src.descriptions
    return dst_dir


def test_model_resolution_in_metres_is_not_applied_to_imagery_in_degrees(
    data_dir, tmp_path, capsys
):
    """A model trained on 10 m pixels (UTM) mapping imagery in EPSG:4326 does not map on
    10-degree pixels (one pixel of nodata): it is refused, naming both CRSs and the fixes;
    a pixel size given in the imagery's units maps."""
    from s4_core import api

    s2 = _warp_series(data_dir / "S2", tmp_path / "S2_4326", "EPSG:4326")
    ckpt = make_ckpt()
    ckpt["input"] = {"composite_months": 0, "resolution": 10.0, "crs": CRS, "s1_ratio": False}
    model = save_checkpoint(tmp_path / "utm.pt", ckpt)
    out = tmp_path / "out" / "c.tif"
    out.parent.mkdir()
    with pytest.raises(DataError) as info:
        api.segment(model, out, s2=str(s2), device="cpu")
    message = str(info.value)
    assert f"10 metre pixels in {CRS}" in message and "EPSG:4326 (unit: degree)" in message
    assert "UTM zone" in message and "--resolution" in message
    assert list(out.parent.iterdir()) == []
    del ckpt["input"]["crs"]  # a checkpoint from before the CRS was recorded: metres
    save_checkpoint(model, ckpt)
    with pytest.raises(DataError, match="a projected CRS"):
        api.segment(model, out, s2=str(s2), device="cpu")
    with rasterio.open(sorted(s2.iterdir())[0]) as ds:
        res, shape = ds.res[0], ds.shape
    api.segment(model, out, s2=str(s2), device="cpu", resolution=res)
    with rasterio.open(out) as ds:
        assert ds.crs.to_string() == "EPSG:4326" and ds.shape == shape


def test_segment_of_a_scene_cloudy_everywhere_on_every_date_is_refused(
    tiny_demo, demo_model, tmp_path
):
    """Every S2 pixel masked as cloud (SCL 9) on every date: no all-nodata map with exit 0, but
    the refusal fine-tuning gives, and nothing written."""
    from rasters import rewrite_series

    from s4_core import api

    def cloudy(data, names):
        data = data.copy()
        data[names.index("SCL")] = 9
        return data, names

    s2 = rewrite_series(tiny_demo.s2_dir, tmp_path / "S2", cloudy)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataError) as info:
        api.segment(demo_model, out / "c.tif", s2=str(s2), device="cpu",
                    probabilities_out=out / "p.tif")  # fmt: skip
    message = str(info.value)
    assert f"the S2 layers {s2} have no valid pixel" in message, message
    assert "masked as cloud" in message and "no map written" in message
    assert list(out.iterdir()) == []


def test_a_model_applied_to_imagery_without_its_months_warns(tiny_demo, demo_model, tmp_path):
    """A model of March .. October on imagery of August .. October only: the months without an
    acquisition are filled from the nearest ones, which the user is told; the model's own
    imagery (one month, June, without an acquisition, as in training) maps without a word."""
    import shutil
    import warnings

    from s4_core import api
    from s4_core.errors import S4Warning

    late = tmp_path / "S2"
    late.mkdir()
    for path in sorted(tiny_demo.s2_dir.glob("*.tif"))[-3:]:  # 2018-08-08 .. 2018-10-12
        shutil.copy(path, late / path.name)
    with pytest.warns(S4Warning) as caught:
        api.segment(demo_model, tmp_path / "late.tif", s2=str(late), device="cpu")
    (message,) = [str(w.message) for w in caught if "have no acquisition" in str(w.message)]
    assert message.startswith("5 of the model's 8 months (2018-03 .. 2018-07) have no "
                              f"acquisition in the S2 imagery {late}: ")  # fmt: skip
    assert "filled from the nearest ones" in message and "2018-03 .. 2018-10" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", S4Warning)
        api.segment(demo_model, tmp_path / "own.tif", s2=str(tiny_demo.s2_dir), device="cpu")
