"""The plugin's translations: ``s4_qgis/i18n/s4_<lang>.json`` -> ``s4_<lang>.ts`` (``make i18n``).

Each language's translations are kept in one tracked JSON file, ``{"language": "nl_NL",
"messages": {English source: translation, ...}}`` ("" = not translated yet), in the order of the
template. ``make i18n`` extracts the template ``s4.ts`` (pylupdate5) and then runs this script,
which for every ``s4_<lang>.json``:

1. takes over the translations of ``s4_<lang>.ts`` if that file is newer than the JSON (a
   translator worked in Qt Linguist on the generated ``.ts``);
2. keeps exactly the template's strings (new ones untranslated, removed ones dropped);
3. writes the JSON back and generates ``s4_<lang>.ts`` (template + translations), which
   ``lrelease`` then compiles to the ``s4_<lang>.qm`` the plugin loads.

The ``.ts`` files are generated (not tracked); the JSON and the ``.qm`` are. Standard library only
(``make i18n`` runs no Python of the virtual environment).

Usage: ``python3 scripts/translations.py TEMPLATE.ts I18N_DIR [--new LANG]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple

PREFIX = "s4_"


def read_ts(path: Path) -> Tuple[str, Dict[str, str]]:
    """The language and ``{source: translation}`` of a .ts file ("" where unfinished)."""
    root = ET.parse(path).getroot()
    messages = {}
    for message in root.iter("message"):
        translation = message.find("translation")
        finished = translation is not None and translation.get("type") != "unfinished"
        text = (translation.text or "") if finished and translation is not None else ""
        messages[message.findtext("source") or ""] = text
    return root.get("language") or "", messages


def read_translations(path: Path) -> Tuple[str, Dict[str, str]]:
    """The language and messages of a ``s4_<lang>.json`` file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return str(data["language"]), {str(k): str(v) for k, v in data["messages"].items()}


def write_translations(path: Path, language: str, messages: Dict[str, str]) -> None:
    """Write a ``s4_<lang>.json`` file (one message a line, in the given order)."""
    text = json.dumps({"language": language, "messages": messages}, ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


def updated(sources: List[str], messages: Dict[str, str], edits: Dict[str, str]) -> Dict[str, str]:
    """The template's ``sources`` with their translations: ``edits`` (non-empty) first."""
    return {s: edits.get(s) or messages.get(s, "") for s in sources}


def write_ts(template: Path, language: str, messages: Dict[str, str], out: Path) -> None:
    """``template`` with ``messages``' translations (unfinished where empty) as ``out``."""
    tree = ET.parse(template)
    root = tree.getroot()
    root.set("language", language)
    for message in root.iter("message"):
        translation = message.find("translation")
        if translation is None:
            translation = ET.SubElement(message, "translation")
        text = messages.get(message.findtext("source") or "", "")
        translation.text = text or None
        translation.attrib.pop("type", None)
        if not text:
            translation.set("type", "unfinished")
    body = ET.tostring(root, encoding="unicode")
    out.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8"
    )


def refresh(template: Path, folder: Path, new: Optional[str] = None) -> List[Path]:
    """Steps 1-3 of the module docstring for every language in ``folder``; the .ts written."""
    _, template_messages = read_ts(template)
    sources = list(template_messages)
    if new:
        start = folder / f"{PREFIX}{new}.json"
        if not start.exists():
            write_translations(start, new, {})
    written = []
    for path in sorted(folder.glob(f"{PREFIX}*.json")):
        language, messages = read_translations(path)
        ts = path.with_suffix(".ts")
        edits: Dict[str, str] = {}
        if ts.exists() and ts.stat().st_mtime > path.stat().st_mtime:
            edits = read_ts(ts)[1]
        messages = updated(sources, messages, edits)
        write_translations(path, language, messages)
        write_ts(template, language, messages, ts)
        written.append(ts)
    return written


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``refresh`` on the command line's template and folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, help="the template .ts (pylupdate5 output)")
    parser.add_argument("folder", type=Path, help="the folder of the s4_<lang>.json files")
    parser.add_argument("--new", help="also start this language (e.g. fr)")
    args = parser.parse_args(argv)
    for ts in refresh(args.template, args.folder, args.new):
        print(ts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
