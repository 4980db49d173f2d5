"""A cascade of biquads (``sos``, as :func:`scipy.signal.sosfilt`) run as matrix products on
blocks of samples: the same output to float rounding, several times faster than the
sample-by-sample recursion for long signals (the K-weighting of every loudness measurement).

The cascade is one linear state-space system s[t+1] = A s[t] + B x[t], y[t] = C s[t] + D x[t]
(each biquad in transposed direct form II, the second fed by the first). For a block of ``L``
samples starting in state s0 (the standard block-state equations, e.g. Proakis & Manolakis,
*Digital Signal Processing*, state-space realisations):

* y[j] = C A^j s0 + sum_{i<=j} h[j-i] x[i], h the impulse response (h[0] = D, h[k] = C A^(k-1) B):
  the zero-state part is one product with an ``L x L`` Toeplitz matrix for every block at once
  (float32 for float32 samples: the taps are ~1e-7 relative, as the samples);
* the state after the block is s1 = M s0 + sum_i A^(L-1-i) B x[i], M = A^L.

The states at the block starts obey the recurrence S[k+1] = M S[k] + U[k]. By Cayley-Hamilton
(chi(M) = 0, chi the characteristic polynomial of M, chi(z) = z^n + c1 z^(n-1) + ... + cn), it
becomes n-th order with scalar coefficients, S[k+n] + c1 S[k+n-1] + ... + cn S[k] =
sum_m N_m U[k+m] with N_m = sum_{j<=n-1-m} c_j M^(n-1-m-j), which :func:`scipy.signal.lfilter`
runs over all blocks in one call (float64; the poles of chi are those of the filter raised to the
``L``-th power, well inside the unit circle). Nothing needs an eigendecomposition, so a repeated
pole (the K-weighting high-pass is nearly critically damped) costs no precision.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from qa.metrics.blas import one_blas_thread

#: Samples per block: the block product costs ``L + n`` multiply-adds per sample, the block
#: recurrence a few passes over ``n`` values per block; 64 is the fastest measured for the
#: 4-state K-weighting cascade (benchmarks/loudness.py: 16 and 32 spend more on the recurrence).
BLOCK = 64
#: Blocks per matrix product (1024 x 64 samples: the temporaries stay in the CPU cache).
_PIECE = 1024


def _state_space(sos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, B, C, D) of the cascade ``sos`` (sections x 6, a0 = 1), two states per section."""
    sos = np.asarray(sos, dtype=np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6 or not np.all(sos[:, 3] == 1.0):
        raise ValueError(f"expected normalised second-order sections (k, 6) with a0 = 1, got {sos.shape}")
    n = 2 * len(sos)
    A, B, C, D = np.zeros((n, n)), np.zeros(n), np.zeros(n), 1.0
    for k, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        i = 2 * k
        # section k, input u = C s + D x (the sections before it; C, D so far):
        # y = s1 + b0 u; s1' = -a1 s1 + s2 + (b1 - a1 b0) u; s2' = -a2 s1 + (b2 - a2 b0) u
        bk = np.array([b1 - a1 * b0, b2 - a2 * b0])
        A[i : i + 2, i : i + 2] = [[-a1, 1.0], [-a2, 0.0]]
        A[i : i + 2, :i] = np.outer(bk, C[:i])
        B[i : i + 2] = bk * D
        C = b0 * C
        C[i] += 1.0
        D = b0 * D
    return A, B, C, D


class BlockFilter:
    """The cascade ``sos`` for (channels, frames) blocks fed in order, each channel with its own
    state carried between calls (zero at the start), as ``sosfilt`` with ``zi`` would."""

    def __init__(self, sos: np.ndarray, channels: int, block: int = BLOCK):
        A, B, C, D = _state_space(sos)
        n, L = len(B), int(block)
        self.n, self.L = n, L
        powers = [np.eye(n)]
        for _ in range(L):
            powers.append(A @ powers[-1])
        self.powers = np.array(powers)  # A^0 .. A^L
        h = np.empty(L)
        h[0] = D
        for k in range(1, L):
            h[k] = C @ powers[k - 1] @ B
        self.toeplitz = np.zeros((L, L))  # toeplitz[i, j] = h[j - i], j >= i
        for i in range(L):
            self.toeplitz[i, i:] = h[: L - i]
        self.obs = np.array([C @ powers[j] for j in range(L)]).T  # (n, L): C A^j
        self.weights = np.vstack([self.toeplitz, self.obs])  # (L + n, L)
        self.weights32 = self.weights.astype(np.float32)
        self.ctrl = np.array([powers[L - 1 - i] @ B for i in range(L)])  # (L, n): A^(L-1-i) B
        M = powers[L]
        self.M = M
        c = np.poly(M).real  # characteristic polynomial of M: 1, c1, ..., cn
        self.chi = c
        Mp = [np.eye(n)]
        for _ in range(n):
            Mp.append(M @ Mp[-1])
        self.drive = [sum(c[j] * Mp[n - 1 - m - j] for j in range(n - m)) for m in range(n)]
        self.state = np.zeros((channels, n))

    def feed(self, x: np.ndarray) -> np.ndarray:
        """Filter (channels, k) samples, any k. The output is float32 for float32 samples (each
        value to ~1e-7 of the float64 recursion's, as the samples themselves), else float64."""
        x = np.asarray(x)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        out = np.empty(x.shape, dtype=x.dtype)
        with one_blas_thread():
            for c in range(x.shape[0]):
                self.state[c] = self._channel(x[c], self.state[c], out[c])
        return out

    def _channel(self, x: np.ndarray, s0: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Filter one channel's ``x`` from state ``s0`` into ``y``; returns the end state."""
        L, n = self.L, self.n
        K = x.size // L
        s = s0
        if K:
            blocks = x[: K * L].reshape(K, L)
            W = self.weights32 if x.dtype == np.float32 else self.weights
            # the state input of every block, in float64 (the states carry the filter's memory)
            U = np.empty((K, n))
            for a in range(0, K, _PIECE):
                np.matmul(blocks[a : a + _PIECE].astype(np.float64), self.ctrl, out=U[a : a + _PIECE])
            starts = self._starts(s0, U)  # (K + 1, n): S[0] .. S[K]
            # one product gives every block's output: [x | S] @ [Toeplitz ; C A^j], in pieces
            # that stay in cache (each full-length pass costs a memory sweep)
            yb = y[: K * L].reshape(K, L)
            aug = np.empty((min(K, _PIECE), L + n), dtype=x.dtype)
            for a in range(0, K, _PIECE):
                b = min(a + _PIECE, K)
                aug[: b - a, :L] = blocks[a:b]
                aug[: b - a, L:] = starts[a:b]
                np.matmul(aug[: b - a], W, out=yb[a:b])
            s = starts[K]
        r = x.size - K * L
        if r:  # the last partial block, directly from its state
            tail = x[K * L :].astype(np.float64)
            y[K * L :] = s @ self.obs[:, :r] + tail @ self.toeplitz[:r, :r]
            s = self.powers[r] @ s + tail @ self.ctrl[L - r :]
        return s

    def _starts(self, s0: np.ndarray, U: np.ndarray) -> np.ndarray:
        """States at every block start, S[0] = s0 .. S[K], from S[k+1] = M S[k] + U[k]."""
        K, n = U.shape
        S = np.empty((n, K + 1))  # states along the rows: lfilter runs along contiguous memory
        S[:, 0] = s0
        first = min(K, n - 1)
        for k in range(first):  # S[1] .. S[n-1] directly
            S[:, k + 1] = self.M @ S[:, k] + U[k]
        if K >= n:
            # S[k+n] + c1 S[k+n-1] + ... + cn S[k] = sum_m N_m U[k+m], k = 0 .. K-n
            R = sum(self.drive[m] @ U[m : K - n + 1 + m].T for m in range(n))
            zi = np.stack([signal.lfiltic([1.0], self.chi, S[i, n - 1 :: -1]) for i in range(n)])
            S[:, n:], _ = signal.lfilter([1.0], self.chi, R, axis=-1, zi=zi)
        return S.T
