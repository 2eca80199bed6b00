"""`make demo`: the whole S4 job on the built-in demo scene, with real figures.

1. write the demo scene (S1 and S2 per-date GeoTIFFs on different dates and grids, parcels);
2. pretrain S4 without labels on S1 + S2;
3. fine-tune on a few polygons per class (S2-only inference), and the same from scratch;
4. segment the whole scene from S2 alone, export polygons to a GeoPackage;
5. evaluate both models against the scene's truth on the parcels NOT used for training.

By default steps 2-5 run through the QGIS Processing algorithms with qgis_process
(``--via engine`` calls the engine directly).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pick_polygons(parcels: Path, field: str, per_class: int, out: Path, seed: int) -> List[int]:
    """Copy ``per_class`` random polygons of each class into ``out``; return their FIDs."""
    import fiona
    import numpy as np

    rng = np.random.default_rng(seed)
    with fiona.open(parcels) as src:
        feats = list(src)
        by_class: Dict[str, list] = {}
        for f in feats:
            by_class.setdefault(f["properties"][field], []).append(f)
        chosen = []
        for name in sorted(by_class):
            group = by_class[name]
            idx = rng.choice(len(group), size=min(per_class, len(group)), replace=False)
            chosen += [group[i] for i in sorted(idx)]
        with fiona.open(
            out, "w", driver="GPKG", crs=src.crs, schema=src.schema, layer="labels"
        ) as dst:
            for f in chosen:
                dst.write(f)
    return [int(f.id) for f in chosen]


def heldout_truth(truth: Path, parcels: Path, used_fids: List[int], out: Path) -> Path:
    """The truth raster with the training parcels masked out (255), for an honest score."""
    import fiona
    import rasterio
    from rasterio.features import geometry_mask

    with rasterio.open(truth) as src:
        data = src.read(1)
        profile = src.profile
        tags = src.tags()
        with fiona.open(parcels) as vec:
            geoms = [f["geometry"] for f in vec if int(f.id) in set(used_fids)]
        if geoms:
            inside = ~geometry_mask(geoms, out_shape=data.shape, transform=src.transform)
            data[inside] = 255
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(**tags)
    return out


class Engine:
    """Runs the steps with ``s4_core.api`` in this process."""

    def __init__(self, device: str, widths: tuple) -> None:
        from s4_core import api

        self.api = api
        self.device = device
        self.widths = widths

    def pretrain(self, scene, out, epochs):
        return self.api.pretrain(
            str(scene.s1_dir), str(scene.s2_dir), out, epochs=epochs, crop_size=32,
            batch_size=2, widths=self.widths, device=self.device, progress=_progress("pretrain"),
        )  # fmt: skip

    def finetune(self, scene, labels, out, init, epochs):
        return self.api.finetune(
            None, str(scene.s2_dir), labels, scene.class_field, out, modality="s2", init=init,
            epochs=epochs, crop_size=32, batch_size=2, widths=self.widths, device=self.device,
            progress=_progress("fine-tune"),
        )  # fmt: skip

    def segment(self, scene, model, out, vector):
        return self.api.segment(
            model, out, s2=str(scene.s2_dir), vector_out=vector, device=self.device,
            progress=_progress("segment"),
        )  # fmt: skip

    def evaluate(self, pred, truth):
        return self.api.evaluate(pred, truth)


QGIS_SETAPI_FILTER = "ignore:setapi() is deprecated:DeprecationWarning"


class QgisProcess:
    """Runs the steps as S4 Processing algorithms through ``qgis_process.bin``."""

    def __init__(self, device: str, widths: tuple, workdir: Path) -> None:
        self.widths = ",".join(str(w) for w in widths)
        self.exe = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")
        self.device = {"auto": 0, "cpu": 1, "cuda": 2}[device]
        plugins = workdir / "plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "package.py"), "--out", str(workdir / "s4.zip")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        zipfile.ZipFile(workdir / "s4.zip").extractall(plugins)
        self.env = dict(os.environ)
        (workdir / "home").mkdir(exist_ok=True)
        runtime = workdir / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        # QGIS's Python gets torch & co. from this environment (`make env`'s venv), the way the
        # plugin's dependency folder provides them in a desktop install.
        pythonpath = [sysconfig.get_paths()["purelib"], self.env.get("PYTHONPATH", "")]
        self.env.update(
            HOME=str(workdir / "home"), QGIS_PLUGINPATH=str(plugins),
            QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime),
            PYTHONPATH=os.pathsep.join(p for p in pythonpath if p),
            # QGIS 3.22's libqgispython calls sip.setapi() before any plugin loads: hide the
            # DeprecationWarning it prints on every call (not S4's; nothing to fix in the plugin)
            PYTHONWARNINGS=QGIS_SETAPI_FILTER,
        )  # fmt: skip
        self._call("plugins", "enable", "s4")

    def _call(self, *args: str) -> str:
        """Run qgis_process; echo the algorithm's log (epochs, losses) as it comes."""
        proc = subprocess.Popen(
            [self.exe, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        )  # fmt: skip
        lines = []
        for line in proc.stdout:
            lines.append(line)
            text = line.strip()
            if text.startswith('"'):  # the JSON result repeats the log at the end
                continue
            if any(k in text for k in ("epoch ", "Epoch ", "saved", "pixels per class")):
                print(f"    {text[:150]}", flush=True)
        output = "".join(lines)
        if proc.wait() != 0:
            raise SystemExit(f"qgis_process {' '.join(args[:3])} failed:\n{output}")
        return output

    def run(self, alg: str, params: Dict[str, object]) -> dict:
        args = ["--json", "run", alg, "--"]
        for key, value in params.items():
            for v in value if isinstance(value, list) else [value]:
                args.append(f"{key}={v}")
        print(f"  qgis_process run {alg}", flush=True)
        out = self._call(*args)
        decoder = json.JSONDecoder()
        for start in [
            i for i, ch in enumerate(out) if ch == "{" and (i == 0 or out[i - 1] == "\n")
        ]:
            try:
                doc, _ = decoder.raw_decode(out[start:])
            except ValueError:
                continue
            if isinstance(doc, dict) and "results" in doc:
                return doc["results"]
        raise SystemExit(f"qgis_process {alg}: no JSON result in its output:\n{out}")

    @staticmethod
    def _files(folder: Path) -> List[str]:
        return [str(p) for p in sorted(folder.glob("*.tif"))]

    def pretrain(self, scene, out, epochs):
        self.run("s4:pretrain", {
            "SENTINEL1": self._files(scene.s1_dir), "SENTINEL2": self._files(scene.s2_dir),
            "EPOCHS": epochs, "CROP_SIZE": 32, "BATCH_SIZE": 2, "DEVICE": self.device,
            "WIDTHS": self.widths, "OUTPUT": out,
        })  # fmt: skip
        return {"path": str(out)}

    def finetune(self, scene, labels, out, init, epochs):
        params = {
            "SENTINEL2": self._files(scene.s2_dir), "LABELS": str(labels),
            "CLASS_FIELD": scene.class_field, "MODALITY": 0, "EPOCHS": epochs,
            "CROP_SIZE": 32, "BATCH_SIZE": 2, "DEVICE": self.device, "WIDTHS": self.widths,
            "OUTPUT": out,
        }  # fmt: skip
        if init:
            params["INIT_MODEL"] = str(init)
        self.run("s4:finetune", params)
        from s4_core import api

        return {"path": str(out), "metrics": api.model_info(out).get("metrics", {})}

    def segment(self, scene, model, out, vector):
        self.run("s4:segment_time_series", {
            "SENTINEL2": self._files(scene.s2_dir), "MODEL": str(model), "DEVICE": self.device,
            "OUTPUT": str(out), "OUTPUT_VECTOR": str(vector),
        })  # fmt: skip
        return {"path": str(out), "vector": str(vector)}

    def evaluate(self, pred, truth):
        res = self.run("s4:evaluate", {"INPUT": str(pred), "REFERENCE": str(truth),
                                       "OUTPUT": "TEMPORARY_OUTPUT"})  # fmt: skip
        from s4_core import api

        full = api.evaluate(pred, truth)
        full.update({k.lower(): v for k, v in res.items() if k in ("OA", "MIOU")})
        return full


def _progress(name: str):
    state = {"last": -1}

    def report(fraction: float, message: str, metrics=None) -> None:
        pct = int(fraction * 100)
        if pct // 10 != state["last"] // 10 or fraction >= 1:
            state["last"] = pct
            extra = ""
            if metrics:
                extra = " " + " ".join(
                    f"{k}={v:.3f}" for k, v in metrics.items() if isinstance(v, float)
                )
            print(f"  [{name} {pct:3d}%] {message}{extra}", flush=True)

    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "demo_out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128, help="scene side in 10 m pixels")
    parser.add_argument("--per-class", type=int, default=3, help="labelled polygons per class")
    parser.add_argument("--pretrain-epochs", type=int, default=6)
    parser.add_argument("--finetune-epochs", type=int, default=15)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--widths", default="16,32,64",
        help="U-Net widths; the paper's reference 32,64,128 is ~4x slower on a CPU",
    )  # fmt: skip
    parser.add_argument("--via", choices=["qgis_process", "engine"], default="qgis_process")
    parser.add_argument("--no-baseline", action="store_true", help="skip the from-scratch model")
    args = parser.parse_args()

    from s4_core.demo import make_demo_scene

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    print(f"1/5 demo scene -> {out / 'scene'}", flush=True)
    scene = make_demo_scene(out / "scene", seed=args.seed, size=args.size, overwrite=True)
    labels = out / "labels_few.gpkg"
    if labels.exists():
        labels.unlink()
    used = pick_polygons(scene.parcels, scene.class_field, args.per_class, labels, args.seed)
    truth = heldout_truth(scene.truth, scene.parcels, used, out / "truth_heldout.tif")
    print(f"    {len(used)} labelled polygons ({args.per_class} per class) in {labels.name}")

    widths = tuple(int(w) for w in args.widths.split(","))
    runner = (
        Engine(args.device, widths)
        if args.via == "engine"
        else QgisProcess(args.device, widths, Path(tempfile.mkdtemp(prefix="s4-demo-qgis-")))
    )
    print(f"2/5 pretraining (self-supervised, S1 + S2) via {args.via}", flush=True)
    pre = out / "pretrained.pt"
    runner.pretrain(scene, pre, args.pretrain_epochs)

    results = {}
    variants = [("s4", pre)] + ([] if args.no_baseline else [("scratch", None)])
    for name, init in variants:
        print(f"3/5 fine-tuning ({name}) on {len(used)} polygons, S2-only inference", flush=True)
        model = out / f"model_{name}.pt"
        runner.finetune(scene, labels, model, init, args.finetune_epochs)
        print(f"4/5 segmenting the scene from S2 ({name})", flush=True)
        seg = runner.segment(
            scene, model, out / f"classes_{name}.tif", out / f"classes_{name}.gpkg"
        )
        print(f"5/5 evaluating ({name}) on held-out parcels", flush=True)
        results[name] = (seg, runner.evaluate(out / f"classes_{name}.tif", truth))

    print("\nS4 demo results (pixels of parcels not used for training)")
    print(f"{'model':10s} {'OA':>6s} {'mIoU':>6s}  per-class IoU")
    for name, (_seg, ev) in results.items():
        per = ", ".join(f"{k} {v:.2f}" for k, v in ev["per_class"].items())
        print(f"{name:10s} {ev['oa']:6.3f} {ev['miou']:6.3f}  {per}")
    print("\noutputs:")
    for name, (seg, _ev) in results.items():
        print(f"  {name}: {seg['path']}  {seg.get('vector')}")
    print(f"  pretrained checkpoint: {pre}")
    print(f"total {time.time() - t0:.0f} s")
    (out / "results.json").write_text(
        json.dumps({k: ev for k, (_s, ev) in results.items()}, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
