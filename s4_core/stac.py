"""Search STAC APIs and download aligned-ready Sentinel-1 / Sentinel-2 time series for an area.

:func:`fetch_time_series` searches a STAC API (``POST /search``, ``GET`` when POST is refused;
pages followed through ``next`` links) for the items of an area, a date range and collections,
reads only the area's window of each Cloud-Optimised GeoTIFF asset (rasterio / GDAL /vsicurl/
range requests: no full-scene downloads), reprojects it onto one grid (the UTM zone of the
area at 10 m unless told otherwise) and writes the per-date layout ``s4_core.series`` reads::

    OUT/S2/S2_L2A_YYYYMMDD.tif         B02 B03 B04 B05 B06 B07 B08 B8A B11 B12 SCL, uint16 DN,
                                       nodata 0 (reflectance = DN / 10000, pre-2022 convention)
    OUT/S1/S1_<collection>_YYYYMMDD.tif  VV VH backscatter in dB, float32, nodata NaN
    OUT/manifest.json                  request, grid, per date: items, asset URLs, cloud fractions

Same-day items (adjacent tiles, orbit slices) are mosaicked: each pixel comes from the first
item (in time order) that has data there. Sentinel-2 dates are screened first on the scene
cloud cover (``eo:cloud_cover``) and then on the cloud fraction measured from SCL inside the
area; only the SCL window is read for a date that is then dropped. Sentinel-2 digital numbers
of processing baseline 04.00+ (from 2022-01-25) are shifted by -1000 unless the provider
already did it (``earthsearch:boa_offset_applied``) so that a series spanning 2022 is
consistent. Sentinel-1 linear backscatter (gamma0 / sigma0 power) is resampled in linear
power, then converted to dB.

Re-running with the same request resumes: finished dates (files are written to a temporary
name and renamed, so a cut-off download never leaves a file behind) and dates already found
cloudy are skipped. Reads run in parallel threads, with retries and exponential back-off for
transient failures; a service or an asset that still fails raises :class:`FetchError` naming
the URL (signing tokens removed). Credentials (``S4_CDSE_USER`` / ``S4_CDSE_PASSWORD``) are
read from the environment and are never logged or written.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
import math
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from .errors import Cancelled, DataError, FetchError, OutputError
from .grid import Grid, as_crs
from .radiometry import SCL_INVALID
from .settings import FETCH
from .types import Cancel, CrsLike, Log, PathLike, Progress
from .validate import check_outputs

if TYPE_CHECKING:
    from rasterio.crs import CRS

DateLike = Union[str, _dt.date]
"""A date: ``datetime.date``/``datetime`` or ISO text (YYYY-MM-DD...)."""

S2_OUT_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
S1_OUT_BANDS = ("VV", "VH")
SCL = "SCL"
MANIFEST = "manifest.json"
USER_AGENT = "s4-qgis-fetch"

#: STAC ``eo:bands`` common names (and earth-search asset keys) -> Sentinel-2 band names.
COMMON_NAMES = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "cirrus": "B10",
    "swir16": "B11",
    "swir22": "B12",
    "scl": SCL,
}


# ------------------------------------------------------------------------------------------
# Providers
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Provider:
    """A STAC API and how to read its Sentinel assets.

    ``asset_keys``: band -> asset key where the provider's keys are known (other APIs: read
    from the items' keys, ``eo:bands`` names and common names). ``token_url``: Planetary-
    Computer-style signing (``{collection}`` is replaced; the token is appended to asset URLs).
    ``auth_url``: an OpenID password-grant endpoint whose bearer token is sent with asset reads
    (credentials from the environment variables ``user_env`` / ``password_env``).
    ``s1_linear``: S1 assets hold linear power (converted to dB) rather than dB.
    """

    name: str
    url: str
    s2_collection: Optional[str] = None
    s1_collection: Optional[str] = None
    asset_keys: Dict[str, str] = field(default_factory=dict)
    token_url: Optional[str] = None
    auth_url: Optional[str] = None
    auth_client_id: str = "cdse-public"
    user_env: str = "S4_CDSE_USER"
    password_env: str = "S4_CDSE_PASSWORD"
    s1_linear: bool = True
    s1_units: str = "backscatter"
    headers: Dict[str, str] = field(default_factory=dict)


EARTH_SEARCH_KEYS = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}
PC_KEYS = {**{b: b for b in S2_OUT_BANDS}, "SCL": "SCL", "VV": "vv", "VH": "vh"}
CDSE_KEYS = {
    **{b: f"{b}_10m" for b in ("B02", "B03", "B04", "B08")},
    **{b: f"{b}_20m" for b in ("B05", "B06", "B07", "B8A", "B11", "B12")},
    "SCL": "SCL_20m",
}

#: Built-in providers, by the name ``--stac`` / PROVIDER takes.
PRESETS: Dict[str, Provider] = {
    "earth-search": Provider(
        "earth-search",
        "https://earth-search.aws.element84.com/v1",
        s2_collection="sentinel-2-l2a",
        s1_collection=None,  # its Sentinel-1 GRD is in a requester-pays bucket, not COGs
        asset_keys=EARTH_SEARCH_KEYS,
    ),
    "planetary-computer": Provider(
        "planetary-computer",
        "https://planetarycomputer.microsoft.com/api/stac/v1",
        s2_collection="sentinel-2-l2a",
        s1_collection="sentinel-1-rtc",
        asset_keys=PC_KEYS,
        token_url="https://planetarycomputer.microsoft.com/api/sas/v1/token/{collection}",
        s1_units="gamma0 (terrain-corrected)",
    ),
    "cdse": Provider(
        "cdse",
        "https://stac.dataspace.copernicus.eu/v1",
        s2_collection="sentinel-2-l2a",
        s1_collection=None,  # CDSE has GRD (not calibrated backscatter) only
        asset_keys=CDSE_KEYS,
        auth_url=(
            "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/"
            "openid-connect/token"
        ),
    ),
}


def resolve_provider(stac: Union[str, Provider]) -> Provider:
    """A :class:`Provider` from a preset name (:data:`PRESETS`) or any STAC API URL."""
    if isinstance(stac, Provider):
        return stac
    text = str(stac).strip()
    if text in PRESETS:
        return PRESETS[text]
    for preset in PRESETS.values():
        if text.rstrip("/") == preset.url:
            return preset
    if not re.match(r"^https?://", text):
        raise DataError(
            f"unknown STAC provider {text!r}: give one of {', '.join(PRESETS)} or the URL of a "
            "STAC API (https://...)"
        )
    return Provider("custom", text.rstrip("/"))


def public_url(url: str) -> str:
    """``url`` without its query string (signing tokens stay out of messages and outputs)."""
    return url.split("?", 1)[0]


# ------------------------------------------------------------------------------------------
# The area
# ------------------------------------------------------------------------------------------
def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 / UTM zone CRS of a point (EPSG:326xx north, 327xx south)."""
    zone = min(60, max(1, int(math.floor((lon + 180.0) / 6.0)) + 1))
    return as_crs(32600 + zone if lat >= 0 else 32700 + zone)


def vector_bounds(path: PathLike) -> Tuple[Tuple[float, float, float, float], str]:
    """``(bounds, crs_wkt)`` of a vector file's features (e.g. a polygon layer of the area)."""
    import fiona

    try:
        with fiona.open(str(path)) as src:
            west, south, east, north = (float(v) for v in src.bounds)
            crs = src.crs_wkt
    except Exception as exc:
        raise DataError(f"cannot read the area from {path}: {exc}") from exc
    if not crs:
        raise DataError(f"{path} has no CRS; assign one to the layer")
    bounds = (west, south, east, north)
    if not all(math.isfinite(v) for v in bounds) or east <= west:
        raise DataError(f"{path} has no features with a geometry; draw the area first")
    return bounds, crs


#: the largest area one download writes: 20000 x 20000 px (200 x 200 km at 10 m)
MAX_SIDE_PX = 20000
MAX_DOWNLOAD_PX = MAX_SIDE_PX * MAX_SIDE_PX


def _unit(crs: CRS) -> str:
    """The unit of ``crs``'s coordinates for messages: "m", "degrees" or its name."""
    if crs.is_geographic:
        return "degrees"
    name = crs.linear_units or ""
    return "m" if name.lower() in ("metre", "meter", "m") else (name or "CRS units")


def area_grid(
    bbox: Sequence[float],
    bbox_crs: CrsLike = "EPSG:4326",
    *,
    crs: Optional[CrsLike] = None,
    resolution: float = 10.0,
) -> Tuple[Grid, Tuple[float, float, float, float]]:
    """The output grid of an area and the area's lon/lat bounds (for the search).

    ``bbox`` (west south east north, in ``bbox_crs``) is reprojected to ``crs`` (default: the
    UTM zone of the area's centre) and its edges snapped outwards to multiples of
    ``resolution``, so Sentinel-2's 10 m pixels (on 10 m multiples) are kept as they are.
    """
    from rasterio.warp import transform_bounds

    west, south, east, north = (float(v) for v in bbox)
    if not (east > west and north > south):
        raise DataError(f"bbox {tuple(bbox)} is empty: give it as west south east north")
    if resolution is None or not resolution > 0:
        raise DataError(f"resolution must be positive, got {resolution}")
    src = as_crs(bbox_crs)
    lonlat = transform_bounds(src, "EPSG:4326", west, south, east, north, densify_pts=21)
    if not all(math.isfinite(v) for v in lonlat) or not (-90 <= lonlat[1] <= lonlat[3] <= 90):
        raise DataError(f"bbox {tuple(bbox)} in {bbox_crs} is not a place on Earth; check the CRS")
    dst = as_crs(crs) if crs is not None else None
    if dst is None:
        dst = utm_crs((lonlat[0] + lonlat[2]) / 2.0, (lonlat[1] + lonlat[3]) / 2.0)
    left, bottom, right, top = transform_bounds(src, dst, west, south, east, north, densify_pts=21)
    r = float(resolution)
    eps = 1e-6
    left = math.floor(left / r + eps) * r
    bottom = math.floor(bottom / r + eps) * r
    right = math.ceil(right / r - eps) * r
    top = math.ceil(top / r - eps) * r
    grid = Grid.from_bounds(dst, (left, bottom, right, top), r)
    if grid.width * grid.height > MAX_DOWNLOAD_PX:
        unit = _unit(dst)
        size = ""
        if unit == "m":
            size = f" ({grid.width * r / 1000:g} x {grid.height * r / 1000:g} km)"
        raise DataError(
            f"the area is {grid.width} x {grid.height} px of {r:g} {unit}{size} in "
            f"{dst.to_string()}: too large for one download (at most {MAX_DOWNLOAD_PX:,} px, "
            f"e.g. {MAX_SIDE_PX} x {MAX_SIDE_PX}); split it or use a coarser resolution"
        )
    west, south, east, north = transform_bounds(dst, "EPSG:4326", *grid.bounds, densify_pts=21)
    return grid, (float(west), float(south), float(east), float(north))


# ------------------------------------------------------------------------------------------
# HTTP: the STAC API, tokens
# ------------------------------------------------------------------------------------------
#: Server errors that a retry cannot cure (501 Not Implemented, 505 HTTP Version).
_PERMANENT_5XX = (501, 505)


def _retry_after(attempt: int, backoff: float) -> float:
    return backoff * (2**attempt)


class StacClient:
    """A small STAC API client on ``urllib`` (no extra dependency), with retries.

    Transient failures (connection errors, timeouts, HTTP 429 and 5xx but 501 / 505) are
    retried ``retries`` times with exponential back-off (``backoff`` * 2^attempt seconds).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Optional[Dict[str, str]] = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
        cancel: Optional[Cancel] = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.cancel = cancel

    def request(
        self, url: str, body: Optional[dict] = None, *, form: Optional[dict] = None
    ) -> dict:
        """GET ``url`` (or POST ``body`` as JSON / ``form`` urlencoded) and parse the JSON."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        shown = public_url(url)
        for attempt in range(self.retries + 1):
            if self.cancel is not None and self.cancel():
                raise Cancelled("download cancelled")
            req = urllib.request.Request(url, data=data, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # nosec B310
                    raw = resp.read()
                break
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                transient = exc.code == 429 or (exc.code >= 500 and exc.code not in _PERMANENT_5XX)
                if transient and attempt < self.retries:
                    time.sleep(_retry_after(attempt, self.backoff))
                    continue
                raise FetchError(
                    f"the STAC service answered HTTP {exc.code} ({exc.reason}) to {shown}"
                    + (f": {detail}" if detail else "")
                ) from exc
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if attempt < self.retries:
                    time.sleep(_retry_after(attempt, self.backoff))
                    continue
                raise FetchError(
                    f"cannot reach the STAC service at {shown} ({reason}) after "
                    f"{self.retries + 1} attempts; check the URL, the internet connection or "
                    "the proxy settings"
                ) from exc
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise FetchError(
                f"{shown} did not answer JSON (is it a STAC API?): {raw[:200]!r}"
            ) from exc

    # -- STAC endpoints ---------------------------------------------------------------------
    def collection(self, name: str) -> dict:
        """``GET /collections/{name}``.

        An unknown collection is a FetchError listing the known ones.
        """
        try:
            return self.request(f"{self.url}/collections/{urllib.parse.quote(name)}")
        except FetchError as exc:
            if "HTTP 404" not in str(exc):
                raise
            try:
                known = [
                    c.get("id") for c in self.request(f"{self.url}/collections")["collections"]
                ]
            except (FetchError, KeyError, TypeError):
                known = []
            raise FetchError(
                f"the STAC API {self.url} has no collection {name!r}"
                + (f"; it has: {', '.join(str(k) for k in known)}" if known else "")
            ) from None

    def search(
        self,
        collections: Sequence[str],
        bbox: Sequence[float],
        datetime: str,
        *,
        limit: int = 100,
        max_items: int = 20000,
    ) -> Iterator[dict]:
        """Every item matching, following ``next`` links (POST body merges or GET hrefs)."""
        body: Optional[dict] = {
            "collections": list(collections),
            "bbox": [float(v) for v in bbox],
            "datetime": datetime,
            "limit": int(limit),
        }
        url = f"{self.url}/search"
        method = "POST"
        seen = 0
        pages = 0
        while True:
            try:
                page = self.request(url, body if method == "POST" else None)
            except FetchError as exc:
                if method == "POST" and pages == 0 and re.search(r"HTTP (405|501)", str(exc)):
                    method = "GET"
                    url = f"{self.url}/search?" + urllib.parse.urlencode(
                        {
                            "collections": ",".join(collections),
                            "bbox": ",".join(f"{v:.8f}" for v in bbox),
                            "datetime": datetime,
                            "limit": str(limit),
                        }
                    )
                    continue
                raise
            pages += 1
            features = page.get("features")
            if not isinstance(features, list):
                raise FetchError(f"{public_url(url)} answered no 'features': not a STAC search")
            for item in features:
                seen += 1
                yield item
            nxt = next((ln for ln in page.get("links", []) if ln.get("rel") == "next"), None)
            if nxt is None or not features or seen >= max_items:
                return
            url = nxt["href"]
            method = str(nxt.get("method", "GET")).upper()
            if method == "POST":
                extra = nxt.get("body") or {}
                body = {**(body or {}), **extra} if nxt.get("merge") else (extra or body)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(400).decode("utf-8", "replace").strip()
    except Exception:
        return ""
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            text = str(parsed.get("description") or parsed.get("detail") or parsed)
    except ValueError:
        pass
    return text[:300]


class _Signer:
    """Planetary-Computer-style SAS tokens per collection, cached until shortly before expiry."""

    def __init__(self, client: StacClient, token_url: str) -> None:
        self.client = client
        self.token_url = token_url
        self.tokens: Dict[str, Tuple[str, float]] = {}
        self.lock = threading.Lock()

    def sign(self, href: str, collection: str) -> str:
        with self.lock:
            token, expiry = self.tokens.get(collection, ("", 0.0))
            if not token or time.time() > expiry - 300:
                answer = self.client.request(self.token_url.format(collection=collection))
                token = str(answer.get("token") or "")
                if not token:
                    raise FetchError(
                        f"the token service {public_url(self.token_url)} gave no token for "
                        f"{collection}"
                    )
                expiry = _parse_expiry(answer.get("msft:expiry"))
                self.tokens[collection] = (token, expiry)
        return href + ("&" if "?" in href else "?") + token


def _parse_expiry(text: object) -> float:
    try:
        stamp = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return stamp.timestamp()
    except (TypeError, ValueError):
        return time.time() + 600


def _bearer_token(client: StacClient, provider: Provider) -> str:
    user = os.environ.get(provider.user_env)
    password = os.environ.get(provider.password_env)
    if not user or not password:
        raise FetchError(
            f"{provider.name} needs an account: set the environment variables "
            f"{provider.user_env} and {provider.password_env} (they are never written anywhere)"
        )
    try:
        answer = client.request(
            str(provider.auth_url),
            form={
                "grant_type": "password",
                "client_id": provider.auth_client_id,
                "username": user,
                "password": password,
            },
        )
    except FetchError as exc:
        if re.search(r"HTTP 40[01]", str(exc)):
            raise FetchError(
                f"{provider.name} refused the login at {public_url(str(provider.auth_url))}: "
                f"check {provider.user_env} / {provider.password_env}"
            ) from None
        raise
    token = answer.get("access_token")
    if not token:
        raise FetchError(f"the login at {public_url(str(provider.auth_url))} gave no token")
    return str(token)


# ------------------------------------------------------------------------------------------
# Items -> assets
# ------------------------------------------------------------------------------------------
def _band_of_key(key: str) -> Optional[str]:
    k = key.strip()
    low = k.lower()
    if low in COMMON_NAMES:
        return COMMON_NAMES[low]
    if low in ("vv", "vh", "hh", "hv"):
        return low.upper()
    m = re.fullmatch(r"(?i)(B\d{1,2}A?|SCL)(?:_(\d+)m)?", k)
    if m:
        from .series import normalize_band

        return normalize_band(m.group(1))
    return None


def _asset_resolution(key: str, asset: dict) -> float:
    m = re.search(r"_(\d+)m$", key)
    if m:
        return float(m.group(1))
    gsd = asset.get("gsd")
    if gsd is None:
        bands = asset.get("eo:bands") or asset.get("raster:bands") or []
        gsd = next((b.get("spatial_resolution") for b in bands if isinstance(b, dict)), None)
    try:
        return float(gsd) if gsd is not None else 1e9
    except (TypeError, ValueError):
        return 1e9


def band_assets(item: dict, bands: Sequence[str], provider: Provider) -> Dict[str, Tuple[str, str]]:
    """``{band: (asset_key, href)}`` for the wanted ``bands`` of a STAC item.

    The provider's known keys first; else asset keys (``B04``, ``B04_10m``, ``red``, ``vv``),
    then ``eo:bands`` names and common names. Among several assets of a band the finest, and a
    GeoTIFF before a JPEG 2000, is taken. Bands without an asset are left out.
    """
    assets = item.get("assets") or {}
    out: Dict[str, Tuple[str, str]] = {}
    candidates: Dict[str, List[Tuple[Tuple[int, float], str]]] = {}
    for key, asset in assets.items():
        if not isinstance(asset, dict) or not asset.get("href"):
            continue
        roles = set(asset.get("roles") or [])
        if roles & {"thumbnail", "overview", "metadata", "visual"}:
            continue
        media = str(asset.get("type") or "")
        if media and "image" not in media and "octet" not in media:
            continue
        names = set()
        named = _band_of_key(key)
        if named:
            names.add(named)
        eo = asset.get("eo:bands") or []
        if len(eo) == 1 and isinstance(eo[0], dict):
            for prop in ("name", "common_name"):
                if eo[0].get(prop):
                    named = _band_of_key(str(eo[0][prop]))
                    if named:
                        names.add(named)
        pols = asset.get("sar:polarizations") or []
        if len(pols) == 1:
            names.add(str(pols[0]).upper())
        jp2 = (
            "jp2" in media or key.lower().endswith("jp2") or asset["href"].lower().endswith(".jp2")
        )
        for name in names:
            rank = (1 if jp2 else 0, _asset_resolution(key, asset))
            candidates.setdefault(name, []).append((rank, key))
    for band in bands:
        key = provider.asset_keys.get(band)
        if key is None or key not in assets:
            options = sorted(candidates.get(band, []))
            key = options[0][1] if options else None
        if key is not None:
            out[band] = (key, _asset_href(assets[key]))
    return out


def _asset_href(asset: dict) -> str:
    href = str(asset["href"])
    if href.startswith("s3://"):
        alternates = asset.get("alternate") or {}
        for alt in alternates.values():
            if isinstance(alt, dict) and str(alt.get("href", "")).startswith("http"):
                return str(alt["href"])
        return "/vsis3/" + href[len("s3://") :]
    return href


def item_datetime(item: dict) -> str:
    """The item's acquisition time (``datetime``, else ``start_datetime``)."""
    props = item.get("properties") or {}
    stamp = props.get("datetime") or props.get("start_datetime")
    if not stamp:
        raise FetchError(f"STAC item {item.get('id')} has no datetime")
    return str(stamp)


def item_date(item: dict) -> _dt.date:
    """The UTC date of the item's acquisition."""
    stamp = item_datetime(item)
    try:
        return (
            _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            .astimezone(_dt.timezone.utc)
            .date()
        )
    except ValueError:
        return _dt.date.fromisoformat(stamp[:10])


def s2_dn_offset(item: dict) -> int:
    """DN to add to harmonise an S2 L2A item with the pre-2022 convention (0 or -1000)."""
    props = item.get("properties") or {}
    if props.get("earthsearch:boa_offset_applied") is True:
        return 0
    baseline = props.get("s2:processing_baseline")
    try:
        return -1000 if baseline is not None and float(baseline) >= 4.0 else 0
    except (TypeError, ValueError):
        return 0


# ------------------------------------------------------------------------------------------
# Reading windows (rasterio /vsicurl/)
# ------------------------------------------------------------------------------------------
_RANGE_RE = re.compile(r"Downloading (\d+)-(\d+) \((\S+?)\)")


class _ByteCounter(logging.Filter):
    """Adds up the byte ranges GDAL's /vsicurl/ downloads in the fetch's worker threads.

    GDAL's debug messages (``CPL_DEBUG``), which rasterio forwards to the ``rasterio._env``
    logger, name each range. Installed as a filter on that logger, it counts them and lets no
    debug record through unless the logger showed debug records before (no log flood).

    Exact with rasterio 1.3 (QGIS 3.22, GDAL 3.6). rasterio 1.4 (QGIS 3.40, GDAL 3.10) catches
    GDAL's messages during pixel reads in its own error stack and never logs them: only the
    header reads are counted there, so ``bytes_read`` is a lower bound (tests/test_stac.py).
    """

    def __init__(self, passthrough: bool) -> None:
        super().__init__()
        self.passthrough = passthrough
        self.threads: set = set()
        self.total = 0
        self._count_lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            return True
        if threading.get_ident() in self.threads:
            m = _RANGE_RE.search(record.getMessage())
            if m:
                with self._count_lock:
                    self.total += int(m.group(2)) - int(m.group(1)) + 1
        return self.passthrough


@dataclass
class _Reader:
    grid: Grid
    timeout: float
    retries: int
    backoff: float
    headers: Dict[str, str]
    counter: _ByteCounter
    cancel: Optional[Cancel]

    def env(self, href: str) -> dict:
        opts = {
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
            "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.jp2,.JP2",
            "GDAL_HTTP_TIMEOUT": str(max(1, int(math.ceil(self.timeout)))),
            "GDAL_HTTP_CONNECTTIMEOUT": str(max(1, int(math.ceil(self.timeout)))),
            "GDAL_HTTP_MAX_RETRY": "0",  # retries are ours (and counted)
            # GDAL_HTTP_MULTIRANGE stays at GDAL's default (parallel single-range GETs): with
            # SINGLE_GET (one multi-range request) a server without multipart ranges (S3, Azure
            # blobs) answers the whole file: 129 % of the files' bytes in the windowed-read test.
            "GDAL_HTTP_USERAGENT": USER_AGENT,
            "CPL_DEBUG": "ON",  # the range messages the byte counter adds up
            # A failure must not be cached: a retry asks the server again.
            "CPL_VSIL_CURL_NON_CACHED": "/vsicurl/" + public_url(href),
        }
        if self.headers:
            opts["GDAL_HTTP_HEADERS"] = "\r\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return opts

    def read(
        self, href: str, *, resampling: str, dtype: str, nodata: float, label: str
    ) -> np.ndarray:
        """The asset's pixels on the output grid (``nodata`` outside it), retried on failure."""
        import rasterio

        self.counter.threads.add(threading.get_ident())
        shown = public_url(href)
        for attempt in range(self.retries + 1):
            if self.cancel is not None and self.cancel():
                raise Cancelled("download cancelled")
            try:
                with rasterio.Env(**self.env(href)):
                    return self._read_once(href, resampling, dtype, nodata)
            except (rasterio.errors.RasterioError, rasterio.errors.RasterioIOError) as exc:
                text = str(exc)
                permanent = re.search(r"HTTP response code: (40[0-4]|410)", text) or (
                    "does not exist" in text and attempt > 0
                )
                if permanent or attempt >= self.retries:
                    code = re.search(r"HTTP response code: (\d+)", text)
                    why = f"HTTP {code.group(1)}" if code else text.replace(href, shown)
                    raise FetchError(
                        f"cannot read {label} from {shown} ({why})"
                        + ("" if permanent else f" after {attempt + 1} attempts")
                        + "; the service may be down or the item withdrawn: try again later, "
                        "or leave out the dates concerned"
                    ) from None
                time.sleep(_retry_after(attempt, self.backoff))
        raise AssertionError("unreachable")

    def _read_once(self, href: str, resampling: str, dtype: str, nodata: float) -> np.ndarray:
        import rasterio
        from rasterio.vrt import WarpedVRT
        from rasterio.warp import Resampling

        grid = self.grid
        with rasterio.open(href) as src:
            if src.crs is None:
                raise FetchError(f"{public_url(href)} has no CRS")
            # GDAL's warper reads only the source blocks under the output grid.
            with WarpedVRT(
                src,
                crs=grid.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                src_nodata=src.nodata if src.nodata is not None else nodata,
                nodata=nodata,
                dtype=dtype,
                resampling=getattr(Resampling, resampling),
            ) as vrt:
                return vrt.read(1)


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------
def _write_atomic(
    path: Path, data: np.ndarray, grid: Grid, *, nodata: float, bands: Sequence[str], tags: dict
) -> int:
    from .raster_io import write_raster

    path.parent.mkdir(parents=True, exist_ok=True)
    write_raster(
        path, data, grid, nodata=nodata, descriptions=bands, tags=tags, interleave="pixel",
        check=False,
    )  # fmt: skip
    return path.stat().st_size


# ------------------------------------------------------------------------------------------
# The fetch
# ------------------------------------------------------------------------------------------
@dataclass
class _Date:
    sensor: str
    date: _dt.date
    items: List[dict]
    path: Path
    assets: List[Dict[str, Tuple[str, str]]] = field(default_factory=list)
    record: Dict[str, Any] = field(default_factory=dict)


def _datetime_range(start: DateLike, end: DateLike) -> Tuple[_dt.date, _dt.date]:
    def as_date(value: DateLike, what: str) -> _dt.date:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise DataError(f"{what} date {value!r} is not YYYY-MM-DD") from None

    first, last = as_date(start, "start"), as_date(end, "end")
    if last < first:
        raise DataError(f"the end date {last} is before the start date {first}")
    return first, last


def fetch_time_series(
    stac: Union[str, Provider],
    out_dir: PathLike,
    *,
    bbox: Optional[Sequence[float]] = None,
    bbox_crs: CrsLike = "EPSG:4326",
    area: Optional[PathLike] = None,
    start: DateLike,
    end: DateLike,
    s2_collection: Optional[str] = "",
    s1_collection: Optional[str] = "",
    crs: Optional[CrsLike] = None,
    resolution: float = FETCH.default("resolution"),
    max_cloud: Optional[float] = FETCH.default("max_cloud"),
    max_scene_cloud: Optional[float] = FETCH.default("max_scene_cloud"),
    s1_orbit: Optional[str] = FETCH.default("s1_orbit"),
    workers: int = FETCH.default("workers"),
    retries: int = FETCH.default("retries"),
    timeout: float = FETCH.default("timeout"),
    backoff: float = 1.0,
    progress: Optional[Progress] = None,
    cancel: Optional[Cancel] = None,
    log: Optional[Log] = None,
) -> Dict[str, Any]:
    """Download the S2 and/or S1 time series of an area; returns the summary.

    The summary is also in the manifest.

    ``stac``: a preset name (:data:`PRESETS`), a STAC API URL or a :class:`Provider`.
    The area: ``bbox`` (west south east north in ``bbox_crs``) or ``area`` (a vector file whose
    extent is used). ``start`` / ``end``: dates (inclusive). ``s2_collection`` /
    ``s1_collection``: ``""`` for the provider's default, None to skip that sensor. ``crs`` /
    ``resolution``: the output grid (default: the area's UTM zone, 10 m). ``max_cloud``: drop
    S2 dates whose SCL cloud fraction inside the area is above it (0..1). ``max_scene_cloud``:
    skip S2 items whose ``eo:cloud_cover`` (percent, whole scene) is above it before reading
    anything. ``s1_orbit``: ``"ascending"`` / ``"descending"`` keeps that orbit direction only.
    Defaults and ranges: ``settings.FETCH`` (checked here, before any request).
    """
    FETCH.check(
        {
            "max_cloud": max_cloud,
            "max_scene_cloud": max_scene_cloud,
            "resolution": resolution,
            "s1_orbit": s1_orbit,
            "workers": workers,
            "retries": retries,
            "timeout": timeout,
        }
    )
    provider = resolve_provider(stac)
    out = Path(out_dir)
    first, last = _datetime_range(start, end)
    check_outputs({"output folder": out}, folders=("output folder",))  # before any request
    if area is not None:
        bbox, bbox_crs = vector_bounds(area)
    if bbox is None:
        raise DataError("give the area: a bbox (west south east north) or a polygon layer")
    if len(bbox) != 4:
        raise DataError(f"bbox needs 4 numbers (west south east north), got {len(bbox)}")
    grid, lonlat = area_grid(bbox, bbox_crs, crs=crs, resolution=resolution)
    # before any request: a download on another grid, or images of another series there
    manifest_path = out / MANIFEST
    previous = _load_manifest(manifest_path, grid)
    if not previous:
        _refuse_foreign_images(out)
    s2c = provider.s2_collection if s2_collection == "" else s2_collection
    s1c = provider.s1_collection if s1_collection == "" else s1_collection
    if not s2c and not s1c:
        raise DataError(
            f"no collection to download: {provider.name} has no default, give an S2 and/or S1 "
            "collection (e.g. sentinel-2-l2a, sentinel-1-rtc)"
        )
    if max_cloud is not None and not 0.0 <= float(max_cloud) <= 1.0:
        raise DataError(f"max_cloud is a fraction 0..1, got {max_cloud}")
    if s1_orbit is not None and s1_orbit not in ("ascending", "descending"):
        raise DataError(f"s1_orbit must be 'ascending' or 'descending', got {s1_orbit!r}")
    say = log or (lambda _m: None)
    report: Progress = progress or (lambda *_a: None)
    client = StacClient(
        provider.url,
        headers=provider.headers,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        cancel=cancel,
    )
    asset_headers: Dict[str, str] = {}
    if provider.auth_url:
        asset_headers["Authorization"] = "Bearer " + _bearer_token(client, provider)
    signer = _Signer(client, provider.token_url) if provider.token_url else None

    request = {
        "stac": provider.url,
        "provider": provider.name,
        "bbox": [float(v) for v in bbox],
        "bbox_crs": as_crs(bbox_crs).to_string(),
        "bbox_lonlat": list(lonlat),
        "start": first.isoformat(),
        "end": last.isoformat(),
        "s2_collection": s2c,
        "s1_collection": s1c,
        "max_cloud": max_cloud,
        "max_scene_cloud": max_scene_cloud,
        "s1_orbit": s1_orbit,
    }
    datetime = f"{first.isoformat()}T00:00:00Z/{last.isoformat()}T23:59:59Z"
    report(0.0, "searching the STAC catalog", None)

    plans: List[_Date] = []
    searched: Dict[str, int] = {}
    for sensor, collection in (("s2", s2c), ("s1", s1c)):
        if not collection:
            continue
        client.collection(collection)
        items = list(client.search([collection], lonlat, datetime))
        searched[sensor] = len(items)
        if not items:
            _explain_no_items(client, collection, lonlat, datetime, first, last)
        plans.extend(
            _plan(sensor, collection, items, provider, out, max_scene_cloud, s1_orbit, say)
        )
    if not plans:
        raise DataError(
            f"no usable item in {', '.join(c for c in (s2c, s1c) if c)} for the area and dates "
            "(see the messages above); relax the scene cloud cover or the orbit filter"
        )
    created = not out.exists()  # removed again if the run fails before writing a file
    out.mkdir(parents=True, exist_ok=True)
    manifest: Dict[str, Any] = {
        "request": request,
        "grid": grid.to_dict(),
        "s2": dict(previous.get("s2", {})),
        "s1": dict(previous.get("s1", {})),
        "bytes_read": 0,
    }

    rio_logger = logging.getLogger("rasterio._env")
    old_level = rio_logger.level
    counter = _ByteCounter(passthrough=rio_logger.isEnabledFor(logging.DEBUG))
    rio_logger.addFilter(counter)
    rio_logger.setLevel(logging.DEBUG)
    reader = _Reader(grid, timeout, retries, backoff, asset_headers, counter, cancel)
    pool = ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="s4-fetch")
    lock = threading.Lock()

    def save_manifest() -> None:
        manifest["bytes_read"] = counter.total
        tmp = manifest_path.with_name(MANIFEST + ".part")
        tmp.write_text(json.dumps(manifest, indent=1, default=str))
        os.replace(tmp, manifest_path)

    def href_for(item: dict, href: str) -> str:
        return signer.sign(href, str(item.get("collection") or s2c or s1c)) if signer else href

    def read_band(
        item: dict, href: str, band: str, resampling: str, dtype: str, nodata: float
    ) -> np.ndarray:
        return reader.read(
            href_for(item, href),
            resampling=resampling,
            dtype=dtype,
            nodata=nodata,
            label=f"{band} of {item.get('id')}",
        )

    def run_all(jobs: Sequence[Callable[[], Any]]) -> List[Any]:
        futures: List[Future] = [pool.submit(job) for job in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            exc = f.exception() if f.done() else None
            if exc is not None:
                for p in pending:
                    p.cancel()
                wait(pending)
                raise exc
        return [f.result() for f in futures]

    todo: List[_Date] = []
    skipped: List[str] = []
    for plan in plans:
        prev = manifest[plan.sensor].get(plan.date.isoformat())
        if plan.path.is_file():
            skipped.append(plan.date.isoformat())
            continue
        cf = prev.get("cloud_fraction") if prev else None
        if plan.sensor == "s2" and max_cloud is not None and cf is not None and cf > max_cloud:
            manifest["s2"][plan.date.isoformat()] = {**prev, "status": "cloudy"}
            skipped.append(plan.date.isoformat())
            continue
        todo.append(plan)
    if skipped:
        say(f"resuming: {len(skipped)} dates already done or already found cloudy")
    n_s2 = sum(1 for p in todo if p.sensor == "s2")
    total = max(1, 2 * n_s2 + sum(1 for p in todo if p.sensor == "s1"))
    done_units = 0
    written: Dict[str, List[str]] = {"s2": [], "s1": []}

    def step(message: str) -> None:
        nonlocal done_units
        with lock:
            done_units += 1
            fraction = done_units / total
        report(fraction, message, {"MB read": counter.total / 1e6})

    try:
        # -- S2, phase 1: SCL windows of every date -> cloud fraction in the area
        s2_plans = [p for p in todo if p.sensor == "s2"]
        scl_of: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

        def screen(plan: _Date) -> Tuple[np.ndarray, np.ndarray]:
            stack = [
                reader.read(
                    href_for(item, a[SCL][1]),
                    resampling="nearest",
                    dtype="uint16",
                    nodata=0,
                    label=f"SCL of {item.get('id')}",
                )
                for item, a in zip(plan.items, plan.assets)
            ]
            source = np.full(grid.shape, -1, dtype=np.int16)
            scl = np.zeros(grid.shape, dtype=np.uint16)
            for k, arr in enumerate(stack):
                take = (source < 0) & (arr != 0)
                source[take] = k
                scl[take] = arr[take]
            step(f"Sentinel-2 {plan.date} clouds")
            return source, scl

        results = run_all([functools.partial(screen, p) for p in s2_plans])
        kept: List[_Date] = []
        for plan, (source, scl) in zip(s2_plans, results):
            cloud = float(np.isin(scl, SCL_INVALID).mean())
            plan.record["cloud_fraction"] = round(cloud, 6)
            if max_cloud is not None and cloud > max_cloud:
                plan.record["status"] = "cloudy"
                manifest["s2"][plan.date.isoformat()] = plan.record
                say(f"Sentinel-2 {plan.date}: {cloud:.0%} cloudy in the area, skipped")
                step(f"Sentinel-2 {plan.date} skipped (cloudy)")
                continue
            scl_of[id(plan)] = (source, scl)
            kept.append(plan)
        save_manifest()

        # -- S2, phase 2: the bands of the dates kept; S1
        for plan in kept + [p for p in todo if p.sensor == "s1"]:
            if cancel is not None and cancel():
                raise Cancelled("download cancelled")
            if plan.sensor == "s2":
                source, scl = scl_of.pop(id(plan))
                jobs = [
                    functools.partial(read_band, item, a[band][1], band, "nearest", "uint16", 0)
                    for item, a in zip(plan.items, plan.assets)
                    for band in S2_OUT_BANDS
                ]
                arrays = run_all(jobs)
                nb = len(S2_OUT_BANDS)
                data = np.zeros((nb + 1,) + grid.shape, dtype=np.uint16)
                for k, item in enumerate(plan.items):
                    take = source == k
                    offset = s2_dn_offset(item)
                    for b in range(nb):
                        band = arrays[k * nb + b]
                        if offset:
                            vals = band.astype(np.int32)
                            band = np.where(vals > 0, np.clip(vals + offset, 1, 65535), 0)
                        data[b][take] = band[take]
                data[nb] = scl
                data[:, source < 0] = 0
                tags = {
                    "ACQUISITION_DATETIME": item_datetime(plan.items[0]),
                    "SENSOR": "Sentinel-2 L2A",
                    "SCALE": "reflectance = DN / 10000; SCL = scene classification",
                    "STAC_ITEMS": ",".join(str(i.get("id")) for i in plan.items),
                    "STAC_COLLECTION": str(s2c),
                }
                plan.record["dn_offset_applied"] = [s2_dn_offset(i) for i in plan.items]
                size = _write_atomic(
                    plan.path, data, grid, nodata=0, bands=list(S2_OUT_BANDS) + [SCL], tags=tags
                )
            else:
                jobs = [
                    functools.partial(
                        read_band, item, a[band][1], band, "bilinear", "float32", float("nan")
                    )
                    for item, a in zip(plan.items, plan.assets)
                    for band in S1_OUT_BANDS
                ]
                arrays = run_all(jobs)
                data = np.full((2,) + grid.shape, np.nan, dtype=np.float32)
                filled = np.zeros(grid.shape, dtype=bool)
                for k in range(len(plan.items)):
                    vv, vh = arrays[2 * k], arrays[2 * k + 1]
                    ok = np.isfinite(vv) & np.isfinite(vh) & ~filled
                    if provider.s1_linear:
                        ok &= (vv > 0) & (vh > 0)
                    data[0][ok], data[1][ok] = vv[ok], vh[ok]
                    filled |= ok
                if provider.s1_linear:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        data = (10.0 * np.log10(data)).astype(np.float32)
                tags = {
                    "ACQUISITION_DATETIME": item_datetime(plan.items[0]),
                    "SENSOR": f"Sentinel-1 ({s1c})",
                    "UNITS": f"{provider.s1_units}, dB",
                    "STAC_ITEMS": ",".join(str(i.get("id")) for i in plan.items),
                    "STAC_COLLECTION": str(s1c),
                }
                plan.record["valid_fraction"] = round(float(filled.mean()), 6)
                size = _write_atomic(
                    plan.path, data, grid, nodata=float("nan"), bands=list(S1_OUT_BANDS), tags=tags
                )
            plan.record.update(status="written", file=str(plan.path.relative_to(out)), bytes=size)
            manifest[plan.sensor][plan.date.isoformat()] = plan.record
            written[plan.sensor].append(plan.date.isoformat())
            save_manifest()
            step(f"{'Sentinel-2' if plan.sensor == 's2' else 'Sentinel-1'} {plan.date} written")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        rio_logger.removeFilter(counter)
        rio_logger.setLevel(old_level)
        if out.is_dir():
            for part in out.glob("S*/*.part"):
                part.unlink()
            if manifest_path.with_name(MANIFEST + ".part").exists():
                manifest_path.with_name(MANIFEST + ".part").unlink()
            if created:  # a run that failed before writing anything leaves no empty folder
                for folder in (out / "S2", out / "S1", out):
                    if folder.is_dir() and not any(folder.iterdir()):
                        folder.rmdir()
    manifest["bytes_read"] = counter.total
    save_manifest()
    report(1.0, "done", {"MB read": counter.total / 1e6})
    return _summary(manifest, out, written, searched, counter.total)


def _explain_no_items(
    client: StacClient,
    collection: str,
    lonlat: Sequence[float],
    datetime: str,
    first: _dt.date,
    last: _dt.date,
) -> None:
    """Raise a FetchError saying whether the dates or the area found nothing."""
    where = ", ".join(f"{v:.5f}" for v in lonlat)
    world = (-180.0, -90.0, 180.0, 90.0)
    elsewhere = next(iter(client.search([collection], world, datetime, limit=1)), None)
    if elsewhere is not None:
        raise FetchError(
            f"{collection} at {client.url} has items between {first} and {last}, but none "
            f"covers the area (lon/lat {where}); check the bbox and its CRS"
        )
    raise FetchError(
        f"{collection} at {client.url} has no item between {first} and {last} (area lon/lat "
        f"{where}); widen the dates"
    )


def _plan(
    sensor: str,
    collection: str,
    items: List[dict],
    provider: Provider,
    out: Path,
    max_scene_cloud: Optional[float],
    s1_orbit: Optional[str],
    say: Log,
) -> List[_Date]:
    bands = list(S2_OUT_BANDS) + [SCL] if sensor == "s2" else list(S1_OUT_BANDS)
    by_date: Dict[_dt.date, List[Tuple[dict, Dict[str, Tuple[str, str]]]]] = {}
    for item in sorted(items, key=lambda i: (item_datetime(i), str(i.get("id")))):
        props = item.get("properties") or {}
        if sensor == "s2" and max_scene_cloud is not None:
            cc = props.get("eo:cloud_cover")
            if cc is not None and float(cc) > max_scene_cloud:
                continue
        if sensor == "s1" and s1_orbit and props.get("sat:orbit_state") not in (None, s1_orbit):
            continue
        assets = band_assets(item, bands, provider)
        missing = [b for b in bands if b not in assets]
        if missing:
            say(
                f"{collection} item {item.get('id')} has no asset for {', '.join(missing)} "
                f"(assets: {', '.join(sorted(item.get('assets') or {}))}); skipped"
            )
            continue
        by_date.setdefault(item_date(item), []).append((item, assets))
    folder = out / ("S2" if sensor == "s2" else "S1")
    plans = []
    for date in sorted(by_date):
        group = by_date[date]
        name = (
            f"S2_L2A_{date:%Y%m%d}.tif"
            if sensor == "s2"
            else f"S1_{re.sub(r'[^A-Za-z0-9-]+', '-', collection)}_{date:%Y%m%d}.tif"
        )
        record = {
            "items": [str(i.get("id")) for i, _ in group],
            "datetime": [item_datetime(i) for i, _ in group],
            "assets": [{b: public_url(h) for b, (_, h) in a.items()} for _, a in group],
        }
        if sensor == "s2":
            record["scene_cloud_cover"] = [
                (i.get("properties") or {}).get("eo:cloud_cover") for i, _ in group
            ]
        plans.append(
            _Date(
                sensor,
                date,
                [i for i, _ in group],
                folder / name,
                assets=[a for _, a in group],
                record=record,
            )
        )
    return plans


def _refuse_foreign_images(out: Path) -> None:
    """``OutputError`` when ``out``'s S2/ or S1/ holds images no earlier fetch there recorded.

    Without a manifest the downloaded dates would join a series of another area or source (a
    demo scene, an earlier export) and every later step would read the two as one.
    """
    from .validate import RASTER_SUFFIXES

    for sensor in ("S2", "S1"):
        folder = out / sensor
        if not folder.is_dir():
            continue
        found = sorted(
            p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES
        )
        if found:
            raise OutputError(
                f"the output folder {out} already holds {len(found)} image(s) in {folder} "
                f"({found[0]}{', ...' if len(found) > 1 else ''}) that no earlier download there "
                f"recorded (no usable {MANIFEST}): the downloaded dates would join that series; "
                "nothing was downloaded; choose an empty or new output folder"
            )


def _load_manifest(path: Path, grid: Grid) -> dict:
    if not path.is_file():
        return {}
    try:
        previous = json.loads(path.read_text())
        old = Grid.from_dict(previous["grid"])
    except (ValueError, KeyError, TypeError, DataError):
        return {}
    if not old.same_as(grid):
        raise DataError(
            f"{path.parent} holds a download on another grid ({old}); the new request is on "
            f"{grid}. Choose an empty output folder for another area, CRS or resolution"
        )
    return previous


def _summary(
    manifest: dict, out: Path, written: Dict[str, List[str]], searched: Dict[str, int], nbytes: int
) -> Dict[str, Any]:
    def dates(sensor: str, status: str) -> List[str]:
        return sorted(d for d, r in manifest[sensor].items() if r.get("status") == status)

    folders = {s: out / ("S2" if s == "s2" else "S1") for s in ("s2", "s1")}
    return {
        "out": str(out),
        "manifest": str(out / MANIFEST),
        "grid": manifest["grid"],
        "s2_dir": str(folders["s2"]) if dates("s2", "written") else None,
        "s1_dir": str(folders["s1"]) if dates("s1", "written") else None,
        "s2_dates": dates("s2", "written"),
        "s1_dates": dates("s1", "written"),
        "s2_cloudy_dates": dates("s2", "cloudy"),
        "cloud_fractions": {
            d: r.get("cloud_fraction")
            for d, r in sorted(manifest["s2"].items())
            if r.get("cloud_fraction") is not None
        },
        "written_now": {k: sorted(v) for k, v in written.items()},
        "items_found": searched,
        "bytes_read": int(nbytes),
    }


def describe_presets() -> List[Dict[str, Any]]:
    """The built-in providers as JSON-friendly dicts (for help texts and docs)."""
    return [
        {
            "name": p.name,
            "url": p.url,
            "s2_collection": p.s2_collection,
            "s1_collection": p.s1_collection,
            "signing": bool(p.token_url),
            "login": bool(p.auth_url),
        }
        for p in PRESETS.values()
    ]


__all__ = [
    "PRESETS",
    "Provider",
    "StacClient",
    "area_grid",
    "band_assets",
    "describe_presets",
    "fetch_time_series",
    "item_date",
    "public_url",
    "resolve_provider",
    "s2_dn_offset",
    "utm_crs",
    "vector_bounds",
]
