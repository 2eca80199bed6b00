"""The S4 QGIS plugin: Processing provider, menu, toolbar (all engine work is in ``s4_core``)."""
