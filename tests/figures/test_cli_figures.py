"""``rmt figure``: every registered figure has the common flags; the command prints the written paths."""

import subprocess
import sys

import pytest

from rmt.figures.cli import build_parser, main
from rmt.figures.commands.figure import FIGURES


def test_every_figure_is_registered_with_the_common_flags():
    parser = build_parser()
    for name in FIGURES:
        args = parser.parse_args(["figure", name, "--out", "x", "--no-mc", "--quick"])
        assert args.out == "x" and args.no_mc and args.quick


def test_figure_prints_the_files_it_wrote(tmp_path, capsys):
    assert main(["figure", "double-descent", "--out", str(tmp_path), "--no-mc", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [str(tmp_path / "double_descent.png"), str(tmp_path / "double_descent.csv")]
    assert (tmp_path / "double_descent.png").stat().st_size > 50_000


def test_figure_bad_input(tmp_path, capsys):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    assert main(["figure", "double-descent", "--out", str(afile)]) == 2
    assert main(["figure", "double-descent", "--seed", "-3", "--no-mc", "--out", str(tmp_path)]) == 2
    assert main(["figure", "no-such-figure"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("rmt: error:") for line in err)


@pytest.mark.slow
def test_figure_scripts_run_standalone(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rmt.figures.double_descent", "--out", str(tmp_path), "--no-mc",
                           "--quick"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith("double_descent.png")
