"""The block filter equals the sample-by-sample recursion of scipy's sosfilt."""

import numpy as np
import pytest
from scipy import signal

from qa.metrics.iir import BlockFilter, _state_space
from qa.metrics.loudness import k_weighting_sos


@pytest.mark.parametrize("rate", [8000, 44100, 48000, 192000])
def test_k_weighting_equals_sosfilt_fed_in_any_pieces(rate):
    sos = k_weighting_sos(rate)
    rng = np.random.default_rng(rate)
    # noise on a DC offset: the high-pass's long memory is carried across the pieces
    x = rng.standard_normal((2, 50_003)) * 0.3 + 0.2
    ref = signal.sosfilt(sos, x, axis=-1)
    f = BlockFilter(sos, 2)
    cuts = [0, 1, 7, 64, 130, 20_000, 20_063, 50_003]  # shorter than, equal to, across blocks
    y = np.concatenate([f.feed(x[:, a:b]) for a, b in zip(cuts, cuts[1:])], axis=1)
    assert y.dtype == np.float64
    assert np.abs(y - ref).max() < 1e-9 * np.abs(ref).max()


def test_float32_samples_give_float32_output_within_its_rounding():
    sos = k_weighting_sos(48000)
    x = (np.random.default_rng(3).standard_normal((1, 200_000)) * 0.25).astype(np.float32)
    ref = signal.sosfilt(sos, x.astype(np.float64), axis=-1)
    y = BlockFilter(sos, 1).feed(x)
    assert y.dtype == np.float32
    assert np.abs(y - ref).max() < 2e-6 * np.abs(ref).max()
    # the power, which loudness reads, to 1e-6 (4e-6 dB)
    assert (y.astype(np.float64) ** 2).sum() / (ref**2).sum() == pytest.approx(1.0, abs=1e-6)


def test_impulse_response_of_a_cascade_matches_the_state_space():
    sos = signal.butter(4, 0.1, output="sos")  # two sections, four states
    A, B, C, D = _state_space(sos)
    imp = np.zeros(300)
    imp[0] = 1.0
    y = BlockFilter(sos, 1, block=16).feed(imp[None, :])[0]
    assert y == pytest.approx(signal.sosfilt(sos, imp), abs=1e-13)
    assert y[0] == pytest.approx(D) and y[1] == pytest.approx(C @ B)


def test_a_non_normalised_section_is_refused():
    with pytest.raises(ValueError, match="a0 = 1"):
        BlockFilter(np.array([[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]), 1)
