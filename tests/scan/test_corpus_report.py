"""``audio-qa report RUN_DIR``: the corpus page, its content, its size and how Chromium shows it."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from bs4 import BeautifulSoup

from tests.conftest import run_cli
from tests.reports.test_report_browser import CHROMIUM, open_in_chromium
from tests.scan.corpus import write_corpus


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("corpus_report")
    write_corpus(tmp / "c", 18, broken=2, clipped=(3, 9))
    run = tmp / "run"
    r = run_cli("scan", str(tmp / "c"), "--out", str(run), "--jobs", "2", "--shard-size", "5")
    assert r.returncode == 1, r.stderr
    html = tmp / "corpus.html"
    r = run_cli("report", str(run), "--html", str(html))
    assert r.returncode == 1, r.stderr  # the corpus has failing files
    return html, run


def test_page_content(page):
    html, run = page
    summary = json.loads((run / "summary.json").read_text())
    soup = BeautifulSoup(html.read_text(), "html5lib")
    assert not soup.find_all("script")
    hists = {s["data-metric"]: s for s in soup.select("svg.hist")}
    assert {"integrated_lufs", "true_peak_dbtp", "clipped_fraction", "crest_db"} <= set(hists)
    # bars add up to the files with a value
    bars = hists["integrated_lufs"].select("rect.bar")
    assert sum(int(b.title.text.rsplit(": ", 1)[1]) for b in bars) == summary["metrics"]["integrated_lufs"]["count"] == 18
    # the clipping threshold the checks used is drawn on its histogram
    threshold = next(c["threshold"] for c in json.loads((run / "rows" / "shard-00000.jsonl").read_text().splitlines()[3])["checks"]
                     if c["id"] == "clipping")
    assert f"clipping {threshold:g}" in hists["clipped_fraction"].text
    group = soup.select_one('.check-group[data-check="clipping"]')
    assert "clipping: 2 fail (10.00 %)" in group.h3.text
    linked = [a["href"] for a in group.select("a")]
    assert linked and all(soup.select_one(h) is not None for h in linked)  # worst files have cards
    cards = soup.select("article.card")
    assert 1 <= len(cards) <= 6 and cards[0].select_one("audio") is not None
    assert cards[0].select_one("figure.spectrogram") and cards[0].select_one("figure.loudness")
    readable = soup.select_one('.check-group[data-check="readable"]')
    assert "broken0.wav" in readable.text


def test_report_of_unfinished_scan_is_a_usage_error(tmp_path):
    write_corpus(tmp_path / "c", 4, broken=0)
    run_cli("scan", str(tmp_path / "c"), "--out", str(tmp_path / "r"), "--shard-size", "2", "--shard", "2/2")
    r = run_cli("report", str(tmp_path / "r"), "--html", str(tmp_path / "x.html"))
    assert r.returncode == 2 and "the scan is not finished (1 of 2 shards done)" in r.stderr


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt install chromium)")
def test_page_opens_in_chromium_without_console_messages(page, tmp_path):
    html, _ = page
    shot = tmp_path / "corpus.png"
    assert open_in_chromium(html, tmp_path, shot) == []
    rgb = (matplotlib.image.imread(str(shot))[..., :3] * 255).round().astype(int)
    assert rgb.shape[:2] == (2400, 1280)
    assert (np.median(rgb.reshape(-1, 3), axis=0) >= 240).all()  # light page background
    # the fail badges (#cf222e) and the dashed threshold lines in the same red are drawn
    assert np.all(np.abs(rgb - (0xCF, 0x22, 0x2E)) <= 2, axis=-1).sum() > 200
