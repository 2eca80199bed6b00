"""Dialogs of the S4 plugin: engine dependencies (install with pip) and diagnostics."""
