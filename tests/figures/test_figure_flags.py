"""Every figure's configuration is exposed as flags (`rmt figure NAME --help` lists them); a given flag changes
exactly its field; no flag reproduces the README figure's configuration; bad values exit with code 2 naming the flag.
Only one tiny theory-only figure is drawn here."""

from __future__ import annotations

import csv
import dataclasses
import importlib

import pytest

from rmt.figures._figure_flags import _plain
from rmt.figures.cli import build_parser, main
from rmt.figures.commands.figure import FIGURES, build_config, config_flags


def _parse(argv):
    return build_parser().parse_args(argv)


def _default(name, quick=False):
    return importlib.import_module(FIGURES[name][0]).default_config(quick)


@pytest.mark.parametrize("name", list(FIGURES))
def test_help_lists_every_setting(name, capsys):
    flags = config_flags(FIGURES[name][0])
    assert len(flags) >= 5, name  # every figure exposes its configuration
    with pytest.raises(SystemExit) as exc:
        main(["figure", name, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "figure settings" in text
    for fl in flags:
        for opt in fl.options:
            assert opt in text, (name, opt)
    fields = {f.name for f in dataclasses.fields(type(_default(name)))}
    assert {fl.field for fl in flags} <= fields


@pytest.mark.parametrize("name", list(FIGURES))
def test_no_flag_and_default_values_reproduce_the_readme_configuration(name):
    module = FIGURES[name][0]
    for quick in (False, True):
        argv = ["figure", name] + (["--quick"] if quick else [])
        cfg, overrides = build_config(module, _parse(argv))
        assert overrides == {} and cfg == _default(name, quick)
    # every flag parses the printed default back to the same configuration
    default = _default(name)
    argv = ["figure", name]
    for fl in config_flags(module):
        value = getattr(default, fl.field)
        if fl.parse is None:
            argv.append(fl.options[0] if value else "--no-" + fl.options[0][2:])
        else:
            argv.append(f"{fl.options[0]}={_plain(value)}")
    cfg, overrides = build_config(module, _parse(argv))
    assert len(overrides) == len(config_flags(module))
    assert cfg == default


def test_issue_example_changes_exactly_those_fields():
    args = _parse(["figure", "double-descent", "--activation", "tanh", "--phi", "1", "--ridge", "1e-3,1e-2",
                   "--noise", "0.5", "--n0", "200"])
    cfg, overrides = build_config(FIGURES["double-descent"][0], args)
    assert (cfg.activation, cfg.phi, cfg.ridges, cfg.noise, cfg.n0) == ("tanh", 1.0, (1e-3, 1e-2), 0.5, 200)
    default = _default("double-descent")
    changed = {f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != getattr(default, f.name)}
    assert changed == {"activation", "phi", "ridges", "noise", "n0"} == set(overrides)


@pytest.mark.parametrize("name, argv, field, value", [
    ("triple-descent", ["--activation", "erf", "--lr-ratio", "0.5"], "activations", ("erf",)),
    ("shift-phase-diagram", ["--points", "7"], "points", 7),
    ("id-ood-line", ["--no-all-shifts", "--sim-width", "3,6"], "sim_widths", (3.0, 6.0)),
    ("shift-robustness", ["--reps", "5"], "reps", 5),
    ("scaling-laws", ["--alpha", "1.5,2", "--beta", "2,3"], "alphas", (1.5, 2.0)),
    ("eigen-learning-curve", ["--ridges", "1e-2:1:3:log"], "ridges", (0.01, 0.1, 1.0)),
])
def test_a_flag_changes_the_configuration(name, argv, field, value):
    cfg, _ = build_config(FIGURES[name][0], _parse(["figure", name, *argv]))
    got = getattr(cfg, field)
    if isinstance(value, tuple) and isinstance(value[0], float):
        assert got == pytest.approx(value)
    else:
        assert got == value
    assert cfg != _default(name)


def test_quick_is_the_base_of_the_flags():
    cfg, _ = build_config(FIGURES["double-descent"][0], _parse(["figure", "double-descent", "--quick", "--reps", "4"]))
    assert cfg == dataclasses.replace(_default("double-descent", quick=True), reps=4)


@pytest.mark.parametrize("argv, flag", [
    (["--phi", "-1"], "--phi"),
    (["--activation", "nope"], "--activation"),
    (["--width-range", "1,2,3"], "--width-range"),
    (["--trials", "2,2"], "--trials"),
    (["--n0", "1.5"], "--n0"),
    (["--reps", "1"], "--reps"),
])
def test_bad_setting_exits_2_naming_the_flag(argv, flag, tmp_path, capsys):
    assert main(["figure", "double-descent", "--no-mc", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rmt: error:") and flag in err[0], err
    assert not any(tmp_path.iterdir())  # nothing computed or written


def test_settings_reach_the_drawn_figure(tmp_path, capsys):
    """One tiny theory-only run: the ridges and the grid size given as flags are the ones in the CSV."""
    assert main(["figure", "double-descent", "--no-mc", "--out", str(tmp_path), "--activation", "tanh",
                 "--ridge", "0.05,0.5", "--theory-points", "12", "--ensemble-size", "1,inf"]) == 0
    with open(tmp_path / "double_descent.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["panel"] == "a" and r["series"] == "test_error"]
    assert {float(r["ridge"]) for r in rows} == {0.05, 0.5}
    assert len(rows) == 2 * 13  # 12 log-spaced widths plus n1/m = 1
    capsys.readouterr()
