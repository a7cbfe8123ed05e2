"""The one option vocabulary: the command line and DetectOptions follow it (the plugin's side is in
tests/plugin/test_option_contract.py)."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from scd_core import vocabulary
from scd_core.cli import build_parser, main
from scd_core.errors import InvalidOptionError
from scd_core.geo.options import DetectOptions
from scd_core.models import STRIDE


def test_the_tile_multiple_is_the_models_stride():
    assert vocabulary.TILE_MULTIPLE == STRIDE


def test_every_option_names_one_thing_in_every_command():
    """(Synth, a developer's tool, keeps its own options: scd_core.synth.options.)"""
    for options in vocabulary.COMMANDS.values():
        for option in options:
            same = vocabulary.OPTIONS[option.name]
            assert (option.flag, option.type, option.default, option.choices) == (
                same.flag,
                same.type,
                same.default,
                same.choices,
            )


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("tile", 100, "must be a positive multiple of 32, got 100"),
        ("tile", 0, "must be a positive multiple of 32, got 0"),
        ("overlap", -1, "must be at least 0, got -1"),
        ("threshold", 1.0, "must lie in (0, 1), got 1"),
        ("threshold", float("nan"), "must be a finite number, got nan"),
        ("decode", "argmax", "takes distinct or paper, got 'argmax'"),
        ("opset", 21, "must be at most 20, got 21"),
        ("kind", "labels", "takes auto, binary, change-type or per-date, got 'labels'"),
    ],
)
def test_a_check_gives_the_words_after_the_name(name, value, problem):
    assert vocabulary.OPTIONS[name].problem(value) == problem
    assert vocabulary.OPTIONS[name].problem(None) is None


def with_option(monkeypatch, **changes) -> vocabulary.Option:
    """The vocabulary with ``mmu`` changed as given, as if the module said so."""
    changed = dataclasses.replace(vocabulary.OPTIONS["mmu"], **changes)
    detect = tuple(changed if option.name == "mmu" else option for option in vocabulary.DETECT)
    monkeypatch.setattr(vocabulary, "DETECT", detect)
    monkeypatch.setitem(vocabulary.OPTIONS, "mmu", changed)
    return changed


def test_a_range_changed_in_the_vocabulary_is_the_commands_and_the_apis(monkeypatch, collared, tmp_path, capsys):
    with_option(monkeypatch, minimum=5)
    with pytest.raises(InvalidOptionError, match="--mmu must be at least 5, got 3"):
        DetectOptions(mmu=3)
    args = ["detect", str(collared.before), str(collared.after), "-o", str(tmp_path / "out"), "--mmu", "3"]
    assert main(args) == 2
    assert "--mmu must be at least 5, got 3" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_help_and_flag_changed_in_the_vocabulary_are_the_commands(monkeypatch, capsys):
    with_option(monkeypatch, flag="--minimum-mapping-unit", help="the smallest patch kept")
    parser = build_parser()
    assert parser.parse_args(["detect", "a.tif", "b.tif", "-o", "o", "--minimum-mapping-unit", "4"]).mmu == 4
    with pytest.raises(SystemExit):
        parser.parse_args(["detect", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--minimum-mapping-unit PX the smallest patch kept (default: 9)" in shown
    assert "--mmu PX" not in shown


def test_the_vocabularys_copies_of_engine_constants_are_the_engines():
    from scd_core.geo.grid import BLOCK
    from scd_core.labels import LABEL_SETS

    assert vocabulary.BLOCK_MULTIPLE == BLOCK
    assert set(vocabulary.OPTIONS["labels"].choices) == set(LABEL_SETS)


#: What a command takes that is no option of the vocabulary: where its outputs go, and --json.
NOT_OPTIONS = {"--help", "--json", "--out-dir", "--out-root", "--output"}


def _subparser(parser, command: str):
    """The parser of ``command`` ("detect", "synth geo"...) under ``parser``."""
    for word in command.split():
        (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        parser = commands.choices[word]
    return parser


@pytest.mark.parametrize("command", sorted(vocabulary.COMMANDS))
def test_every_flag_of_a_command_is_the_vocabularys(command):
    flags = {
        flag
        for action in _subparser(build_parser(), command)._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag not in NOT_OPTIONS
    }
    assert flags == {option.flag for option in vocabulary.COMMANDS[command]}


def test_a_synth_value_out_of_its_range_is_refused_in_the_vocabularys_words(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["synth", "geo", str(tmp_path / "pair"), "--resolution", "0"])
    assert refused.value.code == 2
    assert "argument --resolution: must be more than 0, got 0" in capsys.readouterr().err
    assert not (tmp_path / "pair").exists()
