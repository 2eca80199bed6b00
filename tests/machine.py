"""What tests need from the machine they run on: a Python that cannot import torch (the
prologue of a probe script run in a fresh interpreter) and a folder no file can be created in."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, Optional

import pytest

# The first lines of a probe run with ``python -c``: a ``sys.meta_path`` finder makes every
# ``import torch`` fail as in a Python where torch is not installed.
HIDE_TORCH = """
import importlib.abc, importlib.util, json, os, sys

class HideTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideTorch())
"""


def unwritable_folder(parent: Optional[Path] = None) -> Path:
    """A folder where no file can be created; the test is skipped where there is none.

    Args:
        parent: for a user (not root), make a read-only folder here; without it, or as root
            (who may write anywhere), a sysfs folder (/sys/fs or /sys).

    Returns:
        The folder.
    """
    if parent is not None and os.geteuid() != 0:
        folder = Path(tempfile.mkdtemp(prefix="s4-locked-", dir=parent))
        folder.chmod(0o555)
        return folder
    for candidate in (Path("/sys/fs"), Path("/sys")):
        try:
            fd, probe = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(probe)
    pytest.skip("no unwritable folder on this machine (root, writable /sys)")


@contextlib.contextmanager
def small_tmpfs(folder: Path, filler: int) -> Iterator[Path]:
    """``folder`` as a 64 KiB tmpfs holding a ``filler`` file of ``filler`` bytes (what is left
    is the free space), unmounted afterwards; the test is skipped where mounting is not allowed
    (not root, no tmpfs)."""
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        (folder / "filler").write_bytes(b"\0" * filler)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
