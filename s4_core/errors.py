"""Errors a user can meet. Messages name the file or setting at fault and say how to fix it."""

import os
import warnings
from pathlib import Path

from .types import PathLike

#: The fix for an input this user may not read (said after "cannot read FILE: ").
NO_READ_ACCESS = (
    "you have no permission to read it; ask its owner for read access (e.g. chmod a+r), "
    "or copy it to a folder of yours"
)


class S4Warning(UserWarning):
    """Something the user should know about the inputs; the run goes on.

    E.g. a single class, a short series, little S1/S2 overlap. The command line prints it as ``s4
    CMD: warning: ...``, QGIS as a warning line in the algorithm's log.
    """


def warn(message: str, category: type = S4Warning, stacklevel: int = 3) -> None:
    """Warn the user through ``warnings`` (both interfaces collect and show these)."""
    warnings.warn(message, category, stacklevel=stacklevel)


class S4Error(Exception):
    """Base class: a problem with the user's inputs or environment (not a bug)."""


class DataError(S4Error):
    """Unreadable, inconsistent or unsuitable input data (files, dates, bands, grids)."""


def unreadable_pixels(path: PathLike, exc: BaseException, what: str = "") -> DataError:
    """The error for an image whose header opens but whose pixels cannot be read.

    Typically a file cut short by an interrupted download or copy; ``what``: which part
    ("the SCL band of ").
    """
    return DataError(
        f"cannot read {what}{os.fspath(path)}: {str(exc).rstrip('. ')}. The file may be "
        "truncated or damaged: "
        "download or export it again, or move it out of the series folder"
    )


class LabelError(S4Error):
    """Problems with label polygons: missing class field, empty or non-overlapping polygons."""


class NoPolygonOnGrid(LabelError):
    """A readable polygon layer none of whose polygons covers a pixel centre of the grid."""


class CheckpointError(S4Error):
    """A checkpoint that cannot be read or does not fit the data it is applied to."""


class DeviceError(S4Error):
    """A requested compute device that is unavailable or ran out of memory."""


class Cancelled(S4Error):
    """The user cancelled a long-running operation."""


class DistributedError(S4Error):
    """Another process of a distributed run failed, stopped or did not answer in time.

    This one stops too (the other processes' messages say why).
    """


class FetchError(S4Error):
    """A STAC service or an asset that cannot be reached, searched or read (names the URL)."""


class SettingError(DataError):
    """A setting outside its allowed range (names the setting, the range and the value given).

    A ``DataError`` so that callers catching those keep working. ``setting`` is the api name,
    ``flag`` the command-line option; ``for_command_line()`` words the message with it.
    """

    def __init__(
        self, setting: str, rule: str, value: object, *, flag: str = "", cli_rule: str = ""
    ) -> None:
        self.setting, self.rule, self.value = setting, rule, value
        self.flag, self.cli_rule = flag, cli_rule or rule
        super().__init__(f"{setting} must be {rule}, got {value!r}")

    def for_command_line(self) -> str:
        """The message naming the command-line option, e.g. "--epochs must be ..."."""
        return f"{self.flag or self.setting} must be {self.cli_rule}, got {self.value!r}"


class OutputError(S4Error):
    """An output that would overwrite an input or cannot be written.

    The message names the path and the setting; raised before any work, so nothing was written.
    """


def unreadable(path: PathLike) -> bool:
    """Whether ``path`` exists (or may exist) but this user may not read it.

    Args:
        path: a file or folder.

    Returns:
        True for a file without read permission, a folder that cannot be listed and entered,
        or a path behind a folder that cannot be entered; False for a readable path or one
        that does not exist (other checks name that).
    """
    p = Path(os.fspath(path))
    try:
        if p.is_dir():
            return not os.access(p, os.R_OK | os.X_OK)
        return p.exists() and not os.access(p, os.R_OK)
    except PermissionError:  # a folder above it cannot be entered
        return True
    except OSError:
        return False
