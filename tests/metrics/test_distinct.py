import numpy as np
import pytest

from qa.metrics import distinct
from qa.metrics.distinct import (FEW, cpuinfo_is_zen4, digit_passes, distinct_values,
                                 radix_distinct, window_distinct)


def test_distinct_values_int16_grid_and_float():
    x = (np.arange(-100, 100) / 32768.0).astype(np.float32)
    assert distinct_values(x[np.newaxis, :]) == 200
    f = np.linspace(-0.5, 0.5, 100_001)[np.newaxis, :]
    assert distinct_values(f) == 100_001
    few = np.tile([-0.3, 0.1, 0.7], 50_000)[np.newaxis, :] + 1e-9
    assert distinct_values(few) == 3


def _awkward_values(dtype, rng) -> np.ndarray:
    """Values that differ in every 16-bit digit: random music-like samples, their float
    neighbours (the lowest digit), their negatives (the sign bit), both zeros, subnormals,
    each repeated 1-4 times and shuffled."""
    base = (rng.standard_normal(60_000) * 0.2).astype(dtype)
    up = np.nextafter(base[:5000], np.inf).astype(dtype)
    tiny = np.array([np.finfo(dtype).smallest_subnormal * k for k in (1, 2, 3)], dtype=dtype)
    vals = np.concatenate([base, up, -base[:5000], tiny, np.array([0.0, -0.0], dtype=dtype)])
    reps = rng.integers(1, 5, vals.size)
    out = np.repeat(vals, reps)
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("slice_values", [distinct.SLICE, 1000])  # one run of groups, many
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_radix_route_counts_each_value_once_and_leaves_the_input_alone(dtype, slice_values,
                                                                       monkeypatch):
    monkeypatch.setattr(distinct, "SLICE", slice_values)
    rng = np.random.default_rng(7)
    x = _awkward_values(dtype, rng)
    expected = len(set(x.tolist()))  # Python floats: -0.0 == 0.0, NaN-free
    before = x.copy()
    assert radix_distinct(x) == expected
    assert x.view(np.uint8).tobytes() == before.view(np.uint8).tobytes()
    # the public entry point takes the same count by whichever route this machine uses
    assert distinct_values(x.reshape(2, -1) if x.size % 2 == 0 else x[np.newaxis, :]) == expected


@pytest.mark.parametrize("sort_below, block", [
    (distinct.SORT_BELOW, distinct.MARK_BLOCK),  # as shipped: small groups sorted, others marked
    (2, 1000),  # every group of two or more marked, in many blocks
    (1 << 30, 1 << 18),  # every group sorted
])
def test_window_route_counts_each_value_once_and_leaves_the_input_alone(sort_below, block,
                                                                        monkeypatch):
    monkeypatch.setattr(distinct, "SORT_BELOW", sort_below)
    monkeypatch.setattr(distinct, "MARK_BLOCK", block)
    x = _awkward_values(np.float32, np.random.default_rng(11))
    expected = len(set(x.tolist()))
    before = x.copy()
    assert window_distinct(x) == expected
    assert x.view(np.uint8).tobytes() == before.view(np.uint8).tobytes()
    assert distinct_values(x[np.newaxis, :]) == expected


@pytest.mark.parametrize("route", [window_distinct, radix_distinct])
def test_grouping_routes_read_big_endian_input_as_its_values(route):
    x = np.concatenate([np.float32([0.0, -0.0, 0.5, 0.5]),
                        np.random.default_rng(5).standard_normal(5000).astype(np.float32)])
    expected = len(set(x.tolist()))
    assert route(x) == expected
    assert route(x.astype(">f4")) == expected  # -0.0 byte-swapped is not a new value


def test_window_route_zeros_and_values_one_low_bit_apart():
    # +0.0 and -0.0 are one value; patterns that differ only above the window bits (same low
    # 20 bits, other groups) and only in bit 0 are all distinct
    base = np.uint32(0x3F00_1234)
    pats = np.array([base, base + (1 << distinct.WINDOW_BITS), base ^ 1, base | 1 << 31],
                    dtype=np.uint32)
    x = np.repeat(pats.view(np.float32), 3000)
    assert window_distinct(x) == 4
    assert window_distinct(np.concatenate([x, np.float32([0.0, -0.0])])) == 5
    assert window_distinct(np.float32([-0.0, -0.0])) == 1
    assert window_distinct(np.float32([0.25])) == 1


@pytest.mark.parametrize("bits, expected", [
    (32, [(16, 16), (8, 8), (0, 8)]),
    (64, [(48, 16), (32, 16), (16, 16), (8, 8), (0, 8)]),
])
def test_digit_passes_cover_every_bit_once(bits, expected):
    passes = digit_passes(bits)
    assert passes == expected
    covered = sorted(b for shift, size in passes for b in range(shift, shift + size))
    assert covered == list(range(bits))


def test_radix_route_on_a_strided_view_and_one_value():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 40_000)) * 0.3).astype(np.float32)
    view = x[:, ::3].reshape(-1)
    assert radix_distinct(view) == len(set(view.tolist()))
    assert radix_distinct(np.full(10, -0.0, dtype=np.float32)) == 1
    assert radix_distinct(np.array([0.0, -0.0, 0.0], dtype=np.float64)) == 1


def test_many_values_beyond_the_matching_route():
    # more than FEW distinct values, so the count comes from grouping
    x = np.repeat(np.linspace(-0.9, 0.9, 3 * FEW, dtype=np.float32), 3)
    np.random.default_rng(1).shuffle(x)
    assert distinct_values(x[np.newaxis, :]) == 3 * FEW


_ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse2 avx2 avx512f avx512dq avx512vbmi2

processor\t: 1
vendor_id\t: AuthenticAMD
"""


@pytest.mark.parametrize(
    "text, zen4",
    [
        (_ZEN4, True),
        (_ZEN4.replace(" avx512f avx512dq avx512vbmi2", ""), False),  # Zen 3: no AVX-512
        (_ZEN4.replace("cpu family\t: 25", "cpu family\t: 26"), False),  # Zen 5 fixed it
        (_ZEN4.replace("AuthenticAMD", "GenuineIntel").replace(": 25", ": 6"), False),
        ("", False),
    ],
)
def test_zen4_is_read_from_the_first_processor(text, zen4):
    assert cpuinfo_is_zen4(text) is zen4
