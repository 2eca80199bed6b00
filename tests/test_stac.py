"""``s4_core.stac``: STAC search and windowed COG downloads against real local servers.

A real STAC API (``rustac serve``) indexes a few dates of the real Flanders data converted to
tiled GeoTIFFs with overviews, served with HTTP Range support by ``tests/stac_server.py``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from s4_core import stac
from s4_core.errors import Cancelled, DataError, FetchError, OutputError
from s4_core.grid import Grid

pytestmark = pytest.mark.realdata

S2C, S1C = "sentinel-2-l2a", "sentinel-1-rtc"
FLANDERS_BOUNDS = (501360.0, 5629040.0, 502000.0, 5629680.0)  # EPSG:32631, the S2 grid
MAY = {"start": "2018-05-01", "end": "2018-05-31"}
QUICK = {"retries": 1, "backoff": 0.05, "timeout": 5.0}


def fetch(catalog, out: Path, **kwargs):
    args = dict(
        bbox=FLANDERS_BOUNDS, bbox_crs="EPSG:32631", s2_collection=S2C, s1_collection=S1C, **MAY
    )
    args.update(QUICK)
    args.update(kwargs)
    return stac.fetch_time_series(catalog.url, out, **args)


def day(iso: str) -> str:
    return iso.replace("-", "")


def leftovers(out: Path) -> list:
    return [p.name for p in out.rglob("*") if p.name.endswith(".part")]


@pytest.fixture(scope="module")
def fetched(stac_catalog, tmp_path_factory):
    """One S2 + S1 fetch of the whole Flanders grid in May 2018 (max cloud 0.5)."""
    out = tmp_path_factory.mktemp("fetched")
    before = sum(stac_catalog.assets.sent.values())
    logs: list = []
    progress: list = []
    result = fetch(
        stac_catalog,
        out,
        max_cloud=0.5,
        log=logs.append,
        progress=lambda f, m, metrics=None: progress.append((f, m)),
    )
    served = sum(stac_catalog.assets.sent.values()) - before
    return {"out": out, "result": result, "served": served, "logs": logs, "progress": progress}


# ------------------------------------------------------------------------------------------
def test_fetch_reproduces_the_source_pixels_where_the_grids_coincide(fetched, stac_catalog):
    res, out = fetched["result"], fetched["out"]
    assert res["s2_dates"] == ["2018-05-04", "2018-05-09"]
    assert res["s2_cloudy_dates"] == ["2018-05-16", "2018-05-21"]
    assert res["s1_dates"] == ["2018-05-04", "2018-05-09", "2018-05-16"]
    assert Grid.from_dict(res["grid"]).same_as(
        Grid("EPSG:32631", rasterio.Affine(10, 0, 501360, 0, -10, 5629680), 64, 64)
    )
    for iso in res["s2_dates"]:
        path = out / "S2" / f"S2_L2A_{day(iso)}.tif"
        with rasterio.open(path) as ds:
            assert ds.descriptions == stac.S2_OUT_BANDS + ("SCL",)
            assert ds.dtypes[0] == "uint16" and ds.nodata == 0
            assert ds.tags()["ACQUISITION_DATETIME"].startswith(iso)
            data = ds.read()
        source = stac_catalog.truth["s2"][day(iso)]["data"]
        np.testing.assert_array_equal(data, source)  # 2018-05-09: a mosaic of two tiles
    for iso in res["s1_dates"]:
        with rasterio.open(out / "S1" / f"S1_{S1C}_{day(iso)}.tif") as ds:
            assert ds.descriptions == ("VV", "VH") and ds.dtypes[0] == "float32"
            assert np.isnan(ds.nodata) and "dB" in ds.tags()["UNITS"]
            db = ds.read()
        valid = np.isfinite(db)
        assert valid.mean() > 0.9
        assert -30 < np.nanmedian(db[0]) < 0  # VV in dB, not linear power


def test_fetched_s1_on_its_own_20m_grid_is_the_source_in_db(stac_catalog, tmp_path):
    res = fetch(stac_catalog, tmp_path, s2_collection=None, resolution=20.0, **MAY)
    assert res["s1_dates"] == ["2018-05-04", "2018-05-09", "2018-05-16"]
    for iso in res["s1_dates"]:
        with rasterio.open(tmp_path / "S1" / f"S1_{S1C}_{day(iso)}.tif") as ds:
            db = ds.read()
        source = stac_catalog.truth["s1"][day(iso)]["data"]
        np.testing.assert_array_equal(np.isnan(db), np.isnan(source))
        np.testing.assert_allclose(db, source, atol=1e-4, equal_nan=True)


def test_manifest_summary_progress_and_bytes(fetched):
    res, out = fetched["result"], fetched["out"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["request"]["s2_collection"] == S2C
    rec = manifest["s2"]["2018-05-09"]
    assert rec["status"] == "written" and len(rec["items"]) == 2
    assert rec["assets"][0]["B04"].endswith("/red.tif")
    assert manifest["s2"]["2018-05-16"] == {**manifest["s2"]["2018-05-16"], "status": "cloudy"}
    assert res["cloud_fractions"]["2018-05-16"] == pytest.approx(1.0)
    assert res["cloud_fractions"]["2018-05-21"] == pytest.approx(0.867, abs=0.01)
    assert res["cloud_fractions"]["2018-05-04"] < 0.01
    assert_client_count(res["bytes_read"], fetched["served"])
    fractions = [f for f, _ in fetched["progress"]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("cloudy in the area" in line for line in fetched["logs"])
    assert not leftovers(out)


def assert_client_count(counted: int, served: int) -> None:
    """The bytes the fetch reports: GDAL's range requests as its debug log names them.

    rasterio 1.3 (QGIS 3.22, GDAL 3.6) passes every GDAL debug message to Python: the count is
    exactly what the server sent. rasterio 1.4 (QGIS 3.40, GDAL 3.10) keeps those of pixel
    reads in its own error stack: only the header reads are seen, a lower bound.
    """
    assert counted > 0
    if rasterio.__version__.startswith("1.3."):
        assert counted == served
    else:
        assert counted <= served


def test_only_the_areas_windows_are_read_from_large_assets(stac_catalog, tmp_path):
    """A 512 x 512 px scene (11 tiled COG assets) and the 64 x 64 px area inside it: the output
    is the scene's window, exactly, and the server (which counts what it sends, whatever GDAL
    version asks) sent a small fraction of each file: no full-file download."""
    from stac_server import LARGE_DATE, LARGE_OFFSET

    large = stac_catalog.truth["large"]
    before = dict(stac_catalog.assets.sent)
    iso = f"{LARGE_DATE[:4]}-{LARGE_DATE[4:6]}-{LARGE_DATE[6:]}"
    res = fetch(stac_catalog, tmp_path, s1_collection=None, start=iso, end=iso)
    assert res["s2_dates"] == [iso]
    with rasterio.open(tmp_path / "S2" / f"S2_L2A_{LARGE_DATE}.tif") as ds:
        window = large["data"][
            :, LARGE_OFFSET : LARGE_OFFSET + 64, LARGE_OFFSET : LARGE_OFFSET + 64
        ]
        np.testing.assert_array_equal(ds.read(), window)
    root = stac_catalog.root / "cogs"
    sizes = {"/" + str(f.relative_to(root)): f.stat().st_size for f in large["files"]}
    sent = {p: stac_catalog.assets.sent.get(p, 0) - before.get(p, 0) for p in sizes}
    assert all(n > 0 for n in sent.values()), sent  # every band was read
    # No file read whole (the SCL file compresses to ~56 KB, a third of it its 16 KiB header) ...
    assert all(sent[p] < 0.5 * sizes[p] for p in sizes), (sent, sizes)
    # 11 headers of 16 KiB + the blocks under the area: 10.6 % (a full download: >= 100 %)
    assert sum(sent.values()) < 0.15 * sum(sizes.values()), (
        sum(sent.values()),
        sum(sizes.values()),
    )
    assert sum(sizes.values()) > 2_000_000  # large enough for the fractions to mean something
    assert_client_count(res["bytes_read"], sum(sent.values()))


def test_fetched_folders_open_as_series_and_align(fetched, tmp_path):
    from s4_core import api
    from s4_core.series import open_series

    out = fetched["out"]
    s2 = open_series(out / "S2")
    s1 = open_series(out / "S1")
    assert s2.sensor == "s2" and s2.band_names == list(stac.S2_OUT_BANDS) and s2.has_scl
    assert [d.isoformat() for d in s2.dates] == fetched["result"]["s2_dates"]
    assert s1.sensor == "s1" and s1.band_names == ["VV", "VH"] and not s1.linear
    assert all(a.date_source == "tag" for a in s1.acquisitions + s2.acquisitions)
    result = api.align(out / "S1", out / "S2", tmp_path / "aligned")
    assert result["summary"]["frames"] == 2
    assert result["summary"]["grid"]["width"] == 64
    assert Path(result["dates_csv"]).is_file()


def test_lonlat_bbox_gets_the_utm_grid_and_exact_pixels(stac_catalog, tmp_path):
    from rasterio.warp import transform_bounds

    inner = (501500.0, 5629200.0, 501850.0, 5629550.0)
    lonlat = transform_bounds("EPSG:32631", "EPSG:4326", *inner)
    res = fetch(
        stac_catalog, tmp_path, bbox=lonlat, bbox_crs="EPSG:4326", s1_collection=None,
        start="2018-05-04", end="2018-05-04",
    )  # fmt: skip
    grid = Grid.from_dict(res["grid"])
    assert grid.crs.to_epsg() == 32631  # the UTM zone of the area
    source = stac_catalog.truth["s2"]["20180504"]
    src_grid = Grid(source["crs"], source["transform"], 64, 64)
    row, col = grid.offset_in(src_grid)  # an integer-pixel window of the source grid
    with rasterio.open(tmp_path / "S2" / "S2_L2A_20180504.tif") as ds:
        data = ds.read()
    np.testing.assert_array_equal(
        data, source["data"][:, row : row + grid.height, col : col + grid.width]
    )


def test_fetch_in_another_crs_aligns_within_half_a_pixel(stac_catalog, tmp_path):
    res = fetch(
        stac_catalog, tmp_path, crs="EPSG:3035", s1_collection=None,
        start="2018-05-04", end="2018-05-04",
    )  # fmt: skip
    grid = Grid.from_dict(res["grid"])
    assert grid.crs.to_epsg() == 3035 and grid.res == (10.0, 10.0)
    with rasterio.open(tmp_path / "S2" / "S2_L2A_20180504.tif") as ds:
        data = ds.read(3)  # B04
    source = stac_catalog.truth["s2"]["20180504"]
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    xs, ys = rasterio.transform.xy(grid.transform, rows.ravel(), cols.ravel())
    sx, sy = rasterio.warp.transform("EPSG:3035", "EPSG:32631", xs, ys)
    srow, scol = rasterio.transform.rowcol(source["transform"], sx, sy)
    srow, scol = np.asarray(srow), np.asarray(scol)
    inside = (srow >= 0) & (srow < 64) & (scol >= 0) & (scol < 64)
    expected = source["data"][2][srow[inside], scol[inside]]
    got = data.ravel()[inside]
    assert inside.sum() > 3000
    # Nearest neighbour: each output pixel holds the source pixel under its centre, i.e. the
    # two grids are registered to within half a pixel (a few centres sit on pixel edges).
    assert (got == expected).mean() > 0.97
    assert (data.ravel()[~inside] == 0).all()


# ------------------------------------------------------------------------------------------
def test_resume_after_an_interrupted_download(stac_catalog, tmp_path):
    written = []

    def cancel() -> bool:
        return len(written) >= 1

    def progress(fraction, message, metrics=None):
        if message.endswith("written"):
            written.append(message)

    with pytest.raises(Cancelled):
        fetch(stac_catalog, tmp_path, max_cloud=0.5, progress=progress, cancel=cancel)
    first = sorted((tmp_path / "S2").glob("*.tif"))
    assert [p.name for p in first] == ["S2_L2A_20180504.tif"]
    assert not leftovers(tmp_path) and not list((tmp_path / "S1").glob("*"))
    stamp = first[0].stat().st_mtime_ns
    requests_before = len(stac_catalog.assets.requests)
    res = fetch(stac_catalog, tmp_path, max_cloud=0.5)
    new = stac_catalog.assets.requests[requests_before:]
    assert res["written_now"]["s2"] == ["2018-05-09"]  # 05-04 done, 05-16/-21 known cloudy
    assert len(res["written_now"]["s1"]) == 3
    assert first[0].stat().st_mtime_ns == stamp
    assert not [r for r in new if "/s2/20180504/" in r or "/s2/20180516/" in r]
    assert res["s2_dates"] == ["2018-05-04", "2018-05-09"]
    # Resuming a finished download reads nothing.
    again = fetch(stac_catalog, tmp_path, max_cloud=0.5)
    assert again["written_now"] == {"s2": [], "s1": []} and again["bytes_read"] == 0


def test_resume_into_a_folder_of_another_grid_is_refused(fetched, stac_catalog, tmp_path):
    shutil.copy(fetched["out"] / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(DataError, match="another grid"):
        fetch(stac_catalog, tmp_path, resolution=20.0)


def test_fetch_into_a_folder_of_another_series_is_refused(stac_catalog, tiny_demo, tmp_path):
    """A demo scene's folder (S2/, S1/ images, no manifest) as --out: refused before any request,
    the folder as it was (was: the downloaded dates joined the demo's series)."""
    scene = tmp_path / "scene ö"
    shutil.copytree(tiny_demo.root, scene)
    before = sorted(str(p.relative_to(scene)) for p in scene.rglob("*"))
    served = sum(stac_catalog.assets.sent.values())
    with pytest.raises(
        OutputError,
        match=r"output folder .*scene ö already holds 8 image\(s\) in .*S2 \(S2_L2A_\d{8}\.tif, "
        r"\.\.\.\) that no earlier download there recorded \(no usable manifest\.json\): the "
        r"downloaded dates would join that series; nothing was downloaded; choose an empty",
    ):
        fetch(stac_catalog, scene)
    assert sorted(str(p.relative_to(scene)) for p in scene.rglob("*")) == before
    assert sum(stac_catalog.assets.sent.values()) == served


def test_slow_asset_times_out_then_the_retry_succeeds(stac_catalog, tmp_path):
    from stac_server import Fault

    path = "/s2/20180504/T31UDS/nir.tif"
    # GDAL asks twice (HEAD, then GET) before giving up: two slow answers need our retry.
    stac_catalog.assets.faults[path] = fault = Fault(delay=2.5, times=2)
    try:
        with pytest.raises(FetchError, match=rf"{path} .*timed out.* after 1 attempts"):
            fetch(
                stac_catalog, tmp_path, s1_collection=None, start="2018-05-04",
                end="2018-05-04", timeout=1.0, retries=0,
            )  # fmt: skip
        assert not leftovers(tmp_path) and not list((tmp_path / "S2").glob("*.tif"))
        fault.hits = 0
        res = fetch(
            stac_catalog, tmp_path, s1_collection=None, start="2018-05-04", end="2018-05-04",
            timeout=1.0, retries=2, backoff=0.05,
        )  # fmt: skip
    finally:
        del stac_catalog.assets.faults[path]
    assert fault.hits == 2
    assert res["s2_dates"] == ["2018-05-04"]
    with rasterio.open(tmp_path / "S2" / "S2_L2A_20180504.tif") as ds:
        np.testing.assert_array_equal(ds.read(7), stac_catalog.truth["s2"]["20180504"]["data"][6])


def test_asset_404_names_the_url_and_leaves_no_partial_file(stac_catalog, tmp_path):
    from stac_server import Fault

    path = "/s2/20180509/T31UDS-B/swir16.tif"
    stac_catalog.assets.faults[path] = Fault(status=404, times=1000)
    try:
        with pytest.raises(FetchError) as info:
            fetch(stac_catalog, tmp_path, s1_collection=None, max_cloud=0.5)
    finally:
        del stac_catalog.assets.faults[path]
    message = str(info.value)
    assert f"{stac_catalog.assets.url}{path}" in message and "HTTP 404" in message
    assert "B11 of S2B_T31UDS-B_20180509_0_L2A" in message
    assert not (tmp_path / "S2" / "S2_L2A_20180509.tif").exists()
    assert not leftovers(tmp_path)


def test_server_down(tmp_path):
    from stac_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(FetchError, match=rf"cannot reach the STAC service at {url}"):
        stac.fetch_time_series(
            url, tmp_path / "out", bbox=(3.0, 50.8, 3.01, 50.81), s2_collection=S2C,
            s1_collection=None, **MAY, **QUICK,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_is_refused_before_any_request(stac_catalog, tmp_path):
    """A folder where nothing can be created: refused (OutputError) before the catalog is
    searched."""
    from machine import unwritable_folder

    locked = unwritable_folder(tmp_path)
    with pytest.raises(OutputError, match=rf"output folder {locked}/s4 cannot be written: the "
                                          rf"folder {locked} is not writable .*choose a writable"):  # fmt: skip
        fetch(stac_catalog, locked / "s4", s1_collection=None)


def test_no_items_unknown_collection_and_bbox_outside(stac_catalog, tmp_path):
    with pytest.raises(FetchError, match="has no item between 2019-01-01 and 2019-02-01"):
        fetch(stac_catalog, tmp_path, start="2019-01-01", end="2019-02-01")
    with pytest.raises(FetchError, match=r"no collection 'sentinel-2-l1c'; it has: .*l2a"):
        fetch(stac_catalog, tmp_path, s2_collection="sentinel-2-l1c")
    with pytest.raises(FetchError, match="none covers the area"):
        fetch(stac_catalog, tmp_path, bbox=(10.0, 45.0, 10.01, 45.01), bbox_crs="EPSG:4326")
    assert not list(tmp_path.iterdir())


def test_planetary_computer_style_signing(stac_catalog, tmp_path):
    server = stac_catalog.assets
    provider = stac.Provider(
        "pc-like", stac_catalog.url, token_url=server.url + "/token/{collection}"
    )
    server.query_token = "sv=2024&sig=SECRET"
    try:
        with pytest.raises(FetchError, match="HTTP 403") as info:
            fetch(stac_catalog, tmp_path / "unsigned", s1_collection=None, **QUICK)
        res = stac.fetch_time_series(
            provider, tmp_path / "signed", bbox=FLANDERS_BOUNDS, bbox_crs="EPSG:32631",
            s2_collection=S2C, s1_collection=S1C, start="2018-05-04", end="2018-05-04",
        )  # fmt: skip
    finally:
        server.query_token = None
    assert "SECRET" not in str(info.value)
    assert res["s2_dates"] == ["2018-05-04"] and res["s1_dates"] == ["2018-05-04"]
    assert any(r.startswith("GET /token/sentinel-2-l2a") for r in server.requests)
    assert any(r.startswith("GET /token/sentinel-1-rtc") for r in server.requests)
    assert "SECRET" not in (tmp_path / "signed" / "manifest.json").read_text()


def test_login_with_credentials_from_the_environment(stac_catalog, tmp_path, monkeypatch, caplog):
    server = stac_catalog.assets
    provider = stac.Provider("cdse-like", stac_catalog.url, auth_url=server.url + "/auth/token")
    kwargs = dict(
        bbox=FLANDERS_BOUNDS, bbox_crs="EPSG:32631", s2_collection=S2C, s1_collection=None,
        start="2018-05-04", end="2018-05-04",
    )  # fmt: skip
    monkeypatch.delenv("S4_CDSE_USER", raising=False)
    monkeypatch.delenv("S4_CDSE_PASSWORD", raising=False)
    with pytest.raises(FetchError, match="S4_CDSE_USER and S4_CDSE_PASSWORD"):
        stac.fetch_time_series(provider, tmp_path / "a", **kwargs)
    server.bearer, server.login = "TOKEN-123", ("ana", "pa55-word")
    try:
        monkeypatch.setenv("S4_CDSE_USER", "ana")
        monkeypatch.setenv("S4_CDSE_PASSWORD", "wrong")
        with pytest.raises(FetchError, match="refused the login"):
            stac.fetch_time_series(provider, tmp_path / "b", **kwargs)
        monkeypatch.setenv("S4_CDSE_PASSWORD", "pa55-word")
        logs: list = []
        res = stac.fetch_time_series(provider, tmp_path / "c", log=logs.append, **kwargs)
    finally:
        server.bearer = server.login = None
    assert res["s2_dates"] == ["2018-05-04"]
    written = "".join(p.read_text(errors="ignore") for p in (tmp_path / "c").rglob("*.json"))
    with rasterio.open(tmp_path / "c" / "S2" / "S2_L2A_20180504.tif") as ds:
        written += json.dumps(ds.tags())
    for secret in ("pa55-word", "TOKEN-123"):
        assert secret not in written + " ".join(logs) + caplog.text
    assert not list((tmp_path / "b").glob("*"))


# ------------------------------------------------------------------------------------------
# Servers that behave differently: a real second HTTP server (tests/stac_server.StacFront) in
# front of the rustac API, no mocks.
@pytest.fixture()
def front(stac_catalog):
    """``front(mode, **options)``: a StacFront on 127.0.0.1 before the catalog's rustac API."""
    from stac_server import StacFront

    servers: list = []

    def make(mode: str, **options):
        server = StacFront(stac_catalog.url, mode, **options)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def test_search_falls_back_to_get_when_post_is_refused(stac_catalog, front, fetched, tmp_path):
    """POST /search answers 405: the fetch searches with GET (query parameters), follows the
    server's GET ``next`` pages (2 items a page) and writes what the POST fetch wrote."""
    api = front("get-only", page_size=2)
    res = fetch(api, tmp_path, max_cloud=0.5)
    assert res["items_found"] == fetched["result"]["items_found"] == {"s2": 5, "s1": 3}
    for key in ("s2_dates", "s1_dates", "cloud_fractions"):
        assert res[key] == fetched["result"][key]
    with rasterio.open(tmp_path / "S2" / "S2_L2A_20180509.tif") as ds:  # a two-tile mosaic
        np.testing.assert_array_equal(ds.read(), stac_catalog.truth["s2"]["20180509"]["data"])
    searches = api.searches()
    assert [r for r in searches if r.startswith("POST")] == ["POST /search"] * 2  # S2, S1
    for collection, pages in ((S2C, 3), (S1C, 2)):  # 5 and 3 items, 2 a page
        gets = [r for r in searches if r.startswith("GET") and f"collections={collection}" in r]
        assert len(gets) == pages, searches
        assert "bbox=" in gets[0] and "datetime=2018-05-01T00" in gets[0]
        assert [("skip=" in r) for r in gets] == [False] + [True] * (pages - 1)


def test_search_falls_back_to_get_on_501_too(stac_catalog, front):
    api = front("get-only", page_size=2, post_status=501)
    lonlat = stac.area_grid(FLANDERS_BOUNDS, "EPSG:32631")[1]
    window = "2018-05-01T00:00:00Z/2018-05-31T23:59:59Z"
    via_get = [i["id"] for i in stac.StacClient(api.url).search([S2C], lonlat, window)]
    via_post = [i["id"] for i in stac.StacClient(stac_catalog.url).search([S2C], lonlat, window)]
    assert via_get == via_post and len(via_post) == 5
    assert api.searches()[0] == "POST /search" and len(api.searches()) == 4  # POST + 3 GET pages


def test_busy_service_is_retried_then_named_with_its_answer(stac_catalog, front, tmp_path):
    """HTTP 503 twice: retried with back-off and the fetch succeeds; with no retry left the
    message names the URL, the status and the server's explanation, and nothing is written."""
    api = front("busy", busy=2)
    one_day = dict(s1_collection=None, start="2018-05-04", end="2018-05-04", backoff=0.01)
    res = fetch(api, tmp_path / "ok", retries=2, **one_day)
    assert res["s2_dates"] == ["2018-05-04"] and api.busy == 0
    assert api.requests[0] == api.requests[1] == api.requests[2]  # the same request, 3 times
    api.busy = 1
    with pytest.raises(FetchError) as info:
        fetch(api, tmp_path / "failed", retries=0, **one_day)
    assert str(info.value) == (
        f"the STAC service answered HTTP 503 (Service Unavailable) to "
        f"{api.url}/collections/{S2C}: busy, try again"
    )
    assert not (tmp_path / "failed").exists()


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("html", r"/collections/sentinel-2-l2a did not answer JSON \(is it a STAC API\?\): "
                 r"b'<html>"),
        ("no-features", r"/search answered no 'features': not a STAC search"),
    ],
)  # fmt: skip
def test_a_server_that_is_not_a_stac_api_is_named(front, tmp_path, mode, expected):
    api = front(mode)
    with pytest.raises(FetchError, match=rf"^http://127\.0\.0\.1:{api.port}{expected}"):
        fetch(api, tmp_path / "out", s1_collection=None, retries=0)
    assert not (tmp_path / "out").exists()


def test_unknown_collection_when_the_listing_fails_too(front, tmp_path):
    api = front("no-listing")
    with pytest.raises(FetchError) as info:
        fetch(api, tmp_path / "out", s2_collection="sentinel-2-l1c", retries=0)
    assert str(info.value) == f"the STAC API {api.url} has no collection 'sentinel-2-l1c'"
    assert not (tmp_path / "out").exists()


def test_token_and_login_services_that_give_no_token(stac_catalog, tmp_path, monkeypatch):
    server = stac_catalog.assets
    kwargs = dict(
        bbox=FLANDERS_BOUNDS, bbox_crs="EPSG:32631", s2_collection=S2C, s1_collection=None,
        start="2018-05-04", end="2018-05-04", retries=0,
    )  # fmt: skip
    signed = stac.Provider(
        "pc-like", stac_catalog.url, token_url=server.url + "/token/{collection}"
    )
    server.query_token = ""  # the token endpoint answers {"token": ""}
    with pytest.raises(FetchError, match=rf"^the token service {server.url}/token/\{{collection\}} "
                                         rf"gave no token for {S2C}$"):  # fmt: skip
        stac.fetch_time_series(signed, tmp_path / "a", **kwargs)
    server.query_token = None
    login = stac.Provider("cdse-like", stac_catalog.url, auth_url=server.url + "/auth/token")
    monkeypatch.setenv("S4_CDSE_USER", "ana")
    monkeypatch.setenv("S4_CDSE_PASSWORD", "pa55-word")
    server.login = ("ana", "pa55-word")  # accepted, but the answer has no access_token
    try:
        with pytest.raises(
            FetchError, match=rf"^the login at {server.url}/auth/token gave no token$"
        ):
            stac.fetch_time_series(login, tmp_path / "b", **kwargs)
    finally:
        server.login = None
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------
def test_band_assets_of_the_providers_naming_schemes():
    def item(assets):
        return {"id": "x", "assets": assets}

    es = {
        k: {"href": f"https://e/{k}.tif", "type": "image/tiff"}
        for k in stac.EARTH_SEARCH_KEYS.values()
    }
    es["red-jp2"] = {"href": "https://e/B04.jp2", "type": "image/jp2",
                     "eo:bands": [{"name": "B04", "common_name": "red"}]}  # fmt: skip
    got = stac.band_assets(item(es), ["B04", "B8A", "SCL"], stac.PRESETS["earth-search"])
    assert got == {"B04": ("red", "https://e/red.tif"), "B8A": ("nir08", "https://e/nir08.tif"),
                   "SCL": ("scl", "https://e/scl.tif")}  # fmt: skip
    # Generic API: keys like CDSE's (B04_10m, B04_20m...), s3 hrefs with an https alternate.
    cdse = {
        "B04_20m": {"href": "https://c/B04_20m.jp2", "type": "image/jp2"},
        "B04_10m": {"href": "s3://eodata/B04_10m.jp2", "type": "image/jp2",
                    "alternate": {"https": {"href": "https://c/B04_10m.jp2"}}},
        "SCL_20m": {"href": "https://c/SCL_20m.jp2", "type": "image/jp2"},
        "visual": {"href": "https://c/TCI.jp2", "roles": ["visual"]},
    }  # fmt: skip
    generic = stac.Provider("custom", "https://x")
    got = stac.band_assets(item(cdse), ["B04", "SCL", "B02"], generic)
    assert got == {"B04": ("B04_10m", "https://c/B04_10m.jp2"),
                   "SCL": ("SCL_20m", "https://c/SCL_20m.jp2")}  # fmt: skip
    # eo:bands only (opaque keys); S1 by key or sar:polarizations.
    opaque = {"a1": {"href": "h1", "eo:bands": [{"name": "B8A"}]},
              "a2": {"href": "h2", "sar:polarizations": ["VH"]}, "vv": {"href": "h3"}}  # fmt: skip
    got = stac.band_assets(item(opaque), ["B8A", "VV", "VH"], generic)
    assert got == {"B8A": ("a1", "h1"), "VV": ("vv", "h3"), "VH": ("a2", "h2")}


def test_presets_urls_and_processing_baseline_offset():
    assert stac.resolve_provider("planetary-computer").token_url.endswith("/token/{collection}")
    assert stac.resolve_provider("https://earth-search.aws.element84.com/v1/").name == (
        "earth-search"
    )
    assert stac.resolve_provider("https://example.org/stac/").url == "https://example.org/stac"
    with pytest.raises(DataError, match="earth-search, planetary-computer, cdse"):
        stac.resolve_provider("copernicus")
    assert stac.public_url("https://a/b.tif?sv=1&sig=2") == "https://a/b.tif"
    props = {"s2:processing_baseline": "05.09"}
    assert stac.s2_dn_offset({"properties": props}) == -1000
    assert stac.s2_dn_offset({"properties": {**props, "earthsearch:boa_offset_applied": True}}) == 0
    assert stac.s2_dn_offset({"properties": {"s2:processing_baseline": "02.06"}}) == 0


def test_area_grid_snaps_to_the_resolution_and_picks_the_utm_zone():
    grid, lonlat = stac.area_grid((501361.0, 5629041.0, 501999.0, 5629679.0), "EPSG:32631")
    assert grid.bounds == FLANDERS_BOUNDS and grid.shape == (64, 64)
    assert lonlat[0] < 3.02 < lonlat[2]
    south, _ = stac.area_grid((36.80, -6.10, 36.81, -6.09), resolution=20)
    assert south.crs.to_epsg() == 32737 and south.res == (20.0, 20.0)
    assert south.transform.c % 20 == 0 and south.transform.f % 20 == 0
    with pytest.raises(DataError, match="empty"):
        stac.area_grid((3.0, 50.0, 2.0, 51.0))


def test_an_area_too_large_to_download_is_given_in_units_with_the_limit():
    with pytest.raises(DataError) as err:
        stac.area_grid((2.0, 50.0, 7.0, 53.0))  # 5 x 3 degrees at 10 m
    assert re.search(
        r"the area is \d+ x \d+ px of 10 m \(\d+(\.\d+)? x \d+(\.\d+)? km\) in EPSG:326\d\d: "
        r"too large for one download \(at most 400,000,000 px, e.g\. 20000 x 20000\); split it "
        r"or use a coarser resolution",
        str(err.value),
    ), str(err.value)
    with pytest.raises(DataError, match=r"px of 0\.0001 degrees in EPSG:4326: too large"):
        stac.area_grid((2.0, 50.0, 5.0, 53.0), crs="EPSG:4326", resolution=0.0001)


# ------------------------------------------------------------------------------------------
def test_cli_fetch_with_a_polygon_layer_as_area_prints_a_json_summary(
    stac_catalog, flanders, tmp_path, capsys
):
    from s4_core.cli import main

    argv = [
        "fetch", "--stac", stac_catalog.url, "--s2-collection", S2C, "--s1-collection", "none",
        "--area", str(flanders / "labels" / "parcels.gpkg"), "--start", "2018-05-01",
        "--end", "2018-05-31", "--max-cloud", "0.5", "--out", str(tmp_path), "--json", "--quiet",
        "--retries", "1",
    ]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["s2_dates"] == ["2018-05-04", "2018-05-09"] and summary["s1_dates"] == []
    assert set(summary["cloud_fractions"]) == {"2018-05-04", "2018-05-09", "2018-05-16",
                                               "2018-05-21"}  # fmt: skip
    assert summary["bytes_read"] > 0
    grid = Grid.from_dict(summary["grid"])
    with __import__("fiona").open(flanders / "labels" / "parcels.gpkg") as layer:
        w, s, e, n = layer.bounds
    left, bottom, right, top = grid.bounds
    assert left <= w < left + 10 and right - 10 < e <= right
    assert bottom <= s < bottom + 10 and top - 10 < n <= top
    # Errors: exit code 2 and the message on stderr, no traceback.
    argv[argv.index("--out") + 1] = str(tmp_path / "other")
    argv[argv.index("--start") + 1] = "2019-01-01"
    argv[argv.index("--end") + 1] = "2019-01-31"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "s4 fetch: error:" in err and "has no item between 2019-01-01" in err
