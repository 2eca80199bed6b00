"""Translations of the plugin's user-visible strings (issue 16 part 4).

``tr(text)`` translates through ``QCoreApplication.translate``; with no translator installed
it returns ``text`` unchanged, so English is the source language. ``tr_noop(text)`` only marks
a literal for extraction (class attributes such as an algorithm's DISPLAY_NAME, translated
later, when shown, by ``tr(self.DISPLAY_NAME)``).

Context: ``pylupdate5`` files a bare ``tr("...")`` call (not ``self.tr``) under the context
``@default``, so the plugin translates in that context: ``make i18n`` then refreshes
the ``s4_<lang>.ts`` files without any post-processing.
``install_translator()`` loads ``s4_qgis/i18n/s4_<lang>.qm`` for QGIS's locale (QgsSettings
``locale/userLocale``, first two letters); a missing file means English, never an error.
"""

from __future__ import annotations

import os
from typing import Optional

from qgis.PyQt.QtCore import QCoreApplication, QTranslator

CONTEXT = "@default"
I18N_DIR = os.path.join(os.path.dirname(__file__), "i18n")

_translator: Optional[QTranslator] = None


def tr(text: str) -> str:
    """``text`` in the user's language (unchanged when no translation is loaded)."""
    return QCoreApplication.translate(CONTEXT, text)


def tr_noop(text: str) -> str:
    """Mark ``text`` for ``make i18n`` without translating it now (translate it when shown)."""
    return text


def qgis_language() -> str:
    """The two-letter language of QGIS's user interface ("en" when none is set)."""
    try:
        from qgis.core import QgsSettings

        locale = QgsSettings().value("locale/userLocale", "") or ""
    except Exception:  # noqa: BLE001 - settings unreadable: English
        locale = ""
    if not isinstance(locale, str) or len(locale) < 2:
        from qgis.PyQt.QtCore import QLocale

        locale = QLocale.system().name() or "en"
    return locale[:2].lower()


def qm_path(language: str) -> str:
    """The path of the compiled translation for ``language`` (may not exist)."""
    return os.path.join(I18N_DIR, f"s4_{language}.qm")


def install_translator(language: Optional[str] = None) -> Optional[str]:
    """Install the plugin's translator for ``language`` (default: QGIS's).

    Returns the .qm loaded, or None (no file for that language, or English). Replaces an earlier
    one.
    """
    global _translator
    remove_translator()
    language = (language or qgis_language())[:2].lower()
    path = qm_path(language)
    if language == "en" or not os.path.isfile(path):
        return None
    translator = QTranslator()
    if not translator.load(path):
        return None
    QCoreApplication.installTranslator(translator)
    _translator = translator
    return path


def remove_translator() -> None:
    """Uninstall the translator installed by ``install_translator`` (plugin unload)."""
    global _translator
    if _translator is not None:
        QCoreApplication.removeTranslator(_translator)
        _translator = None
