"""Local servers for the STAC tests: a real STAC API (rustac) and a COG file server.

``AssetServer`` is a threaded ``http.server`` on 127.0.0.1 that serves a folder with HTTP Range
requests (what GDAL's /vsicurl/ sends for COG windows), counts the bytes it sends per file and
can misbehave on purpose: answer slowly, fail with a status a number of times, demand a token in
the query string (Planetary-Computer-style signing) or a bearer token (Copernicus-style login).
It also answers the token endpoints those providers have.

``RustacServer`` runs ``rustac serve`` (the PyPI ``rustac`` package, a STAC API server written in
Rust) on a free port with the given collections and items.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Tuple


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler that logs nothing and answers with :meth:`_send`."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype="application/json", extra=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@dataclass
class Fault:
    """How a path misbehaves: ``delay`` seconds before answering and/or ``status`` instead of
    the file, for the first ``times`` requests (then it behaves)."""

    delay: float = 0.0
    status: Optional[int] = None
    times: int = 1
    hits: int = 0


class LocalServer:
    """A server of the tests on 127.0.0.1: its ``url``; ``serve`` runs a threaded HTTP server."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, handler: type, port: int = 0) -> None:
        """Serve ``handler`` on ``port`` (0: a free one) in a daemon thread until ``close``."""
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class AssetServer(LocalServer):
    root: Path
    port: int = 0
    faults: Dict[str, Fault] = field(default_factory=dict)
    sent: Dict[str, int] = field(default_factory=dict)  # path -> bytes of file content sent
    requests: List[str] = field(default_factory=list)
    query_token: Optional[str] = None  # e.g. "sig=abc": required in asset query strings
    bearer: Optional[str] = None  # required "Authorization: Bearer <bearer>" on assets
    login: Optional[tuple] = None  # (user, password) accepted by POST /auth/token
    headers_seen: List[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        server = self

        class Handler(_QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                if self.path.startswith("/auth/token"):
                    from urllib.parse import parse_qs

                    form = {k: v[0] for k, v in parse_qs(body).items()}
                    ok = server.login and (form.get("username"), form.get("password")) == tuple(
                        server.login
                    )
                    if ok and form.get("grant_type") == "password":
                        payload = {"access_token": server.bearer, "expires_in": 600}
                        return self._send(200, json.dumps(payload).encode())
                    return self._send(401, b'{"error": "invalid_grant"}')
                return self._send(404, b"{}")

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                with server.lock:
                    server.requests.append(self.command + " " + path)
                    server.headers_seen.append(dict(self.headers))
                if path.startswith("/token/"):
                    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
                    body = json.dumps({"token": server.query_token, "msft:expiry": expiry})
                    return self._send(200, body.encode())
                fault = server.faults.get(path)
                if fault is not None and fault.hits < fault.times:
                    with server.lock:
                        fault.hits += 1
                    if fault.delay:
                        time.sleep(fault.delay)
                    if fault.status:
                        return self._send(fault.status, b"failing on purpose", "text/plain")
                if server.query_token and not set(server.query_token.split("&")) <= set(
                    query.split("&")
                ):
                    return self._send(403, b"missing or wrong signature", "text/plain")
                if server.bearer and self.headers.get("Authorization") != f"Bearer {server.bearer}":
                    return self._send(401, b"not authorised", "text/plain")
                file = (server.root / path.lstrip("/")).resolve()
                if server.root.resolve() not in file.parents or not file.is_file():
                    return self._send(404, b"not found", "text/plain")
                data = file.read_bytes()
                rng = self.headers.get("Range")
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
                if m:
                    start = int(m.group(1))
                    end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
                    if start >= len(data):
                        return self._send(416, b"", extra={"Content-Range": f"bytes */{len(data)}"})
                    part = data[start : end + 1]
                    extra = {
                        "Content-Range": f"bytes {start}-{end}/{len(data)}",
                        "Accept-Ranges": "bytes",
                    }
                    status = 206
                else:
                    part, extra, status = data, {"Accept-Ranges": "bytes"}, 200
                if self.command == "GET":
                    with server.lock:
                        server.sent[path] = server.sent.get(path, 0) + len(part)
                self._send(status, part, "image/tiff", extra)

        self.serve(Handler, self.port)


def rustac_executable() -> str:
    """The ``rustac`` command of this Python environment (requirements/dev.txt installs it)."""
    exe = Path(sys.executable).with_name("rustac")
    found = str(exe) if exe.is_file() else shutil.which("rustac")
    if not found:
        raise RuntimeError(
            "the rustac STAC server is not installed: pip install rustac (requirements/dev.txt)"
        )
    return found


class RustacServer(LocalServer):
    """``rustac serve`` on 127.0.0.1 with the given collection files and items (ndjson)."""

    def __init__(self, files: List[Path], workdir: Path) -> None:
        self.port = free_port()
        self.log = open(workdir / f"rustac_{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [rustac_executable(), "serve", "--addr", f"127.0.0.1:{self.port}"]
            + [str(f) for f in files],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/collections", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                log = (workdir / f"rustac_{self.port}.log").read_text()
                raise RuntimeError(f"rustac serve did not start: {log[-2000:]}")
            time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


# ------------------------------------------------------------------------------------------
# A catalog of real Flanders data as COGs
# ------------------------------------------------------------------------------------------
#: Sentinel-2 dates used (two clear, two cloudy in the area); 2018-05-09 is split into two
#: overlapping tiles (two items on one day) to exercise the mosaicking.
S2_DATES = ("20180504", "20180509", "20180516", "20180521")
S2_SPLIT_DATE = "20180509"
S1_DATES = ("20180504", "20180509", "20180516")
S2_KEYS = ("blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16",
           "swir22", "scl")  # fmt: skip
#: A large scene (outside May 2018) for the windowed-read test.
LARGE_DATE, LARGE_SIZE, LARGE_OFFSET = "20180615", 512, 224
S2_NAMES = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL")


def _write_cog(path: Path, data, profile: dict) -> None:
    """A tiled GeoTIFF with internal overviews (16 px blocks: tiny files still have tiles)."""
    import rasterio
    from rasterio.enums import Resampling

    path.parent.mkdir(parents=True, exist_ok=True)
    prof = dict(profile)
    for key in ("blockxsize", "blockysize", "tiled", "interleave", "photometric"):
        prof.pop(key, None)
    prof.update(driver="GTiff", count=1, tiled=True, blockxsize=16, blockysize=16,
                compress="deflate", dtype=data.dtype.name)  # fmt: skip
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
        dst.build_overviews([2], Resampling.nearest)


def _lonlat_geometry(crs, bounds):
    from rasterio.warp import transform_bounds

    w, s, e, n = transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21)
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {"type": "Polygon", "coordinates": [ring]}, [w, s, e, n]


def _collection(cid: str, description: str) -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": cid,
        "description": description,
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]},
        },
        "links": [],
    }


def _read_source(path: Path, truth: Dict[str, object], day: str) -> Tuple[object, dict, str]:
    """One image of the real data: its pixels, its profile and its acquisition time; what the
    tests compare with (pixels, transform, CRS) is kept in ``truth[day]``."""
    import rasterio

    with rasterio.open(path) as src:
        data, profile, stamp = src.read(), src.profile, src.tags()["ACQUISITION_DATETIME"]
    truth[day] = {"data": data, "transform": profile["transform"], "crs": profile["crs"]}
    return data, profile, stamp


def build_catalog(flanders: Path, root: Path, asset_url: str) -> Dict[str, object]:
    """Write COG assets (under ``root``) and STAC collections/items (ndjson) from the real
    Flanders data; asset hrefs point at ``asset_url``. Returns what the tests compare with."""
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    items: List[dict] = []
    truth: Dict[str, object] = {"s2": {}, "s1": {}}
    for day in S2_DATES:
        full, profile, stamp = _read_source(flanders / "S2" / f"S2_L2A_{day}.tif", truth["s2"], day)
        crs, transform = profile["crs"], profile["transform"]
        tiles = {"T31UDS": Window(0, 0, full.shape[2], full.shape[1])}
        if day == S2_SPLIT_DATE:  # two overlapping tiles of the same pass
            tiles = {"T31UDS-A": Window(0, 0, 40, 64), "T31UDS-B": Window(24, 0, 40, 64)}
        for tile, win in tiles.items():
            r0, c0, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
            part = full[:, r0 : r0 + h, c0 : c0 + w]
            tf = rasterio.windows.transform(win, transform)
            prof = {**profile, "width": w, "height": h, "transform": tf}
            item_id = f"S2B_{tile}_{day}_0_L2A"
            assets = {}
            for k, (key, name) in enumerate(zip(S2_KEYS, S2_NAMES)):
                rel = f"s2/{day}/{tile}/{key}.tif"
                _write_cog(root / rel, part[k], prof)
                asset = {
                    "href": f"{asset_url}/{rel}",
                    "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                    "roles": ["data"],
                }
                if name != "SCL":
                    asset["eo:bands"] = [{"name": name, "common_name": key}]
                assets[key] = asset
            assets["thumbnail"] = {"href": f"{asset_url}/none.jpg", "type": "image/jpeg",
                                   "roles": ["thumbnail"]}  # fmt: skip
            scl = part[10]
            cloud = float(np.isin(scl, (0, 1, 3, 8, 9, 10)).mean() * 100.0)
            geometry, bbox = _lonlat_geometry(crs, rasterio.transform.array_bounds(h, w, tf))
            items.append({
                "type": "Feature", "stac_version": "1.0.0", "id": item_id,
                "collection": "sentinel-2-l2a", "geometry": geometry, "bbox": bbox,
                "properties": {
                    "datetime": stamp if stamp.endswith("Z") else stamp + "Z",
                    "platform": "sentinel-2b", "eo:cloud_cover": round(cloud, 2),
                    "proj:epsg": int(crs.to_epsg()), "proj:shape": [h, w],
                    "proj:transform": list(tf)[:6], "s2:processing_baseline": "02.06",
                },
                "links": [], "assets": assets,
                "stac_extensions": [
                    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
                ],
            })  # fmt: skip
    # One large scene (LARGE_SIZE px square, the 2018-05-04 data repeated) around the Flanders
    # grid, which sits at LARGE_OFFSET px: fetching the Flanders area reads a small window of it.
    base = truth["s2"][S2_DATES[0]]
    reps = LARGE_SIZE // base["data"].shape[1]
    big = np.tile(base["data"], (1, reps, reps))
    t0 = base["transform"]
    tf = rasterio.Affine(t0.a, 0, t0.c - LARGE_OFFSET * t0.a, 0, t0.e, t0.f - LARGE_OFFSET * t0.e)
    truth["large"] = {"data": big, "transform": tf, "crs": base["crs"], "files": []}
    assets = {}
    for k, (key, name) in enumerate(zip(S2_KEYS, S2_NAMES)):
        rel = f"s2/{LARGE_DATE}/T31UDS/{key}.tif"
        _write_cog(root / rel, big[k], {**profile, "width": LARGE_SIZE, "height": LARGE_SIZE,
                                        "transform": tf})  # fmt: skip
        truth["large"]["files"].append(root / rel)
        assets[key] = {"href": f"{asset_url}/{rel}", "roles": ["data"],
                       "type": "image/tiff; application=geotiff; profile=cloud-optimized"}  # fmt: skip
        if name != "SCL":
            assets[key]["eo:bands"] = [{"name": name, "common_name": key}]
    geometry, bbox = _lonlat_geometry(
        base["crs"], rasterio.transform.array_bounds(LARGE_SIZE, LARGE_SIZE, tf)
    )
    items.append({
        "type": "Feature", "stac_version": "1.0.0", "id": f"S2B_T31UDS_{LARGE_DATE}_0_L2A",
        "collection": "sentinel-2-l2a", "geometry": geometry, "bbox": bbox,
        "properties": {"datetime": f"{LARGE_DATE[:4]}-{LARGE_DATE[4:6]}-{LARGE_DATE[6:]}"
                                   "T10:56:19Z", "platform": "sentinel-2b", "eo:cloud_cover": 0.0,
                       "proj:epsg": int(base["crs"].to_epsg()), "s2:processing_baseline": "02.06"},
        "links": [], "assets": assets,
    })  # fmt: skip
    for day in S1_DATES:
        db, profile, stamp = _read_source(
            flanders / "S1" / f"S1_GRD_ASC_{day}.tif", truth["s1"], day
        )
        crs, transform = profile["crs"], profile["transform"]
        linear = np.where(np.isfinite(db), 10.0 ** (db / 10.0), np.nan).astype(np.float32)
        assets = {}
        for k, key in enumerate(("vv", "vh")):
            rel = f"s1/{day}/{key}.tif"
            _write_cog(root / rel, linear[k], {**profile, "nodata": float("nan")})
            assets[key] = {"href": f"{asset_url}/{rel}", "roles": ["data"],
                           "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                           "sar:polarizations": [key.upper()]}  # fmt: skip
        geometry, bbox = _lonlat_geometry(crs, rasterio.transform.array_bounds(
            db.shape[1], db.shape[2], transform))  # fmt: skip
        items.append({
            "type": "Feature", "stac_version": "1.0.0", "id": f"S1A_IW_GRDH_{day}_rtc",
            "collection": "sentinel-1-rtc", "geometry": geometry, "bbox": bbox,
            "properties": {"datetime": stamp if stamp.endswith("Z") else stamp + "Z",
                           "platform": "sentinel-1a", "sat:orbit_state": "ascending",
                           "sar:polarizations": ["VV", "VH"], "proj:epsg": int(crs.to_epsg())},
            "links": [], "assets": assets,
        })  # fmt: skip
    (root / "stac").mkdir(parents=True, exist_ok=True)
    files = []
    for cid, text in (("sentinel-2-l2a", "Sentinel-2 L2A (Flanders test COGs)"),
                      ("sentinel-1-rtc", "Sentinel-1 RTC (Flanders test COGs)")):  # fmt: skip
        path = root / "stac" / f"{cid}.json"
        path.write_text(json.dumps(_collection(cid, text)))
        files.append(path)
    ndjson = root / "stac" / "items.ndjson"
    ndjson.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    files.append(ndjson)
    truth["files"] = files
    truth["items"] = items
    return truth


class StacFront(LocalServer):
    """A second real STAC API front on 127.0.0.1, in front of ``upstream`` (a RustacServer URL),
    that behaves like servers the client must cope with.

    ``mode``:
    - ``"get-only"``: ``POST /search`` answers ``post_status`` (405 Method Not Allowed, or 501);
      ``GET /search?collections=..&bbox=..&datetime=..&limit=..`` is answered from the
      upstream (asked by POST: rustac 0.9's own GET search refuses these parameters), at most
      ``page_size`` items a page, with ``next`` links that are GET URLs of this server;
    - ``"busy"``: the first ``busy`` requests answer HTTP 503, then it passes everything on;
    - ``"html"``: every request gets a 200 HTML page (a wrong URL: a portal, not an API);
    - ``"no-features"``: searches answer a JSON object without ``features``;
    - ``"no-listing"``: ``/collections`` (the list) answers 500; single collections pass on.

    ``requests`` records ``"METHOD path?query"`` of every request.
    """

    def __init__(
        self,
        upstream: str,
        mode: str,
        *,
        page_size: int = 100,
        post_status: int = 405,
        busy: int = 0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = mode
        self.page_size = page_size
        self.post_status = post_status
        self.busy = busy
        self.requests: List[str] = []
        self.lock = threading.Lock()
        front = self

        class Handler(_QuietHandler):
            def _upstream(self, path: str, body: Optional[bytes] = None) -> tuple:
                req = urllib.request.Request(
                    front.upstream + path,
                    data=body,
                    headers={"Content-Type": "application/json"} if body else {},
                )
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        return resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    return exc.code, exc.read()

            def _handle(self, body: Optional[bytes]) -> None:
                path, _, query = self.path.partition("?")
                with front.lock:
                    front.requests.append(f"{self.command} {self.path}")
                    if front.mode == "busy" and front.busy > 0:
                        front.busy -= 1
                        return self._send(503, b'{"description": "busy, try again"}')
                if front.mode == "html":
                    return self._send(200, b"<html><body>Catalog portal</body></html>", "text/html")
                if path == "/search" and front.mode == "no-features":
                    return self._send(200, b'{"type": "FeatureCollection", "items": []}')
                if path == "/collections" and front.mode == "no-listing":
                    return self._send(500, b'{"description": "listing is broken"}')
                if path == "/search" and front.mode == "get-only":
                    if self.command == "POST":
                        return self._send(front.post_status, b'{"description": "use GET"}')
                    return self._get_search(query)
                status, answer = self._upstream(self.path, body)
                self._send(status, answer)

            def _get_search(self, query: str) -> None:
                from urllib.parse import parse_qs, urlencode

                args = {k: v[0] for k, v in parse_qs(query).items()}
                search: Dict[str, object] = {
                    "limit": min(int(args.get("limit", 10)), front.page_size),
                    "skip": int(args.get("skip", 0)),
                }
                if "collections" in args:
                    search["collections"] = args["collections"].split(",")
                if "bbox" in args:
                    search["bbox"] = [float(v) for v in args["bbox"].split(",")]
                if "datetime" in args:
                    search["datetime"] = args["datetime"]
                status, answer = self._upstream("/search", json.dumps(search).encode())
                if status != 200:
                    return self._send(status, answer)
                page = json.loads(answer)
                links = []
                for link in page.get("links", []):
                    if link.get("rel") == "next":
                        skip = int((link.get("body") or {}).get("skip", 0))
                        link = {
                            "rel": "next",
                            "type": "application/geo+json",
                            "href": f"{front.url}/search?{urlencode({**args, 'skip': skip})}",
                        }
                    links.append(link)
                page["links"] = links
                self._send(200, json.dumps(page).encode(), "application/geo+json")

            def do_GET(self) -> None:  # noqa: N802
                self._handle(None)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._handle(self.rfile.read(length))

        self.serve(Handler)

    def searches(self) -> List[str]:
        """The ``/search`` requests received, in order."""
        return [r for r in self.requests if r.split(" ", 1)[1].startswith("/search")]
