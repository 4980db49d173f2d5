"""The report with one of each section opens in headless Chromium without console messages.

The page has no scripts, so *any* console line (an exception, a CSP violation from a fetch
the page should not make, a failed resource) is a defect. Chromium writes console messages to
stderr as ``INFO:CONSOLE`` lines with ``--enable-logging=stderr``; a control page with a
deliberate error proves the scan sees them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from qa.reports import write_html
from tests.reports.sample_results import full_results

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt install chromium)")


def open_in_chromium(page: Path, tmp: Path, screenshot: Path, *extra: str) -> list[str]:
    """Load ``page``, save a 1280x2400 screenshot, return the console lines Chromium logged."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--window-size=1280,2400", f"--screenshot={screenshot}",
           *extra, page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_scan_sees_errors(tmp_path):
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><title>c</title><script>undefinedFunction();</script>')
    lines = open_in_chromium(control, tmp_path, tmp_path / "control.png")
    assert any("Uncaught ReferenceError: undefinedFunction is not defined" in line for line in lines), lines


def test_full_report_renders_cleanly_with_screenshot(tmp_path):
    results = full_results(tmp_path / "results")
    page = tmp_path / "report.html"
    write_html(results, page, search_dirs=[tmp_path / "results"])
    shot = tmp_path / "report.png"
    assert open_in_chromium(page, tmp_path, shot) == []
    img = matplotlib.image.imread(str(shot))
    assert img.shape[:2] == (2400, 1280)
    rgb = (img[..., :3] * 255).round().astype(int)
    # light mode: a near-white page with the fail badge red (#cf222e) and the waveform blue (#0969da)
    assert np.median(rgb.reshape(-1, 3), axis=0).tolist() == [250, 250, 250]
    for colour in ((0xCF, 0x22, 0x2E), (0x09, 0x69, 0xDA)):
        assert np.all(np.abs(rgb - colour) <= 2, axis=-1).sum() > 200, colour


def test_dark_mode(tmp_path):
    results = full_results(tmp_path / "results")
    page = tmp_path / "report.html"
    write_html(results, page, search_dirs=[tmp_path / "results"])
    shot = tmp_path / "dark.png"
    assert open_in_chromium(page, tmp_path, shot, "--force-dark-mode", "--blink-settings=preferredColorScheme=0") == []
    rgb = (matplotlib.image.imread(str(shot))[..., :3] * 255).round().astype(int)
    assert np.median(rgb.reshape(-1, 3), axis=0).tolist() == [22, 27, 34]  # dark --card #161b22 covers most of the page
