"""Errors a user can meet. Messages name the file or setting at fault and say how to fix it."""


class S4Error(Exception):
    """Base class: a problem with the user's inputs or environment (not a bug)."""


class DataError(S4Error):
    """Unreadable, inconsistent or unsuitable input data (files, dates, bands, grids)."""


class LabelError(S4Error):
    """Problems with label polygons: missing class field, empty or non-overlapping polygons."""


class CheckpointError(S4Error):
    """A checkpoint that cannot be read or does not fit the data it is applied to."""


class DeviceError(S4Error):
    """A requested compute device that is unavailable or ran out of memory."""


class Cancelled(S4Error):
    """The user cancelled a long-running operation."""


class FetchError(S4Error):
    """A STAC service or an asset that cannot be reached, searched or read (names the URL)."""
