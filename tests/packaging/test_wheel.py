"""The wheel installs one top-level import name, ``rmt``, and works from a folder that has its own ``theory.py``,
``figures.py`` and ``montecarlo.py`` (a paper's repository often does).

The test builds the wheel (``pip wheel --no-deps``; the build backend comes from the configured package index, as for
``pip install -e .``), installs it with ``--no-deps`` into a fresh virtual environment and makes the dependencies
importable without downloading them: a ``.pth`` file in the fresh environment lists this environment's
site-packages. A path line in a ``.pth`` file only extends ``sys.path``; the ``.pth`` files *inside* that directory
are not executed, so the editable install of the development checkout (an import hook started by such a file) stays
inactive there -- the test checks that ``rmt`` is imported from the fresh environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(ROOT)],
                 cwd=tmp)
    assert build.returncode == 0, build.stderr[-3000:]
    wheels = list((tmp / "dist").glob("rmt_asymptotics-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "fresh"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    assert made.returncode == 0, made.stderr
    py = venv / "bin" / "python"
    inst = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                 str(wheels[0])], cwd=tmp)
    assert inst.returncode == 0, inst.stderr[-3000:]
    fresh_site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           cwd=tmp).stdout.strip())
    # the dependencies (numpy, scipy, sympy, mpmath, jax, matplotlib, tqdm) from this environment, without its .pth
    (fresh_site / "_deps_from_dev_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "paper"
    work.mkdir()
    for name in ("theory", "figures", "montecarlo"):
        (work / f"{name}.py").write_text(f"WHO = 'own {name}.py of the user'\n")
    return {"wheel": wheels[0], "python": py, "venv": venv, "site": fresh_site, "work": work}


def test_the_wheel_has_one_top_level_name(installed):
    with zipfile.ZipFile(installed["wheel"]) as zf:
        names = zf.namelist()
        top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
        dist_info = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        declared = zf.read(dist_info[0]).decode().split() if dist_info else ["rmt"]
    assert top == {"rmt"}, top
    assert declared == ["rmt"], declared
    for pkg in ("rmt/theory/random_features.py", "rmt/montecarlo/random_features.py", "rmt/figures/cli.py",
                "rmt/figures/commands/figure.py", "rmt/__main__.py"):
        assert pkg in names, pkg
    assert not any(n.startswith(("tests/", "theory/", "figures/", "montecarlo/")) for n in names)


def test_api_from_a_folder_with_its_own_theory_figures_montecarlo(installed):
    code = ("import json, sys, theory, figures, montecarlo, rmt, rmt.theory, rmt.montecarlo, rmt.figures\n"
            "from rmt import Problem\n"
            "from rmt.theory.random_features import rf_theory\n"
            "r = rf_theory(Problem.from_ratios(phi=0.5, psi=0.5, ridge=0.1, activation='relu', noise=0.25))\n"
            "print(json.dumps({'test_error': r.test_error, 'rmt': rmt.__file__, 'theory': rmt.theory.__file__,\n"
            "                  'montecarlo': rmt.montecarlo.__file__, 'figures': rmt.figures.__file__,\n"
            "                  'local': [theory.WHO, figures.WHO, montecarlo.WHO],\n"
            "                  'meta_path': [getattr(f, '__module__', None) or type(f).__module__ for f in sys.meta_path]}))\n")
    res = _run([str(installed["python"]), "-c", code], cwd=installed["work"])
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["test_error"] == pytest.approx(0.5338637382550295, rel=1e-9)
    site = str(installed["site"])
    for key in ("rmt", "theory", "montecarlo", "figures"):  # the installed copy, not the development checkout
        assert out[key].startswith(site), (key, out[key])
        assert not out[key].startswith(str(ROOT)), (key, out[key])
    assert out["local"] == [f"own {n}.py of the user" for n in ("theory", "figures", "montecarlo")]
    assert not [f for f in out["meta_path"] if "editable" in f.lower()], out["meta_path"]  # no editable hook


def test_command_line_from_the_same_folder(installed):
    res = _run([str(installed["python"]), "-m", "rmt", "constants", "--activation", "relu", "--json"],
               cwd=installed["work"])
    assert res.returncode == 0, res.stderr[-3000:]
    rec = json.loads(res.stdout)
    assert rec["mu1"] == pytest.approx(0.5) and rec["zeta"] == pytest.approx(0.25)
    script = installed["venv"] / "bin" / "rmt"
    assert script.exists()
    res = _run([str(script), "theory", "rf", "--phi", "-1", "--psi", "1", "--ridge", "0"], cwd=installed["work"])
    assert res.returncode == 2 and "phi" in res.stderr
