"""settings.py is the one definition: the api, the command line and the engine configs agree
with it, and its checks name the setting and the range."""

from __future__ import annotations

import argparse
import inspect

import pytest

from s4_core import api
from s4_core.errors import SettingError
from s4_core.settings import (
    FINETUNE,
    OPERATIONS,
    PRETRAIN,
    PROFILES,
    SETTINGS,
    Operation,
    Setting,
)

API = {
    "pretrain": api.pretrain,
    "finetune": api.finetune,
    "segment": api.segment,
    "align": api.align,
    "export": api.export_vector,
    "evaluate": api.evaluate,
}


def test_keyword_groups_arrive_as_one_object_and_show_as_keywords():
    from s4_core.api import SceneInput
    from s4_core.control import Control

    @PROFILES.api
    def run(labels, *, scene: SceneInput, control: Control, **options):
        return scene, control, options

    names = list(inspect.signature(run).parameters)
    start = names.index("s1")  # after the settings, where ``scene`` stood
    assert names[start:] == ["s1", "s2", "bounds", "bounds_crs", "progress", "cancel", "log"]
    scene, control, options = run("l.gpkg", s2="S2", bounds=(0, 0, 1, 1), log=print, ratio=0.2)
    assert scene == SceneInput(s2="S2", bounds=(0, 0, 1, 1)) and control == Control(log=print)
    assert options["ratio"] == 0.2
    # forwarded to another function of the group as the same keywords
    assert run("l.gpkg", **scene.keywords(), **control.keywords())[:2] == (scene, control)
    for function in (api.segment, api.suggest_labels):
        params = inspect.signature(function).parameters
        assert {"s1", "s2", "bounds", "bounds_crs", "progress", "log"} <= set(params)
        assert "scene" not in params and "control" not in params


@pytest.mark.parametrize("name", sorted(API))
def test_api_signature_shows_every_setting_with_its_default(name):
    params = inspect.signature(API[name]).parameters
    for setting in OPERATIONS[name]:
        if setting.api:
            assert params[setting.name].default == setting.default, setting.name
            assert params[setting.name].kind == inspect.Parameter.KEYWORD_ONLY
        else:
            assert setting.name not in params
    assert "options" not in params
    assert setting_doc(API[name], OPERATIONS[name])


def setting_doc(function, operation: Operation) -> bool:
    doc = inspect.getdoc(function) or ""
    return all(f"{s.name}: " in doc for s in operation if s.api)


def test_unknown_or_out_of_range_keywords_fail_before_any_work(tmp_path):
    with pytest.raises(TypeError, match="crop_sise"):
        api.pretrain("a", "b", tmp_path / "p.pt", crop_sise=16)
    with pytest.raises(SettingError, match=r"^crop_size must be a whole number >= 8, got 4$"):
        api.pretrain("a", "b", tmp_path / "p.pt", crop_size=4)
    with pytest.raises(SettingError, match=r"^modality must be one of s2, s1, both, got 's3'"):
        api.finetune(None, "x", "l.gpkg", "c", tmp_path / "m.pt", modality="S3")
    assert not list(tmp_path.iterdir())


def test_engine_configs_take_their_defaults_from_the_definitions():
    from s4_core.train import FinetuneConfig, PretrainConfig

    for cls, op in ((PretrainConfig, PRETRAIN), (FinetuneConfig, FINETUNE)):
        config = cls()
        fields = {f for f in vars(config)}
        shared = [s for s in op if s.name in fields]
        assert len(shared) >= 10
        for s in shared:
            assert getattr(config, s.name) == s.default, (cls.__name__, s.name)


@pytest.mark.parametrize("command", ["pretrain", "finetune", "segment", "align", "fetch"])
def test_command_line_options_are_the_definitions(command):
    from s4_core.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = {a.dest: a for a in sub.choices[command]._actions}
    for s in OPERATIONS[command]:
        if not s.cli:
            continue
        action = actions[s.name]
        assert s.cli_flag in action.option_strings
        if s.kind == "bool":
            assert action.default is s.default  # store_true / store_false
        else:
            expected = list(s.default) if s.kind == "ints" else s.default
            assert action.default == expected, s.name
        if s.choices:
            assert list(action.choices) == list(s.choices)


def test_command_line_parses_into_the_api_settings():
    from s4_core.cli import build_parser
    from s4_core.commands.common import settings_from

    args = build_parser().parse_args(
        ["pretrain", "--s1", "a", "--s2", "b", "--out", "p.pt", "--no-contrastive",
         "--widths", "8", "16", "--max-cloud", "0.5"]
    )  # fmt: skip
    values = settings_from(args, PRETRAIN)
    assert values["contrastive"] is False and values["reconstruction"] is True
    assert values["widths"] == [8, 16] and values["max_cloud_fraction"] == 0.5
    assert values["epochs"] == PRETRAIN.default("epochs")
    assert set(values) == {s.name for s in PRETRAIN if s.cli and s.api}


def test_one_name_one_range():
    """A setting shared by several operations has one range (its default may differ)."""
    assert SETTINGS["batch_size"].describe() == "a whole number >= 1"
    assert OPERATIONS["segment"].default("batch_size") != PRETRAIN.default("batch_size")
    with pytest.raises(SettingError) as error:
        SETTINGS["max_cloud_fraction"].check(1.5)
    assert error.value.for_command_line() == "--max-cloud must be a number from 0 to 1, got 1.5"


def test_setting_copies_and_describes():
    base = Setting("n", "int", 3, low=1, high=5)
    other = base(default=4, help="four")
    assert (other.default, other.help, other.describe()) == (
        4,
        "four",
        "a whole number from 1 to 5",
    )
    assert base.default == 3
    assert base.check(2) == 2 and base.accepts(None) and not base.accepts(6)
    assert Setting("w", "ints", (1, 2), low=1, min_len=2).check([3, 4]) == (3, 4)
    assert Setting("m", "str", "a", choices=("a", "b"), lower=True).check("B") == "b"


def test_fetch_takes_its_defaults_and_checks_from_the_definitions(tmp_path):
    from s4_core.settings import FETCH
    from s4_core.stac import fetch_time_series

    params = inspect.signature(fetch_time_series).parameters
    for s in FETCH:
        assert params[s.name].default == s.default, s.name
    with pytest.raises(SettingError, match=r"^workers must be a whole number >= 1, got 0$"):
        fetch_time_series(
            "earth-search", tmp_path / "o", bbox=(0, 0, 1, 1), start="2020-01-01",
            end="2020-01-31", workers=0,
        )  # fmt: skip
    assert not (tmp_path / "o").exists()  # refused before any request or file
