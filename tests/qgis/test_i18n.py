"""Translations (issue 16 part 4): every user-visible string goes through tr(), every
``s4_<lang>.json`` holds the strings of a freshly extracted template (the .ts files are generated
by ``make i18n``, not tracked), and the real Dutch .qm turns the plugin's texts Dutch."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from modules import load_script

pytestmark = pytest.mark.qgis

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "s4_qgis" / "i18n"
# what `make i18n` scans: the plugin, and the engine's settings (labels shown in QGIS)
SOURCES = sorted((ROOT / "s4_qgis").rglob("*.py")) + [ROOT / "s4_core" / "settings.py"]


def _check_i18n():
    return load_script("check_i18n")


def _translations(path: Path) -> dict:
    """source -> translation ("" when not translated yet) of a s4_<lang>.json file."""
    return load_script("translations").read_translations(path)[1]


def _ts_messages(path: Path) -> dict:
    """source -> translation ("" when unfinished) of a .ts file."""
    out = {}
    for message in ET.parse(path).iter("message"):
        translation = message.find("translation")
        finished = translation.get("type") != "unfinished"
        out[message.findtext("source")] = (translation.text or "") if finished else ""
    return out


def _marked_literals() -> set:
    """The literals of every tr("...") / tr_noop("...") call in s4_qgis/ and the settings."""
    found = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("tr", "tr_noop")
            ):
                arg = node.args[0]
                # tr(f"...") cannot be looked up: the template goes first, then .format()
                assert not isinstance(arg, ast.JoinedStr), f"{path}:{node.lineno}: tr(f-string)"
                if isinstance(arg, ast.Constant):  # tr(self.DISPLAY_NAME): marked elsewhere
                    found.add(arg.value)
    return found


@pytest.fixture()
def dutch():
    from s4_qgis.i18n import install_translator, remove_translator

    path = install_translator("nl")
    assert path == str(I18N / "s4_nl.qm")
    yield path
    remove_translator()


def test_every_user_visible_string_of_the_plugin_goes_through_tr():
    assert _check_i18n().scan() == []


def test_the_scan_catches_untranslated_literals():
    source = (
        "from x import tr, tr_noop\n"
        'QPushButton("Run", parent)\n'
        'button.setToolTip(f"Runs {name}")\n'
        'QPushButton(tr("Run"), parent)\n'
        'DISPLAY_NAME = "Segment"\n'
        'HELP = tr_noop("Help")\n'
        'combo.addItems(["cpu", "Whole scene", tr("Layer")])\n'
        'raise QgsProcessingException("EXTENT is empty")\n'
        'self.add_int("EPOCHS", "Epochs", 1, 1, 10)\n'
        'QLabel("S4")\n'
        "label.setText(f\"<span style='color:#b00'>{error}</span>\")\n"
    )
    found = _check_i18n().untranslated(source)
    assert found == [
        (2, "Run"),
        (3, "Runs {}"),
        (5, "Segment"),
        (7, "Whole scene"),
        (8, "EXTENT is empty"),
        (9, "Epochs"),
    ]


def test_the_translations_hold_exactly_the_marked_strings():
    """`make i18n` was run after the last string change (every s4_<lang>.json)."""
    marked = _marked_literals()
    translations = sorted(I18N.glob("s4_*.json"))
    assert translations, "no s4_<lang>.json"
    for path in translations:
        assert set(_translations(path)) == marked, path.name


@pytest.mark.skipif(shutil.which("pylupdate5") is None, reason="pylupdate5 (pyqt5-dev-tools)")
def test_a_fresh_template_matches_the_translations(tmp_path):
    """The template `make i18n` would extract (generated here, not tracked) holds exactly the
    tr()/tr_noop() literals (bare functions: context @default) and the strings of every
    s4_<lang>.json."""
    files = [str(p) for p in SOURCES]
    out = tmp_path / "s4.ts"
    subprocess.run(
        ["pylupdate5", "-noobsolete", "-tr-function", "tr_noop", *files, "-ts", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    contexts = {c.findtext("name") for c in ET.parse(out).iter("context")}
    assert contexts == {"@default"}
    template = set(_ts_messages(out))
    assert template == _marked_literals()
    for path in sorted(I18N.glob("s4_*.json")):
        assert set(_translations(path)) == template, path.name


def test_the_dutch_qm_holds_the_dutch_translations(dutch):
    """The compiled .qm matches s4_nl.json, and the main strings are translated."""
    from qgis.PyQt.QtCore import QCoreApplication

    messages = _translations(I18N / "s4_nl.json")
    translated = {s: t for s, t in messages.items() if t}
    assert len(translated) >= 0.9 * len(messages)
    for source, text in translated.items():
        assert QCoreApplication.translate("@default", source) == text, source


def test_make_i18n_keeps_the_json_in_line_with_the_template_and_takes_linguist_edits(tmp_path):
    """scripts/translations.py: new strings untranslated, removed ones dropped, the .ts it
    generates holds the translations (unfinished where empty), and a translation edited in that
    .ts (Qt Linguist) goes back into the JSON on the next run."""
    script = load_script("translations")
    template = tmp_path / "s4.ts"
    template.write_text(
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1">'
        "<context><name>@default</name>"
        '<message><source>Run</source><translation type="unfinished"/></message>'
        '<message><source>New {path}</source><translation type="unfinished"/></message>'
        "</context></TS>",
        encoding="utf-8",
    )
    folder = tmp_path / "i18n"
    folder.mkdir()
    script.write_translations(folder / "s4_nl.json", "nl_NL", {"Gone": "Weg", "Run": "Start"})
    (ts,) = script.refresh(template, folder)
    assert _translations(folder / "s4_nl.json") == {"Run": "Start", "New {path}": ""}
    assert _ts_messages(ts) == {"Run": "Start", "New {path}": ""}
    assert ET.parse(ts).getroot().get("language") == "nl_NL"
    edited = ts.read_text(encoding="utf-8").replace(
        '<translation type="unfinished" />', "<translation>Nieuw {path}</translation>"
    )
    assert edited != ts.read_text(encoding="utf-8")
    ts.write_text(edited, encoding="utf-8")
    os.utime(ts, (time.time() + 5, time.time() + 5))  # saved after the JSON
    script.refresh(template, folder, new="fr")
    assert _translations(folder / "s4_nl.json") == {"Run": "Start", "New {path}": "Nieuw {path}"}
    assert _translations(folder / "s4_fr.json") == {"Run": "", "New {path}": ""}
    if shutil.which("lrelease"):
        qm = tmp_path / "s4_nl.qm"
        subprocess.run(["lrelease", "-silent", str(ts), "-qm", str(qm)], check=True)
        assert qm.stat().st_size > 0


def test_loading_dutch_makes_algorithms_dutch(dutch):
    from s4_qgis.algorithms.finetune import Finetune
    from s4_qgis.algorithms.pretrain import Pretrain

    alg = Pretrain()
    alg.initAlgorithm({})
    assert alg.displayName() == "S4 voortrainen (zelfgestuurd, S1 + S2)"
    assert alg.group() == "Trainen"
    assert alg.groupId() == "train" and alg.name() == "pretrain"  # ids stay English
    assert alg.parameterDefinition("EPOCHS").description() == "Epochs"
    assert alg.parameterDefinition("CROP_SIZE").description() == "Uitsnedegrootte (pixels)"
    assert alg.parameterDefinition("SENTINEL1").description() == "Sentinel-1-lagen (één per datum)"
    help_text = alg.shortHelpString()
    assert help_text.startswith("Traint een S4-model voor ZONDER labels")
    assert "<b>CROP_SIZE</b>: Uitsnedegrootte (pixels)" in help_text
    fine = Finetune()
    fine.initAlgorithm({})
    assert fine.displayName() == "S4 fijnafstemmen op gelabelde polygonen"
    head = fine.parameterDefinition("HEAD")
    assert head.options()[0].startswith("Pixelkop op het bevroren netwerk")


def test_loading_dutch_makes_the_dock_dutch(dutch, qgis_iface):
    from s4_qgis.dock import S4DockWidget

    dock = S4DockWidget(qgis_iface)
    try:
        tabs = [dock.tabs.tabText(i) for i in range(dock.tabs.count())]
        assert tabs == ["Gegevens", "Trainen", "Segmenteren", "Model", "Profielen", "Curven"]
        assert dock.finetune_button.text() == "Fijnafstemmen"
        assert dock.segment_button.text() == "Segmenteren"
        assert dock.cancel_button.text() == "Annuleren"
        assert dock.status_label.text() == "Klaar"
        assert dock.check_device_button.toolTip() == "Welk apparaat zal de engine gebruiken?"
        assert dock.extent_combo.itemText(2) == "Volledige scène"
    finally:
        dock.cleanup()
        dock.deleteLater()


def test_english_without_a_translation(qgis_iface):
    from qgis.core import QgsSettings

    from s4_qgis import i18n
    from s4_qgis.algorithms.pretrain import Pretrain

    assert i18n.install_translator("xx") is None  # no s4_xx.qm: English, no error
    assert i18n.install_translator("en") is None
    assert Pretrain().displayName() == "S4 pretrain (self-supervised, S1 + S2)"
    settings = QgsSettings()
    old = settings.value("locale/userLocale")
    try:
        settings.setValue("locale/userLocale", "nl_BE")
        assert i18n.qgis_language() == "nl"
        assert i18n.install_translator() == str(I18N / "s4_nl.qm")
        assert Pretrain().displayName().startswith("S4 voortrainen")
        i18n.remove_translator()
        assert Pretrain().displayName().startswith("S4 pretrain")
    finally:
        i18n.remove_translator()
        if old is None:
            settings.remove("locale/userLocale")
        else:
            settings.setValue("locale/userLocale", old)


def test_the_dock_s_model_tab_layer_list_and_messages_are_dutch(dutch, qgis_iface, tmp_path):
    """Texts the dock composes itself: the Model tab's hints and field names, the layer list's
    date and cloud fraction, the label layer that exists already."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject

    from s4_qgis.dock import S4DockWidget, model_info_html
    from s4_qgis.layers import LayerInfo

    dock = S4DockWidget(qgis_iface)
    try:
        assert dock.model_info_view.toPlainText() == "Klik op Info om het model te beschrijven."
        dock.model_edit.setText("")
        assert not dock.refresh_model_info()
        assert dock.model_info_view.toPlainText() == "Geen model geladen."
        info = LayerInfo("s2", None, ["B02", "B03", "B04"], str(tmp_path / "optical.tif"))
        assert dock._item_text(None, info, 0.0) == "geen datum  optical.tif  (0% bewolkt)"
        QgsProject.instance().setCrs(QgsCoordinateReferenceSystem("EPSG:32631"))
        dock.class_names_edit.setText("maïs, aardappelen")
        path = tmp_path / "labels.gpkg"
        path.write_bytes(b"")
        assert dock.new_label_layer(str(path)) is None
        assert dock.last_error == (
            f"{path} bestaat al: kies een nieuwe bestandsnaam voor de labellaag"
        )
    finally:
        dock.cleanup()
        dock.deleteLater()
    text = model_info_html(
        "/m/model.pt",
        {"kind": "finetuned", "modality": "s2", "classes": [{"name": "maïs"}],
         "metrics": {"val_miou": 0.5}, "file_size_bytes": 1234, "epochs_recorded": 3},
    )  # fmt: skip
    for dutch_name in ("soort", "modaliteit", "klassen", "maten", "bestandsgrootte (bytes)",
                       "opgeslagen epochs"):  # fmt: skip
        assert f"<b>{dutch_name}</b>" in text
    for english in ("kind", "modality", "classes", "metrics", "file size", "epochs recorded"):
        assert f"<b>{english}" not in text


def test_the_dependency_dialog_and_the_plugin_s_messages_are_dutch(qgis_app, qgis_iface):
    from qgis.core import Qgis

    from s4_qgis.dialogs.dependencies_dialog import DependenciesDialog
    from s4_qgis.i18n import install_translator, remove_translator
    from s4_qgis.plugin import S4Plugin

    plugin = S4Plugin(qgis_iface)  # installs QGIS's language: Dutch is installed after it
    install_translator("nl")
    try:
        dialog = DependenciesDialog()
        if dialog.nvidia is None:
            expected = "Geen NVIDIA-stuurprogramma gevonden: de CPU-build is de standaard."
            assert dialog.gpu_label.text() == expected
        else:
            assert dialog.gpu_label.text().startswith("NVIDIA-stuurprogramma ")
        dialog.deleteLater()
        bar = qgis_iface.messageBar()
        plugin._installed(False)
        plugin._installed(True)
        assert bar.get_messages(Qgis.MessageLevel.Success)[-2:] == [
            "S4:afhankelijkheden geïnstalleerd: de algoritmen zijn klaar.",
            "S4:afhankelijkheden geïnstalleerd: herstart QGIS om ze te gebruiken.",
        ]
    finally:
        remove_translator()


def test_a_setting_out_of_range_is_told_in_dutch(dutch):
    """The range of a setting is composed of phrases (settings.Setting.describe), each one
    translated: no English inside a Dutch sentence, in QGIS's check and in the engine's error."""
    from qgis.core import QgsProcessingContext

    from s4_core.errors import SettingError
    from s4_core.settings import SETTINGS
    from s4_qgis.algorithms.base import engine_message
    from s4_qgis.algorithms.pretrain import Pretrain
    from s4_qgis.i18n import tr

    alg = Pretrain()
    alg.initAlgorithm({})
    ok, message = alg.checkParameterValues(
        {"SENTINEL2": [], "OUTPUT": "/tmp/p.pt", "EPOCHS": 0}, QgsProcessingContext()
    )
    assert not ok and message == "EPOCHS (Epochs) moet een geheel getal >= 1 zijn, niet 0"
    tile = SETTINGS["tile_size"]
    assert engine_message(SettingError("tile_size", tile.describe(), 8)) == (
        "TILE_SIZE moet een geheel getal >= 16 zijn, niet 8"
    )
    assert engine_message(SettingError("overlap", "smaller than tile_size (32)", 40)) == (
        "OVERLAP moet kleiner dan TILE_SIZE (32) zijn, niet 40"
    )
    assert SETTINGS["widths"].describe() == "at least 2 whole numbers, each >= 1"
    assert SETTINGS["widths"].describe(tr) == "minstens 2 gehele getallen, elk >= 1"
    assert SETTINGS["head"].describe(tr) == "een van pixel, unet"
