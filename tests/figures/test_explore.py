"""``rmt explore``: the view functions against ``rmt theory``, and the page driven in a real headless Chromium.

The browser tests need the ``[explore]`` extra (Dash), Selenium and a Chromium with its driver (``.ci/run`` installs
them from the system's package manager); they skip, saying why, where those are missing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rmt.figures import explore_views as views
from rmt.figures.cli import main


def _cli_json(argv: list[str], capsys) -> list[dict]:
    assert main(argv) == 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _command_argv(command: str) -> list[str]:
    parts = command.split()
    assert parts[0] == "rmt"
    return parts[1:]


def test_descent_view_equals_rmt_theory(capsys):
    v = views.compute("descent", {"activation": "tanh", "phi": "0.7", "ridge": "0.01", "noise": "0.1"})
    rows = _cli_json(_command_argv(v.command), capsys)
    assert len(rows) == v.x.size
    theory = np.array([r["test_error"] for r in rows], dtype=float)
    np.testing.assert_allclose(v.curves["test_error"], theory, rtol=1e-12)
    # the x axis is n1/m = phi/psi of the command's sweep
    np.testing.assert_allclose(v.x, [r["phi"] / r["psi"] for r in rows], rtol=1e-9)
    # the stack sums to the test error
    np.testing.assert_allclose(sum(v.curves[k] for k in v.stack), v.curves["test_error"], rtol=1e-9)


def test_ntk_and_ensemble_views_equal_rmt_theory(capsys):
    v = views.compute("descent", {"model": "ntk", "phi": "0.5", "ridge": "0.001", "lr_ratio": "0.5"})
    rows = _cli_json(_command_argv(v.command), capsys)
    np.testing.assert_allclose(v.curves["test_error"], [r["test_error"] for r in rows], rtol=1e-12)
    e = views.compute("descent", {"ensemble": "inf", "ridge": "0.1"})
    rows = _cli_json(_command_argv(e.command), capsys)
    got = [r["ensemble"]["test_error"] if isinstance(r.get("ensemble"), dict) else r["test_error"] for r in rows]
    np.testing.assert_allclose(e.curves["test_error"], np.array(got, dtype=float), rtol=1e-12)


def test_phase_and_learning_views_equal_rmt_theory(capsys):
    p = views.compute("phase", {"activation": "tanh", "strength": "1", "ridge": "0.001", "noise": "0.1"})
    assert p.z.shape == (p.y.size, p.x.size)
    rows = _cli_json(_command_argv(p.command), capsys)
    assert len(rows) == p.z.size
    got = {(round(1 / r["psi"], 9), round(1 / r["phi"], 9)): r["test_error"] - r["id_test_error"] for r in rows}
    for i, samples in enumerate(p.y):
        for j, width in enumerate(p.x):
            assert p.z[i, j] == pytest.approx(got[(round(width, 9), round(samples, 9))], rel=1e-10, abs=1e-14)
    lc = views.compute("learning", {"alpha": "1.5", "beta": "1.8", "ridge": "0.001", "noise": "0.1"})
    rows = _cli_json(_command_argv(lc.command), capsys)
    np.testing.assert_allclose(lc.x, [r["n"] for r in rows])
    np.testing.assert_allclose(lc.curves["test_error (KRR)"], [r["test_error"] for r in rows], rtol=1e-12)
    csv = lc.csv().splitlines()
    assert csv[0].startswith("n,") and len(csv) == lc.x.size + 1


def test_dynamics_view_equals_rmt_theory(capsys):
    for raw in ({"algorithm": "online-sgd", "lr": "0.8", "batch": "4", "alpha": "1.3", "beta": "1.1"},
                {"algorithm": "gf", "alpha": "1.5", "beta": "1.8", "noise": "0.1"}):
        v = views.compute("dynamics", raw)
        rows = _cli_json(_command_argv(v.command), capsys)
        np.testing.assert_allclose(v.curves["test_error"], [r["test_error"] for r in rows], rtol=1e-12)
        np.testing.assert_allclose(v.x, [r.get("step", r.get("time")) for r in rows], rtol=1e-12)
    with pytest.raises(views.FieldError) as info:
        views.compute("dynamics", {"lr": "5"})  # beyond online SGD's stability threshold
    assert info.value.field == "lr"


@pytest.mark.parametrize("field,value,needle", [
    ("phi", "-1", "phi: must lie in (0"), ("ridge", "abc", "ridge: must be a number"),
    ("ensemble", "2.5", "ensemble: must be an integer"), ("activation", "nope", "activation: must be one of"),
    ("noise", "inf", "noise: must be finite"), ("alpha", "1", "alpha: must lie in (1"),
])
def test_bad_values_name_the_field(field, value, needle):
    with pytest.raises(views.FieldError, match=None) as info:
        views.compute("descent" if field not in ("alpha",) else "learning", {field: value})
    assert info.value.field == field
    assert needle in str(info.value)


def test_overlay_matches_only_the_same_settings():
    s = views.parse_settings({"phi": "0.5", "ridge": "0.1", "noise": "0.25", "activation": "relu"})
    row = {"config": {"model": "rf", "problem": {"n0": 100, "n1": 100, "m": 200, "ridge": 0.1, "noise": 0.25,
                                                 "signal": 1.0, "activation": "relu"}, "options": {}},
           "result": {"test_error": 0.5, "stderr": {"test_error": 0.01}}}
    other = json.loads(json.dumps(row))
    other["config"]["problem"]["ridge"] = 0.2
    from rmt.figures.explore import overlay_points

    pts = overlay_points([row, other], s)
    assert pts["x"].tolist() == [0.5] and pts["y"].tolist() == [0.5] and pts["err"].tolist() == [0.01]


def test_png_export_renders():
    from rmt.figures.explore import render_png

    for name in views.VIEWS:
        png = render_png(views.compute(name, {}))
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_cli_refuses_bad_flags(capsys, tmp_path):
    assert main(["explore", "--port", "0", "--no-browser"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["explore", "--db", str(tmp_path), "--no-browser"]) == 2
    assert "--db" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- the real browser
def _browser_or_skip():
    pytest.importorskip("dash", reason="the [explore] extra is not installed")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)")
    return webdriver, chromium, driver_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    webdriver, chromium, driver_path = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service

    tmp = tmp_path_factory.mktemp("explore")
    db = tmp / "store.sqlite"
    _seed_store(db)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "rmt", "explore", "--port", str(port), "--no-browser",
                               "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"rmt explore exited: {server.stderr.read()}")
            time.sleep(0.3)
    downloads = tmp / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1300,1000"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(60)
    driver.get(url)
    try:
        yield driver, url, downloads, server, db
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)


def _seed_store(db: Path) -> None:
    """One stored simulation point matching the page's default descent settings (phi 0.5, relu, ridge 1e-3)."""
    from rmt.montecarlo.sweep import SweepPoint, SweepStore, point_key
    from rmt.problem import Problem

    point = SweepPoint("rf", Problem(n0=100, n1=200, m=200, ridge=1e-3, activation="relu", noise=0.25), {"seed": 0})
    record = {"test_error": 0.61, "stderr": {"test_error": 0.02}}
    with SweepStore(db) as store:
        store.put(point_key(point.config()), point.config(), record, 0.0)


def _wait(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # the page is still rendering
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


_TRACES = "var g = document.querySelector('#graph .js-plotly-plot'); return g && g.data ? g.data.map(" \
          "t => ({name: t.name, x: t.x, y: t.y, z: t.z})) : null;"


def _traces(driver):
    return driver.execute_script(_TRACES)


def _set(driver, name, value):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, f"f-{name}")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(value, Keys.ENTER)


def _curve(traces, name):
    for t in traces or ():
        if t["name"] == name:
            return t
    return None


def test_page_redraws_to_rmt_theory_values(page, capsys):
    driver, url, downloads, server, db = page
    first = _wait(lambda: _curve(_traces(driver), "test_error"), 60, "the first curve")
    _set(driver, "phi", "0.8")
    _set(driver, "ridge", "0.05")
    # what rmt theory prints for the new settings (the page's defaults elsewhere)
    expected = views.compute("descent", {"phi": "0.8", "ridge": "0.05"}).command
    rows = _cli_json(_command_argv(expected), capsys)
    theory = np.array([r["test_error"] for r in rows], dtype=float)
    assert not np.allclose(theory, np.array([np.nan if v is None else v for v in first["y"]], dtype=float))

    def drawn_matches():
        t = _curve(_traces(driver), "test_error")
        drawn = np.array([np.nan if v is None else v for v in t["y"]], dtype=float)
        return drawn.shape == theory.shape and np.allclose(drawn, theory, rtol=1e-9, atol=0)

    _wait(drawn_matches, 30, "the drawn curve to equal rmt theory's numbers")
    assert driver.find_element("id", "command").text.strip() == expected
    timing = driver.find_element("id", "timing").text
    ms = float(timing.split()[2])
    assert ms < 200, timing


def test_page_overlay_exports_and_bad_values(page):
    driver, url, downloads, server, db = page
    from selenium.webdriver.common.by import By

    driver.get(url)
    sim = _wait(lambda: _curve(_traces(driver), "simulation (+- 1 SE)"), 60, "the stored simulation point")
    assert sim["x"] == [1.0] and sim["y"] == [0.61]
    # a bad value gets an inline message naming the field, and the server keeps answering
    _set(driver, "phi", "-3")
    msg = _wait(lambda: driver.find_element(By.ID, "message").text, 20, "the inline message")
    assert msg.startswith("phi:") and "(0" in msg
    _set(driver, "phi", "0.5")
    _wait(lambda: driver.find_element(By.ID, "message").text == "", 20, "the message to clear")
    # exports: CSV of the numbers behind the view and a PNG
    driver.find_element(By.ID, "export-csv").click()
    csv = _wait(lambda: next(iter(downloads.glob("rmt-descent.csv")), None), 30, "the CSV download")
    header = csv.read_text().splitlines()[0].split(",")
    assert header[:3] == ["n1/m", "test_error", "bias"]
    driver.find_element(By.ID, "export-png").click()
    png = _wait(lambda: next(iter(downloads.glob("rmt-descent.png")), None), 30, "the PNG download")
    _wait(lambda: png.stat().st_size > 5000, 10, "the PNG to be written")
    # the other views draw: the phase diagram is a map, the learning curve a line
    driver.find_element(By.CSS_SELECTOR, "#view input[value='phase']").click()
    _wait(lambda: _curve(_traces(driver), "E_OOD - E_ID"), 30, "the phase diagram")
    driver.find_element(By.CSS_SELECTOR, "#view input[value='learning']").click()
    _wait(lambda: _curve(_traces(driver), "test_error (KRR)"), 30, "the learning curve")
    # a closed tab and a reload: the server survives
    driver.switch_to.new_window("tab")
    driver.get(url)
    _wait(lambda: _curve(_traces(driver), "test_error"), 60, "the page after a new tab")
    driver.close()
    driver.switch_to.window(driver.window_handles[0])
    driver.refresh()
    _wait(lambda: _curve(_traces(driver), "test_error"), 60, "the page after a reload")
    assert server.poll() is None


@pytest.mark.slow
def test_page_background_simulation(page):
    driver, url, downloads, server, db = page
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(lambda: _curve(_traces(driver), "test_error"), 60, "the first curve")
    _set(driver, "ridge", "0.1")
    _wait(lambda: "--ridge 0.1 " in driver.find_element(By.ID, "command").text, 20, "the new ridge")
    driver.find_element(By.ID, "simulate").click()
    status = _wait(lambda: driver.find_element(By.ID, "sim-status").text.startswith("simulated"), 240,
                   "the background simulation")
    assert status
    pts = _wait(lambda: _curve(_traces(driver), "simulation (+- 1 SE)"), 30, "the simulated point")
    assert pts["x"] == [1.0]
    # the page stayed responsive and the point is in the store
    from rmt.montecarlo.sweep import SweepStore

    with SweepStore(db) as store:
        assert len(store) == 2
    assert math.isfinite(pts["y"][0])


@pytest.mark.slow
def test_screenshots_of_each_view(page):
    """Writes docs/explore-*.png when RMT_EXPLORE_SCREENSHOTS names a folder (used to refresh the README)."""
    driver, url, *_ = page
    out = os.environ.get("RMT_EXPLORE_SCREENSHOTS")
    if not out:
        pytest.skip("set RMT_EXPLORE_SCREENSHOTS=docs to write the screenshots")
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(lambda: _curve(_traces(driver), "test_error"), 60, "the first curve")
    _set(driver, "ridge", "0.1")  # the settings of the background simulation above (its point is real)
    for name, trace in (("descent", "test_error"), ("phase", "E_OOD - E_ID"), ("learning", "test_error (KRR)")):
        driver.find_element(By.CSS_SELECTOR, f"#view input[value='{name}']").click()
        _wait(lambda: _curve(_traces(driver), trace), 30, name)
        time.sleep(1.0)
        driver.save_screenshot(str(Path(out) / f"explore-{name}.png"))
