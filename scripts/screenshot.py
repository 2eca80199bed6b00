"""Screenshot of the real QGIS desktop with the S4 plugin: dock open, a class map loaded.

``make screenshot`` runs this. ``--variant profiles`` instead shows the dock's Profiles tab:
the class profiles of the label layer (one parcel deliberately given a wrong class, so the
outlier list has an entry, selected on the map) -> docs/images/qgis_s4_profiles.png. It packages the plugin, installs it into a fresh profile under a
temporary HOME (QGIS_PLUGINPATH + the "enabled" setting), makes a small demo scene, starts
QGIS under Xvfb with a startup script (``--code``) that drives the dock like an analyst:
label layer -> Fine-tune -> Segment (with polygons), then saves the main window as a PNG and
quits. The engine's packages (torch ...) are taken from this interpreter's site-packages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STARTUP = r"""
import json, os, traceback
from pathlib import Path

from qgis.core import (QgsContrastEnhancement, QgsFeature, QgsMultiBandColorRenderer, QgsProject,
                       QgsRasterLayer, QgsRasterMinMaxOrigin, QgsVectorLayer)
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QApplication
from qgis.utils import iface, plugins

CFG = json.loads(%(config)r)
STATE = {"phase": "start", "ticks": 0}


def log(text):
    with open(CFG["log"], "a") as handle:
        handle.write(text + "\n")


def finish():
    try:
        window = iface.mainWindow()
        QApplication.processEvents()
        ok = window.grab().save(CFG["out"])
        log(f"saved {CFG['out']}: {ok}")
    except Exception:
        log(traceback.format_exc())
    QTimer.singleShot(500, quit_qgis)


def start_phase(phase, task):
    # poll the phase once its dock task started; end the run when it did not
    if task is None:
        log(phase + " did not start: " + str(STATE["dock"].last_error))
        finish()
        return
    STATE["phase"] = phase
    QTimer.singleShot(500, poll)


def quit_qgis():
    # No "save project?" question; hard exit if QGIS still waits on something.
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(5000, lambda: os._exit(0))
    iface.actionExit().trigger()


def add_layers():
    project = QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.addGroup("Sentinel-2 (optical)")
    s2 = sorted(Path(CFG["s2"]).glob("*.tif"))
    for i, path in enumerate(s2):
        layer = QgsRasterLayer(str(path), path.stem, "gdal")
        renderer = QgsMultiBandColorRenderer(layer.dataProvider(), 3, 2, 1)
        layer.setRenderer(renderer)
        layer.setContrastEnhancement(
            QgsContrastEnhancement.StretchToMinimumMaximum, QgsRasterMinMaxOrigin.CumulativeCut
        )
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(i == len(s2) // 2)
    group.setExpanded(False)
    s1_group = root.addGroup("Sentinel-1 (radar)")
    for path in sorted(Path(CFG["s1"]).glob("*.tif")):
        layer = QgsRasterLayer(str(path), path.stem, "gdal")
        project.addMapLayer(layer, False)
        s1_group.addLayer(layer).setItemVisibilityChecked(False)
    s1_group.setExpanded(False)
    project.setCrs(layer.crs())
    extent = QgsRasterLayer(str(s2[0]), "extent", "gdal").extent()
    iface.mapCanvas().setExtent(extent)


def start():
    try:
        add_layers()
        plugin = plugins["s4"]
        dock = plugin.dock
        dock.refresh_layers()
        dock.show()
        dock.raise_()
        from qgis.PyQt.QtWidgets import QDockWidget

        for panel in iface.mainWindow().findChildren(QDockWidget):
            if panel.objectName() in ("Browser", "Browser2"):
                panel.hide()
        iface.mainWindow().resize(CFG["width"], CFG["height"])
        dock.output_dir.setFilePath(CFG["work"])
        dock.device_combo.setCurrentIndex(0)
        dock.epochs_spin.setValue(CFG["epochs"])
        dock.crop_spin.setValue(32)
        dock.extent_combo.setCurrentIndex(2)
        dock.polygons_check.setChecked(True)
        dock.class_names_edit.setText(", ".join(CFG["classes"]))
        labels = dock.new_label_layer(CFG["labels"])
        parcels = QgsVectorLayer(CFG["parcels"], "parcels", "ogr")
        features = []
        for source in parcels.getFeatures():
            feature = QgsFeature(labels.fields())
            feature.setGeometry(source.geometry())
            feature["class_name"] = source[CFG["class_field"]]
            features.append(feature)
        if CFG["variant"] == "profiles":  # one wrong class: the outlier list has an entry
            features[CFG["mislabel"]]["class_name"] = CFG["mislabel_as"]
        labels.addFeatures(features)
        labels.commitChanges()
        dock.modality_combo.setCurrentIndex(0)
        STATE["dock"] = dock
        if CFG["variant"] == "profiles":
            iface.mainWindow().resizeDocks([dock], [760], Qt.Orientation.Horizontal)
            dock.log_view.setMaximumHeight(90)
            start_phase("profiles", dock.start_profiles())
            return
        dock.tabs.setCurrentIndex(1)
        start_phase("finetune", dock.start_finetune())
    except Exception:
        log(traceback.format_exc())
        finish()


def show_profiles(dock):
    if dock.last_error:
        log("profiles failed: " + dock.last_error)
    else:
        outliers = dock.last_result.get("outliers") or []
        log("profiles: " + json.dumps(outliers, default=str))
        labels = QgsProject.instance().mapLayersByName(Path(CFG["labels"]).stem)[0]
        if outliers:
            item = dock.profiles_panel.outlier_list.item(0)
            dock.profiles_panel.outlier_list.setCurrentItem(item)
            dock.zoom_to_polygon(outliers[0]["index"])
        labels.setOpacity(0.5)
        labels.triggerRepaint()
        extent = QgsRasterLayer(str(sorted(Path(CFG["s2"]).glob("*.tif"))[0]), "x", "gdal").extent()
        iface.mapCanvas().setExtent(extent)
        iface.mapCanvas().refresh()


def poll():
    dock = STATE["dock"]
    STATE["ticks"] += 1
    if STATE["ticks"] > CFG["timeout"] * 2:
        log("timed out in phase " + STATE["phase"])
        finish()
        return
    if dock.task is not None:
        QTimer.singleShot(500, poll)
        return
    if STATE["phase"] == "profiles":
        try:
            show_profiles(dock)
        except Exception:
            log(traceback.format_exc())
        STATE["phase"] = "render"
        QTimer.singleShot(4000, finish)
        return
    if STATE["phase"] == "finetune":
        if dock.last_error:
            log("fine-tune failed: " + dock.last_error)
            finish()
            return
        log("fine-tuned: " + json.dumps(dock.last_result.get("metrics"), default=str))
        dock.tabs.setCurrentIndex(2)
        start_phase("segment", dock.start_segment())
        return
    if STATE["phase"] == "segment":
        if dock.last_error:
            log("segment failed: " + dock.last_error)
        else:
            log("segmented: " + dock.last_result["path"])
            tree = QgsProject.instance().layerTreeRoot()
            hidden = dock.output_layers[1:]  # the polygons: the class raster shows the map
            hidden += QgsProject.instance().mapLayersByName(Path(CFG["labels"]).stem)
            for layer in hidden:
                tree.findLayer(layer.id()).setItemVisibilityChecked(False)
            iface.mapCanvas().setExtent(dock.output_layers[0].extent())
            iface.mapCanvas().refresh()
        dock.tabs.setCurrentIndex(3)
        dock.refresh_model_info(quiet=True)
        STATE["phase"] = "render"
        QTimer.singleShot(4000, finish)


QTimer.singleShot(2000, start)
"""


def engine_site_packages() -> list:
    return [p for p in site.getsitepackages() if p.endswith(("site-packages", "dist-packages"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="default: docs/images/...")
    parser.add_argument(
        "--variant",
        choices=["map", "profiles"],
        default="map",
        help="map: fine-tune + segment (qgis_s4.png); profiles: the Profiles tab "
        "(qgis_s4_profiles.png)",
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--size", type=int, default=64, help="demo scene side in pixels")
    parser.add_argument("--timeout", type=int, default=900, help="seconds for the QGIS run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.out is None:
        name = "qgis_s4.png" if args.variant == "map" else "qgis_s4_profiles.png"
        args.out = ROOT / "docs" / "images" / name

    if shutil.which("xvfb-run") is None:
        print("xvfb-run is missing: apt-get install xvfb", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT))
    from package import build

    from s4_core.demo import make_demo_scene

    tmp = Path(tempfile.mkdtemp(prefix="s4_screenshot_"))
    try:
        home, plugins, profiles = tmp / "home", tmp / "plugins", tmp / "profiles"
        for folder in (home, plugins, profiles, tmp / "runtime"):
            folder.mkdir(mode=0o700)
        with zipfile.ZipFile(build(tmp / "s4.zip")) as zf:
            zf.extractall(plugins)
        ini = profiles / "profiles" / "default" / "QGIS" / "QGIS3.ini"
        ini.parent.mkdir(parents=True)
        ini.write_text(
            "[PythonPlugins]\ns4=true\n\n[qgis]\ncheckVersion=false\nshowTips=false\n"
            "\n[core]\nfirst_run=false\n"
        )
        print("making the demo scene …", flush=True)
        scene = make_demo_scene(tmp / "demo", size=args.size, n_s2=12, n_s1=12, seed=0)
        work = tmp / "work"
        work.mkdir()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        log_file = tmp / "startup.log"
        config = {
            "s2": str(scene.s2_dir),
            "s1": str(scene.s1_dir),
            "parcels": str(scene.parcels),
            "class_field": scene.class_field,
            "classes": list(scene.class_names),
            "labels": str(work / "labels.gpkg"),
            "work": str(work),
            "epochs": args.epochs,
            "out": str(args.out.resolve()),
            "log": str(log_file),
            "timeout": args.timeout,
            "width": 1600,
            "height": 1000,
            "variant": args.variant,
            "mislabel": 0,
            "mislabel_as": "",
        }
        if args.variant == "profiles":
            # the parcel to mislabel: the largest of the first class, given the last class
            import fiona

            with fiona.open(scene.parcels) as src:
                feats = [(f["properties"][scene.class_field], f["geometry"]) for f in src]
            first = scene.class_names[0]

            def area(geometry) -> float:
                ring = geometry["coordinates"][0]
                if geometry["type"] == "MultiPolygon":
                    ring = ring[0]
                return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2)

            sizes = [area(g) if c == first else -1.0 for c, g in feats]
            config["mislabel"] = sizes.index(max(sizes))
            config["mislabel_as"] = scene.class_names[-1]
        startup = tmp / "startup.py"
        startup.write_text(STARTUP % {"config": json.dumps(config)})
        env = dict(os.environ)
        for key in ("QT_QPA_PLATFORM", "QGIS_CUSTOM_CONFIG_PATH"):
            env.pop(key, None)
        env.update(
            HOME=str(home),
            QGIS_PLUGINPATH=str(plugins),
            XDG_RUNTIME_DIR=str(tmp / "runtime"),
            PYTHONPATH=":".join(engine_site_packages() + [env.get("PYTHONPATH", "")]).strip(":"),
        )
        command = [
            "xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
            "qgis", "--nologo", "--noversioncheck", "--hide-browser", "--profiles-path", str(profiles),
            "--code", str(startup),
        ]  # fmt: skip
        what = "fine-tune + segment" if args.variant == "map" else "class profiles"
        print(f"running QGIS under Xvfb ({what} in the dock) …", flush=True)
        if args.out.exists():
            args.out.unlink()
        # Own process group: on a timeout QGIS and Xvfb go down with xvfb-run.
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=args.timeout + 120)
        except subprocess.TimeoutExpired:
            print("QGIS did not quit in time: stopping it", file=sys.stderr)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if log_file.exists():
            print(log_file.read_text().rstrip())
        if not args.out.is_file():
            print(f"no screenshot written (work folder: {tmp})", file=sys.stderr)
            args.keep = True
            return 1
        print(f"wrote {args.out}")
        return 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
