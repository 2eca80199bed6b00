"""S4 engine: QGIS-free reading, alignment, training and inference for Sentinel time series."""

__version__ = "0.1.0"
