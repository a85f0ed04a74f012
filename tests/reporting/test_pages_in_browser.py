"""Every results page rendered in a real browser (headless chromium driven by Playwright).

Fails on a broken image, a console or page error, or a missing headline number; keeps a
screenshot of each page under the test's tmp folder (and in ``$TAMKIT_SCREENSHOTS`` when set, as
used for ``docs/images/``). The system chromium is used (``executable_path``); no browser is ever
downloaded. Skipped, with the reason, only where neither is installed; CI installs both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tamkit.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - CI installs it (test extra)
    sync_playwright = None

MISSING = sync_playwright is None or CHROMIUM is None
pytestmark = pytest.mark.skipif(
    MISSING and not os.environ.get("TAMKIT_REQUIRE_BROWSER"),
    reason="needs the playwright package and a system chromium (apt-get install chromium); "
           f"found playwright: {sync_playwright is not None}, chromium: {CHROMIUM}")


def _run(argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    assert exc.value.code == 0, argv


@pytest.fixture(scope="module")
def browser():
    assert not MISSING, f"TAMKIT_REQUIRE_BROWSER is set but playwright or chromium is missing " \
                        f"(chromium: {CHROMIUM})"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser, path: Path, shots: Path, name: str):
    """Load ``path``; return (page, text). Asserts no console error and no broken image."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    page.evaluate("Promise.all(Array.from(document.images).map(i => i.decode().catch(() => 0)))")
    broken = page.evaluate("Array.from(document.images)"
                           ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    assert not broken, f"broken images on {name}: {broken}"
    assert not errors, f"console errors on {name}: {errors}"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shots / f"{name}.png")
    if os.environ.get("TAMKIT_SCREENSHOTS"):
        Path(os.environ["TAMKIT_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shots / f"{name}.png", Path(os.environ["TAMKIT_SCREENSHOTS"]) / f"{name}.png")
    text = page.inner_text("body")
    return page, text


def _no_raw_python(text: str) -> None:
    for raw in ("None", "False", "True", "nan"):
        assert not re.search(rf"\b{raw}\b", text), raw
    assert not re.search(r"\d\.\d{9,}", text), "unrounded number"


@pytest.fixture(scope="module")
def analysis_out(tmp_path_factory):
    from tamkit.io import save_stack
    from tamkit.testing.artificial import spreading_gaussian_stack

    stack, _ = spreading_gaussian_stack(seed=3, attrs={"pitch_nm": 3.0})
    folder = tmp_path_factory.mktemp("analyze")
    save_stack(stack, folder / "film.nc")
    _run(["analyze", folder / "film.nc", "--out", folder / "out"])
    moved = tmp_path_factory.mktemp("moved") / "somewhere else"
    shutil.copytree(folder / "out", moved)  # a moved folder must still render
    return moved


def test_report_html(browser, analysis_out, tmp_path):
    results = json.loads((analysis_out / "results.json").read_text())
    page, text = _open(browser, analysis_out / "report.html", tmp_path, "report")
    assert "σ₀" in text and "D" in text
    sigma0 = results["sigma0_nm"]
    assert re.search(rf"{int(sigma0)}(\.\d+)? ± ", text), "sigma_0 missing"
    d_max = results["band_like"]["D_max_cm2_s"]
    assert f"{d_max:.1f}"[:3] in page.inner_text("#headline"), "D_max missing"
    assert "cm²/s" in text and "cm^2/s" not in text
    for needle in ("Provenance", "sha256", "command line", "parameters", "anisotropy",
                   "Per-frame results", "Data files"):
        assert needle in text, needle
    for href in ("results.json", "frames.csv"):
        assert page.locator(f'a[href="{href}"]').count() == 1
    _no_raw_python(page.inner_text("#headline"))
    # the viewer: stepping the slider changes the label and redraws the frame
    before = page.inner_text("#frame-label")
    pixels = page.evaluate("document.getElementById('frame-canvas').toDataURL()")
    page.locator("#frame-slider").evaluate(
        "s => { s.value = s.max - 10; s.dispatchEvent(new Event('input')); }")
    assert page.inner_text("#frame-label") != before
    assert page.evaluate("document.getElementById('frame-canvas').toDataURL()") != pixels
    page.locator("#viewer").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "report_viewer.png")
    if os.environ.get("TAMKIT_SCREENSHOTS"):
        shutil.copy(tmp_path / "report_viewer.png", Path(os.environ["TAMKIT_SCREENSHOTS"]))


@pytest.fixture(scope="module")
def spectro_out(tmp_path_factory):
    from tamkit.sim.ta_map import simulated_ta_map_for_film
    from tamkit.spectro.loading import save_tamap

    folder = tmp_path_factory.mktemp("spectro")
    tamap, _ = simulated_ta_map_for_film("qdip40", seed=11)
    save_tamap(tamap, folder / "qdip40.nc")
    _run(["spectro", folder / "qdip40.nc", "--components", "3", "--bleach", "850:980",
          "--donor", "540:590", "--acceptor", "840:990", "--out", folder / "out"])
    return folder / "out"


def test_spectro_html(browser, spectro_out, tmp_path):
    data = json.loads((spectro_out / "spectro.json").read_text())
    page, text = _open(browser, spectro_out / "spectro.html", tmp_path, "spectro")
    headline = page.inner_text("table.headline")
    ok = [e for e in data["lifetimes_ps"] if e["status"] == "ok"]
    assert ok
    for e in ok:
        assert f"{e['value']:.2f}"[:3] in headline, e
    assert "chi2_reduced" not in text and "σ_inh" in headline
    assert page.locator('a[href="spectro.json"]').count() == 1
    assert "/" not in page.inner_text("h1").split(":", 1)[1]  # a file name, not a path
    _no_raw_python(headline)


@pytest.fixture(scope="module")
def reproduce_out(tmp_path_factory):
    # its own process: the reproduction's process pool and Playwright's event loop do not share
    # (output to a file, not a pipe: the pool's resource tracker outlives the command and would
    # hold a pipe open)
    folder = tmp_path_factory.mktemp("reproduce")
    out = folder / "out"
    with open(folder / "log.txt", "w") as log:
        subprocess.run([sys.executable, "-m", "tamkit.cli", "reproduce", "--quick", "--out",
                        str(out)], check=True, stdout=log, stderr=subprocess.STDOUT, timeout=1200)
    return out


def test_reproduce_html(reproduce_out, browser, tmp_path):
    data = json.loads((reproduce_out / "reproduce.json").read_text())
    page, text = _open(browser, reproduce_out / "reproduce.html", tmp_path, "reproduce")
    table = page.inner_text("table.paper-table")
    from tamkit.reporting.html import typeset

    for row in data["table"]:
        assert typeset(row["quantity"]).split(" (")[0][:20] in table, row["quantity"]
        if row.get("tamkit") is not None:  # the headline number itself, as the page rounds it
            assert f"{row['tamkit']:.4g}".split("e")[0][:3] in table, row["quantity"]
    assert page.locator("table.paper-table tbody tr").count() == len(data["table"])
    assert page.locator("table.trends tbody tr").count() == len(data["trends"])
    assert "holds" in page.inner_text("table.trends")
    n_png = sum(f.endswith(".png") for f in data["figures"])
    assert page.locator("figure img").count() == n_png == 9
    assert page.locator("figcaption").filter(has_text="Fig. 3a").count() == 1


# ------------------------------------------------------------- index pages (series and batch)


@pytest.fixture(scope="module")
def tiny_stacks(tmp_path_factory):
    """Two small stacks (24x24 px, 34 delays) with their <N_abs> in the metadata: seconds each."""
    from tamkit.io import save_stack
    from tamkit.testing.artificial import BandLikeTruth, log_delays_fs, spreading_gaussian_stack

    folder = tmp_path_factory.mktemp("tiny")
    delay = log_delays_fs(n_signal=30, n_baseline=4)
    paths = []
    for k, (d_max, nabs) in enumerate([(102.0, 0.05), (80.0, 0.2)]):
        stack, _ = spreading_gaussian_stack(delay, BandLikeTruth(D_max_cm2_s=d_max).msd_nm2(delay),
                                            shape=(24, 24), seed=20 + k,
                                            attrs={"pitch_nm": 3.0, "nabs": nabs})
        save_stack(stack, folder / f"film{k}.nc")
        paths.append(folder / f"film{k}.nc")
    return paths


def _index_rows(page) -> list[str]:
    return [r.inner_text() for r in page.locator("table.stacks tbody tr").all()]


def _links_resolve(page, folder: Path) -> None:
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
        assert (folder / href).exists(), f"dead link {href}"


def test_series_index_html(browser, tiny_stacks, tmp_path_factory, tmp_path):
    out = tmp_path_factory.mktemp("series") / "out"
    _run(["series", *tiny_stacks, "--out", out, "--svg"])
    summary = json.loads((out / "series.json").read_text())
    page, text = _open(browser, out / "index.html", tmp_path, "series_index")
    rows = _index_rows(page)
    assert len(rows) == len(tiny_stacks) == len(summary["members"])
    for row, member in zip(rows, summary["members"], strict=True):
        assert f"{int(member['sigma0_nm'])}" in row and " ± " in row, row  # sigma_0 with error
        if member["band_like"]:
            assert f"{member['D_max_cm2_s']:.3g}"[:2] in row and "cm²/s" in row, row
    assert "⟨N_abs⟩" in page.inner_text("table.stacks thead")
    n_png = sum(f.endswith(".png") for f in os.listdir(out / "figures"))
    assert page.locator("figure img").count() == n_png == 3
    assert page.locator("figcaption a[href$='.svg']").count() == n_png  # the vector twins
    assert page.locator("figcaption").filter(has_text="never plotted as 0").count() == 1
    for needle in ("Provenance", "sha256", "command line", "Data files"):
        assert needle in text, needle
    _links_resolve(page, out)
    _no_raw_python(page.inner_text("table.stacks"))
    assert "cm^2" not in text and "<N_abs>" not in text


def test_batch_index_html(browser, tiny_stacks, tmp_path_factory, tmp_path):
    folder = tmp_path_factory.mktemp("batch")
    (folder / "broken.nc").write_bytes(b"not a netCDF file")
    out = folder / "out"
    _run(["batch", *tiny_stacks, folder / "broken.nc", "--scheduler", "threads", "--workers", "2",
          "--out", out])
    summary = json.loads((out / "summary.json").read_text())
    page, text = _open(browser, out / "index.html", tmp_path, "batch_index")
    rows = _index_rows(page)
    assert len(rows) == 3
    by_name = {Path(r["path"]).name: r for r in summary["rows"]}
    for row in rows:
        name = row.split("\t")[0].strip()
        record = by_name[name]
        if record["status"] == "ok":
            assert f"{int(record['sigma0_nm'])}" in row and " ± " in row, row
            assert page.locator(f'a[href="{Path(name).stem}/report.html"]').count() == 1
        else:  # a failed stack: its reason, no link, and a warning at the top
            assert name == "broken.nc" and "failed" in row and record["reason"][:20] in row
            assert "broken.nc" in page.inner_text("#warnings")
    assert page.locator('a[href="broken/report.html"]').count() == 0
    for href in ("summary.csv", "summary.json"):
        assert page.locator(f'a[href="{href}"]').count() == 1
    assert "sha256" in text
    _links_resolve(page, out)
    _no_raw_python(page.inner_text("table.stacks"))
