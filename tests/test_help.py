"""`s4 CMD --help` shows each option's allowed range and default (from settings.py)."""

from __future__ import annotations

import pytest

from s4_core.cli import main
from s4_core.settings import OPERATIONS


@pytest.mark.parametrize("command", ["pretrain", "finetune", "segment", "align"])
def test_help_shows_ranges_and_defaults(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "default" in text
    ranged = [s for s in OPERATIONS[command] if s.cli and s.kind in ("int", "float", "ints")]
    assert ranged, f"{command} has no numeric setting"
    for setting in ranged:
        assert f"{setting.cli_flag} " in text, (command, setting.cli_flag)
        assert setting.describe() in text, (command, setting.cli_flag)


def test_finetune_help_names_the_epochs_range_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--epochs EPOCHS (a whole number >= 1; default 20)" in text


def test_switches_show_no_boolean_default(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-contrastive ablation: reconstruction only --no-reconstruction" in text
    assert "default True" not in text and "default False" not in text
