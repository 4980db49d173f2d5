"""Results that agree with their status: for every check, a failing row's shown value lies on
the failing side of its shown threshold, in the HTML report and in the pytest plugin's table,
also when the value sits a hair past a threshold that 4 significant digits would hide."""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest
from bs4 import BeautifulSoup

from qa.analyze import check_audio
from qa.audio import Audio
from qa.checks import CheckContext
from qa.profiles import load_profile
from qa.pytest_plugin import check_table
from qa.reports.html import render_html
from qa.results import Report
from tests.checks.test_diagnosis import SR, song

#: How each check fails: value OP threshold. "!=" for a band or an expected value (either side).
FAILS_WHEN = {
    "finite": operator.ge, "not_silent": operator.lt, "channel_silent": operator.ge,
    "clipping": operator.gt, "int16_wrap": operator.ge, "quantization": operator.le,
    "dc_offset": lambda v, t: abs(v) >= abs(t), "layout": operator.ne, "sample_rate": operator.ne,
    "duration": operator.ne, "denormals": operator.gt, "loudness_target": operator.ne,
    "true_peak": operator.gt, "over_compression": operator.lt, "dropout": operator.ge,
    "bandwidth": operator.lt, "seams": operator.ge,
    "phase": lambda v, t: v > t if t > 0 else v <= t,  # interleave excess / L/R correlation
    "noise_like": lambda v, t: v >= t if t < 1 else v < t,  # flatness / steadiness in dB
}


def faults() -> dict[str, np.ndarray]:
    x = song()
    n = x.shape[1]
    out = {}
    y = x.astype(np.float32)
    y[:, SR: SR + 100] = np.nan
    out["nan"] = y
    out["quiet"] = x * 1e-4
    out["dead_channel"] = x * np.array([[1.0], [0.0]])
    out["clamp"] = np.clip(x * 4, -0.7, 0.7)
    out["dc"] = x * 0.5 + 0.05
    t = np.arange(n) / SR
    out["buzz"] = np.tile(0.5 * (2 * ((110 * t) % 1.0) - 1), (2, 1))
    out["noise"] = 0.2 * np.random.default_rng(1).standard_normal(x.shape)
    out["inverted"] = x * np.array([[1.0], [-1.0]])
    cut = x.copy()
    cut[:, 5 * SR: int(6.5 * SR)] = 0.0
    out["cut"] = cut
    out["tanh"] = np.tanh(10 * x / np.abs(x).max()) / np.tanh(10)
    out["lost_gain"] = x * 10 ** (-45 / 20)
    return out


#: Thresholds moved to a hair from the measured value (1e-7 relative): 4 significant digits
#: would print value and threshold alike.
#: check id -> (threshold key, which side of the value it goes: -1 below, +1 above)
HAIR = {"clipping": ("fail_fraction", -1), "dc_offset": ("fail_abs", -1),
        "over_compression": ("fail_crest_db", +1), "dropout": ("fail_s", -1),
        "loudness_target": ("fail_below_lufs", +1), "not_silent": ("fail_peak_dbfs", +1)}


def items(profile=None):
    ctx = CheckContext(profile=profile or load_profile())
    return [check_audio(Audio.from_array(np.ascontiguousarray(y, dtype=np.float32), SR), ctx, path=name)
            for name, y in faults().items()]


def shown_rows(report_items):
    """(check id, shown value, shown threshold) of every failing row of the HTML report."""
    html = render_html(Report(tuple(report_items)).to_dict(), figures=False)
    rows = []
    for tr in BeautifulSoup(html, "html.parser").select("tr.check.status-fail"):
        num = lambda cls: re.match(r"\S+", tr.select_one(f"td.{cls}").get_text()).group(0)
        rows.append((tr["data-check"], num("value"), num("threshold")))
    return rows


def assert_failing_side(rows):
    assert rows
    for cid, v, t in rows:
        if v == "n/a" or t == "n/a":
            continue  # nothing measured (digital silence, unreadable): no number to misread
        fails = FAILS_WHEN.get(cid, operator.ne)
        assert fails(float(v), float(t)), f"{cid}: shown {v} against {t} reads as passing"


def test_every_failing_row_shows_its_value_on_the_failing_side():
    its = items()
    failing = {c.id for i in its for c in i.checks if c.status == "fail"}
    assert failing >= {"finite", "not_silent", "channel_silent", "clipping", "dc_offset",
                       "noise_like", "phase", "dropout", "over_compression", "loudness_target"}
    assert_failing_side(shown_rows(its))
    for i in its:  # the exact values too: the result is the criterion that decided
        for c in i.checks:
            if c.status == "fail" and c.value is not None and c.threshold is not None:
                assert FAILS_WHEN.get(c.id, operator.ne)(c.value, c.threshold), (i.path, c)


def test_a_hair_past_the_threshold_still_reads_as_failing():
    its = items()
    overrides = {}
    for i in its:
        for c in i.checks:
            if c.status == "fail" and c.id in HAIR and c.value is not None and c.id not in overrides:
                v = abs(c.value) if c.id == "dc_offset" else c.value
                key, side = HAIR[c.id]
                overrides[c.id] = {key: v + side * abs(v) * 1e-7}
    assert set(overrides) == set(HAIR)
    its = items(load_profile(overrides=overrides))
    rows = [r for r in shown_rows(its) if r[0] in HAIR]
    assert {r[0] for r in rows} == set(HAIR)
    assert_failing_side(rows)
    for i in its:  # and in the pytest plugin's table
        for line in check_table(i).splitlines():
            m = re.match(r"\s+FAIL\s+(\w+)\s+(\S+)(?: \S+)?\s+(\S+)", line)
            if m and m.group(1) in HAIR:
                assert_failing_side([(m.group(1), m.group(2), m.group(3))])
