"""`s4 CMD --help` shows each option's allowed range (from validate.RULES) and default."""

from __future__ import annotations

import pytest

from s4_core.cli import main
from s4_core.validate import RULES


@pytest.mark.parametrize("command", ["pretrain", "finetune", "segment", "align"])
def test_help_shows_ranges_and_defaults(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "default" in text
    shown = [r for r in RULES.values() if r.flag and f"{r.flag} " in text]
    assert shown, f"no option of {command} shows its range"
    for rule in shown:
        assert rule.describe() in text, (command, rule.flag)


def test_finetune_help_names_the_epochs_range_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--epochs EPOCHS (a whole number >= 1; default 20)" in text
