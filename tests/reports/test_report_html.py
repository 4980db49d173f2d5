"""The HTML report, parsed with html5lib: structure, values, escaping, self-containment."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from bs4 import BeautifulSoup
from matplotlib import colormaps
from PIL import Image

from qa.reports import render_html, write_html
from qa.reports.audio_figures import spectrogram_svg
from tests.conftest import sine
from tests.reports.sample_results import HOSTILE_NAME, LYRICS, check, full_results


def soup_of(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html5lib")


@pytest.fixture
def page(tmp_path):
    root = tmp_path / "results"
    results = full_results(root)
    html = render_html(results, out_dir=tmp_path / "out", search_dirs=[root], embed_audio_bytes=0)
    return soup_of(html), results


def test_summary_counts_and_status(page):
    soup, results = page
    assert soup.select_one("h1 .badge").get_text() == "fail"
    counts = {c["data-status"]: c.get_text(" ", strip=True) for c in soup.select("#summary .count")}
    # file fail, run fail, comparison pass, 3 roundtrips pass + 1 warn, backends pass + fail
    assert counts == {"pass": "pass 5", "warn": "warn 1", "fail": "fail 3"}
    toc = soup.select("#summary table.toc tbody tr")
    assert len(toc) == len(results["items"]) == 9
    assert toc[0].select_one("a")["href"] == "#item-0"
    assert toc[0].find_all("td")[3].get_text() == "clipping, dc_offset"


def test_check_rows_carry_status_value_threshold_message_hint(page):
    soup, _ = page
    card = soup.select_one("#item-0")
    assert "status-fail" in card["class"] and card["data-kind"] == "file"
    rows = card.select("table.checks tr.check")
    # worst first: fail, warn, pass
    assert [r["data-check"] for r in rows] == ["clipping", "dc_offset", "readable"]
    clip = rows[0]
    assert "status-fail" in clip["class"]
    assert clip.select_one(".value").get_text() == "0.00104 fraction"
    assert clip.select_one(".threshold").get_text() == "0.001 fraction"
    assert clip.select_one(".message").get_text() == "0.1% of samples sit at full scale (longest run 100 samples)"
    assert clip.select_one(".hint").get_text() == "reduce gain before the int16 conversion"
    assert rows[1].select_one(".message").get_text() == "DC <offset> high"


def test_null_metric_shows_na_with_its_note(page):
    soup, _ = page
    row = soup.select_one('#item-0 tr[data-metric="pesq_wb"]')
    cells = [c.get_text() for c in row.find_all(["th", "td"])]
    assert cells == ["pesq_wb", "n/a", "pesq_wb: n/a, PESQ is a speech metric and the reference is music"]
    assert soup.select_one('#item-0 tr[data-metric="rms_dbfs"] td').get_text() == "-9.03"


def test_hostile_file_name_and_lyrics_are_text(page):
    soup, _ = page
    assert soup.find("script") is None
    assert soup.find("b") is None
    assert not soup.find_all("img", src="x")
    assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)]
    assert soup.select_one("#item-0 h3.path").get_text() == HOSTILE_NAME
    details = {r.th.get_text(): r.td.get_text() for r in soup.select("#item-1 table.details tr")}
    assert details["lyrics"] == LYRICS


def test_no_external_resources_and_csp(page):
    soup, _ = page
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in csp
    assert not soup.find_all("link") and not soup.find_all("script")
    for tag in soup.find_all(["img", "image", "audio", "source", "iframe"]):
        src = tag.get("src") or tag.get("href") or ""
        assert src.startswith("data:") or not re.match(r"^[a-z]+://|^//", src), src


def test_run_stage_table_and_chart_mark_first_bad_stage(page):
    soup, _ = page
    card = soup.select_one("#item-1")
    rows = card.select("table.stages tr.stage")
    assert [r["data-stage"] for r in rows] == ["text_encode", "diffusion", "vae_decode", "save"]
    bad = [r["data-stage"] for r in rows if "first-bad" in r["class"]]
    assert bad == ["vae_decode"]
    assert "vae_decode output is all zeros" in rows[2].get_text()
    assert card.select_one(".firstbad-label").get_text() == "first bad stage: vae_decode"
    chart = card.select_one("figure.stage-chart svg")
    assert len(chart.select("rect.firstbad")) == 1
    # peaks above full scale before the decoder: 3.1 -> +9.8 dBFS is clamped at the +6 top
    titles = [t.get_text() for t in chart.select("rect.peak title")]
    assert titles[:2] == ["text_encode peak: 9.8 dBFS", "diffusion peak: 7.6 dBFS"]
    assert titles[2] == "vae_decode peak: -inf dBFS (silent)"
    assert [t.get_text() for t in chart.select("text.alarm")] == ["silent", "silent"]
    assert card.select_one("p.meta").get_text() == "Injected fault: name=zero_vae, stage=vae_decode"


def test_roundtrip_table_and_bitrate_charts(page):
    soup, _ = page
    sec = soup.select_one("#section-roundtrip")
    rows = sec.select("table.roundtrip tbody tr")
    assert [r.td.get_text() for r in rows] == ["mp3:64", "mp3:128", "opus:64", "flac"]
    assert [c.get_text() for c in rows[3].select("td.num")] == ["n/a", "1"]
    charts = sec.select(".codec-charts svg")
    assert [c["aria-label"] for c in charts] == ["SNR (dB) vs bitrate", "STOI vs bitrate"]
    dots = [t.get_text() for t in charts[0].select("circle title")]
    assert "mp3: 128, 18.5" in dots and "opus: 64, 9.25" in dots
    assert sec.select_one("p.meta").get_text() == "Not plotted (no bitrate in the spec): flac"


def test_backend_matrix(page):
    soup, _ = page
    table = soup.select_one("#section-backend table.backends")
    head = [th.get_text() for th in table.select("thead th")]
    assert head == ["backend", "status", "backend_available", "save_roundtrip", "save_timeout"]
    ta = table.select("tbody tr")[1]
    cells = [td.get_text(" ", strip=True) for td in ta.select("td.cell")]
    assert cells == ["pass", "n/a", "fail 10 s"]
    assert ta.select("td.cell .badge")[1]["title"] == "save did not return in 10 s"


def test_gate_section(page):
    soup, _ = page
    gate = soup.select_one("#gate")
    assert [th.get_text() for th in gate.select("table.gate th")] == \
        ["item", "metric", "baseline", "current", "delta", "verdict"]
    rows = gate.select("table.gate tbody tr")
    assert [td.get_text() for td in rows[0].select("td")] == [HOSTILE_NAME, "rms_dbfs", "-12", "-9.03", "2.97", "fail"]
    assert "status-fail" in rows[0]["class"] and "status-pass" in rows[1]["class"]
    assert {r.th.get_text(): r.td.get_text() for r in gate.select("table.kv tr")} == \
        {"baseline": "baseline.json", "status": "fail"}


def test_gate_unchanged_rows_fold_away():
    """Rows that moved stay in view; the (usually hundreds of) unchanged ones fold below them."""
    rows = [{"item": "a.wav", "metric": "rms_dbfs", "baseline": -12.0, "current": -9.0, "delta": 3.0,
             "verdict": "regressed"}]
    rows += [{"item": "a.wav", "metric": f"m{i}", "baseline": 1.0, "current": 1.0, "delta": 0.0,
              "verdict": "unchanged"} for i in range(5)]
    results = {"schema": "audio-qa.report/1", "status": "fail", "items": [],
               "gate": {"status": "fail", "rows": rows}}
    gate = BeautifulSoup(render_html(results), "html5lib").select_one("#gate")
    shown = gate.select("#gate > table.gate tbody tr")
    assert [[td.get_text() for td in tr.select("td")][:2] for tr in shown] == [["a.wav", "rms_dbfs"]]
    folded = gate.select("details.gate-unchanged table.gate tbody tr")
    assert [tr.select("td")[1].get_text() for tr in folded] == ["m0", "m1", "m2", "m3", "m4"]
    assert gate.select_one("details.gate-unchanged summary").get_text() == "5 unchanged (within tolerance)"


def test_waveform_envelope_is_per_column_not_per_sample(page):
    soup, _ = page
    svg = soup.select_one("#item-0 figure.waveform svg")
    paths = svg.select("path.band")
    assert len(paths) == 2  # one lane per channel
    for p in paths:
        assert p["d"].count("L") == 2 * 800 - 1  # 800 columns, top edge and bottom edge
    # the clipped run reaches full scale in the left lane only: top edge y hits the +1 line
    fs_top = float(svg.select("line.fs")[0]["y1"])
    left_top = [float(pt.split(",")[1]) for pt in paths[0]["d"][1:-1].split("L")[:800]]
    right_top = [float(pt.split(",")[1]) for pt in paths[1]["d"][1:-1].split("L")[:800]]
    assert min(left_top) == pytest.approx(fs_top, abs=0.05)
    assert min(right_top) - float(svg.select("line.fs")[2]["y1"]) == pytest.approx(15.0, abs=0.1)


def test_audio_linked_relative_or_embedded(tmp_path):
    root = tmp_path / "results"
    results = full_results(root)
    out = tmp_path / "site" / "report.html"
    out.parent.mkdir()
    write_html(results, out, search_dirs=[root], embed_audio_bytes=0)
    soup = soup_of(out.read_text(encoding="utf-8"))
    src = soup.select_one("#item-0 audio")["src"]
    assert src == "../results/%3Cscript%3Ealert%281%29%3C/script%3E.wav"
    assert (out.parent / "../results/<script>alert(1)</script>.wav").is_file()
    small = render_html(results, out_dir=tmp_path, search_dirs=[root], embed_audio_bytes=1 << 20)
    data = soup_of(small).select_one("#item-2 audio")["src"]
    assert data.startswith("data:audio/wav;base64,")
    assert base64.b64decode(data.split(",", 1)[1]) == (root / "deg.wav").read_bytes()


def test_missing_audio_and_unreadable_are_explained(tmp_path):
    results = full_results(tmp_path / "r")
    soup = soup_of(render_html(results, out_dir=tmp_path, search_dirs=[tmp_path / "elsewhere"]))
    notes = [li.get_text() for li in soup.select("#item-0 li.figure-note")]
    assert notes == [f"audio figures: not drawn, {HOSTILE_NAME} was not found (looked in {tmp_path / 'elsewhere'})"]
    (tmp_path / "r" / "deg.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    soup = soup_of(render_html(results, out_dir=tmp_path, search_dirs=[tmp_path / "r"]))
    note = soup.select_one("#item-2 li.figure-note").get_text()
    assert note == "audio figures: not drawn, no fmt chunk: the header is damaged"


def test_absent_sections_are_left_out():
    minimal = {"schema": "audio-qa.report/1", "status": "pass", "items": []}
    soup = soup_of(render_html(minimal))
    assert soup.select_one("#summary") is not None
    assert soup.select("section") == [soup.select_one("#summary")]
    assert soup.select_one(".counts").get_text(" ", strip=True) == "0 item(s)"


def test_spectrogram_axes_on_analytic_image():
    freqs = np.geomspace(20.0, 20000.0, 64)
    db = np.full((64, 100), -120.0, dtype=np.float32)
    db[np.argmin(np.abs(freqs - 1000.0)), :] = -6.0
    svg = soup_of(str(spectrogram_svg(db, freqs, 5.0))).find("svg")
    labels = [t.get_text() for t in svg.select("text.tick")]
    assert labels[:7] == ["20", "50", "100", "200", "500", "1k", "2k"]
    assert labels[-6:] == ["0 s", "1 s", "2 s", "3 s", "4 s", "5 s"]
    assert svg.select("text.axis")[-1].get_text() == "colour: -96 to -6 dB"
    # the 1 kHz tick sits at the height of the log-frequency row that holds 1 kHz
    tick_1k = [float(t["y"]) - 4 for t in svg.select("text.tick") if t.get_text() == "1k"][0]
    frac = (np.log(1000) - np.log(20)) / (np.log(20000) - np.log(20))
    assert tick_1k == pytest.approx(8 + 240 * (1 - frac), abs=0.1)
    png = base64.b64decode(svg.find("image")["href"].split(",", 1)[1])
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert rgb.shape == (64, 100, 3)
    row = 63 - int(np.argmin(np.abs(freqs - 1000.0)))  # image rows run from high to low frequency
    magma = (colormaps["magma"]([0.0, 1.0])[:, :3] * 255).round()
    assert np.all(rgb[row] == magma[1]) and np.all(rgb[row - 1] == magma[0])
    assert np.all(np.delete(rgb, row, axis=0) == magma[0])


def _axes(svg):
    """(time of an x, LUFS of a y) from the chart's own tick labels: the mapping a reader uses."""
    ys = [(float(t["y"]) - 4, float(t.get_text())) for t in svg.select("text.tick") if t.get("text-anchor") == "end"]
    xs = [(float(t["x"]), float(t.get_text()[:-2])) for t in svg.select("text.tick") if t.get_text().endswith(" s")]
    (y_a, v_a), (y_b, v_b) = ys[0], ys[-1]
    (x_a, t_a), (x_b, t_b) = xs[0], xs[-1]
    return (lambda x: t_a + (x - x_a) * (t_b - t_a) / (x_b - x_a),
            lambda y: v_a + (y - y_a) * (v_b - v_a) / (y_b - y_a))


def _subpaths(d):
    return [[tuple(map(float, p.split(","))) for p in s.removesuffix("h0").split("L")] for s in d.split("M")[1:]]


def test_loudness_panel_is_svg_with_the_measured_curve(page, tmp_path):
    from qa.metrics.loudness import measure_loudness

    soup, _ = page
    fig = soup.select_one("#item-0 figure.loudness")
    assert fig.select("img") == [] and fig.figcaption.get_text() == "Loudness (LUFS)"
    svg = fig.svg
    t_of, lufs_of = _axes(svg)
    x = 0.5 * sine(440.0, 48000, 2.0, channels=2)
    x[0, 24000:24100] = 1.0
    r = measure_loudness(x, 48000)
    # 2 s: a momentary point every 100 ms from 0.4 s, no short-term window fits (3 s)
    (mom,) = _subpaths(svg.select_one("path.mom")["d"])
    assert svg.select("path.st") == []
    assert len(mom) == len(r.momentary) == 17
    assert [t_of(px) for px, _ in mom] == pytest.approx(r.momentary[:, 0], abs=0.01)
    assert [lufs_of(py) for _, py in mom] == pytest.approx(r.momentary[:, 1], abs=0.02)
    integ = svg.select_one("line.integ")
    assert lufs_of(float(integ["y1"])) == pytest.approx(r.integrated_lufs, abs=0.02)
    assert svg.select_one("text.integ-label").get_text() == f"integrated {r.integrated_lufs:.1f} LUFS"
    assert svg.select("line.target") == []  # no loudness_target check: no target line
    assert svg.select_one("text.axis").get_text() == "LUFS"


def test_loudness_panel_reuses_the_series_in_the_results_and_draws_the_target(tmp_path):
    root = tmp_path / "results"
    results = full_results(root)
    item = results["items"][0]
    # a series no 2 s sine could produce: proof that the figure is drawn from the results
    item["metrics"].update({"integrated_lufs": -30.0, "short_term_series": [],
                            "momentary_series": [[0.4, -31.0], [0.5, -29.0], [1.5, -33.0], [1.6, -35.0]]})
    item["checks"].append(check("loudness_target", "fail", "too quiet", -30.0, -14.0, "LUFS"))
    svg = soup_of(render_html(results, out_dir=tmp_path, search_dirs=[root])).select_one("#item-0 figure.loudness svg")
    t_of, lufs_of = _axes(svg)
    paths = _subpaths(svg.select_one("path.mom")["d"])
    assert len(paths) == 2  # the 0.5 .. 1.5 s hole is a gap, not a straight join
    got = [(round(t_of(px), 2), round(lufs_of(py), 2)) for p in paths for px, py in p]
    assert got == [(0.4, -31.0), (0.5, -29.0), (1.5, -33.0), (1.6, -35.0)]
    assert lufs_of(float(svg.select_one("line.target")["y1"])) == pytest.approx(-14.0, abs=0.01)
    assert svg.select_one("text.target-label").get_text() == "limit -14 LUFS"
    assert lufs_of(float(svg.select_one("line.integ")["y1"])) == pytest.approx(-30.0, abs=0.01)


def test_loudness_series_is_bounded_by_the_pixel_columns():
    from qa.reports.svg import loudness_svg

    t = np.arange(1, 36001) * 0.1  # one hour of 100 ms rows
    v = -20.0 + 5.0 * np.sin(t)
    v[18000] = -2.0  # a one-row peak still shows after the reduction
    svg = soup_of(str(loudness_svg(np.column_stack([t, v]), np.zeros((0, 2)), 3600.0, columns=400))).svg
    _, lufs_of = _axes(svg)
    (pts,) = _subpaths(svg.select_one("path.mom")["d"])
    assert len(pts) <= 2 * 401
    assert max(lufs_of(py) for _, py in pts) == pytest.approx(-2.0, abs=0.05)
    assert min(lufs_of(py) for _, py in pts) == pytest.approx(-25.0, abs=0.05)


def test_loudness_panel_of_silence_says_why_it_is_empty():
    from qa.reports.svg import loudness_svg

    svg = soup_of(str(loudness_svg(np.zeros((0, 2)), np.zeros((0, 2)), 1.0))).svg
    assert svg.select("path") == []
    assert "no loudness above -70 LUFS (silent or shorter than 400 ms)" in [t.get_text() for t in svg.select("text")]
