"""Helpers shared by the subcommands: tqdm progress, cancel on Ctrl-C, printing results."""

from __future__ import annotations

import json
import sys
from typing import Optional

from tqdm import tqdm


class TqdmProgress:
    """An engine ``progress(fraction, message, metrics)`` callback drawing a tqdm bar."""

    def __init__(self, desc: str, disable: bool = False) -> None:
        self.bar = tqdm(
            total=1000, desc=desc, disable=disable, unit="‰", leave=True, file=sys.stderr
        )

    def __call__(self, fraction: float, message: str, metrics: Optional[dict] = None) -> None:
        self.bar.n = int(round(1000 * min(1.0, max(0.0, fraction))))
        post = {k: f"{v:.4g}" for k, v in (metrics or {}).items() if isinstance(v, (int, float))}
        self.bar.set_description_str(message[:60])
        self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def log(self, message: str) -> None:
        """Print a message above the bar, on stderr (stdout stays clean for ``--json``)."""
        self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def add_common_training_args(p, *, epochs: int, crop_size: int = 32, batch_size: int = 2) -> None:
    """Options shared by ``pretrain`` and ``finetune`` (defaults sized for a 2-core laptop)."""
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--crop-size", type=int, default=crop_size, help="crop side in pixels")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--time-length", type=int, default=None, help="frames per sample")
    p.add_argument(
        "--max-cloud", type=float, default=None, help="drop S2 frames above this cloud fraction"
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--widths", type=int, nargs="+", default=[16, 32, 64],
        help="U-Net widths (from scratch / pretraining; default 16 32 64; Garnot & Landrieu's "
        "reference: 32 64 128, ~4x slower)",
    )  # fmt: skip
    p.add_argument("--resume", default=None, help="continue from this checkpoint")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def print_result(result: dict, as_json: bool, lines: list) -> None:
    """Print ``result`` as JSON, or the human-readable ``lines``."""
    if as_json:
        print(json.dumps(result, default=str))
    else:
        for line in lines:
            print(line)
