"""The networks of the reference pipeline, as small deterministic torch modules.

They stand in for DiffRhythm's learned CFM transformer and VAE decoder with the same shapes and
data flow, so the harness can be run end to end offline:

* :class:`ConditionEncoder`: lyric tokens (frames,) + style embedding (64,) -> the conditional
  and unconditional target latents (frames, 64). Features per frame (chord chroma, melody note,
  bass root, beat and bar phase, levels) are rotated by a fixed orthogonal matrix ``Q`` into the
  latent space, as a trained VAE latent would not be axis-aligned either.
* :class:`VelocityNet`: the flow-matching velocity field ``v(x, t)`` towards the target, with a
  small seeded residual MLP acting on the timbre dimensions (so the seed changes the sound).
* :func:`sample`: Euler ODE over ``steps`` with classifier-free guidance.
* :class:`Decoder`: latent -> (batch, 2, frames*2048) at 44.1 kHz by harmonic-plus-noise
  synthesis (DDSP style): chord pad, sung lead following the lyric timing, bass, kick / snare /
  hi-hat on the tempo, and a 0.35 s FIR room. Oscillators use absolute time and noise is a hash
  of the absolute sample index, so a chunk decoded with enough context equals the whole decode;
  the room reverb needs 0.35 s of context, so chunks decoded without overlap show seams.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from audioqa_pipeline.lyrics import FPS, HOP, SAMPLE_RATE
from audioqa_pipeline.style import decode_embedding

LATENT_DIM = 64
F_CHROMA, F_MELODY, F_BASS = 0, 12, 24
F_BEAT, F_BAR = 36, 38
F_DRUM, F_PAD, F_BASSLVL, F_HAT, F_TEMPO, F_LEAD = 40, 41, 42, 43, 44, 45
F_TIMBRE = 46  # 46..63: seed-driven timbre
#: Chord roots (semitones over the tonic) and minor-third flags, one chord per bar.
PROGRESSIONS = {False: ([0, 7, 9, 5], [False, False, True, False]),   # I V vi IV
                True: ([0, 8, 3, 10], [True, False, False, False])}   # i VI III VII
REVERB_S = 0.35
SYNTH_BLOCK = 16384
#: Size of the decoder's zero-padding transient at a chunk start (full scale).
EDGE_TRANSIENT = 0.1


def _fixed_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rotation() -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(LATENT_DIM, LATENT_DIM, generator=_fixed_generator(1234), dtype=torch.float64))
    return q.float()


class ConditionEncoder(nn.Module):
    """(tokens (F,), style embedding (64,), first frame) -> (cond, uncond) latents (F, 64)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("Q", _rotation())

    def features(self, tokens: torch.Tensor, style: torch.Tensor, first_frame: int = 0):
        tempo, key, minor, energy = decode_embedding(style.detach().cpu().numpy())
        n = tokens.shape[0]
        t = (torch.arange(n, dtype=torch.float64) + first_frame) / FPS
        beats = t * tempo / 60.0
        bar = torch.floor(beats / 4).long()
        roots, minors = PROGRESSIONS[minor]
        root = (key + torch.tensor(roots)[bar % 4]) % 12
        third = (root + torch.where(torch.tensor(minors)[bar % 4], 3, 4)) % 12
        fifth = (root + 7) % 12
        f = torch.zeros(n, LATENT_DIM, dtype=torch.float64)
        rows = torch.arange(n)
        f[rows, F_CHROMA + root] = 1.0
        f[rows, F_CHROMA + third] = 0.8
        f[rows, F_CHROMA + fifth] = 0.8
        tones = torch.stack([root, third, fifth], 1)
        sung = tokens > 0
        note = tones[rows, tokens % 3]
        f[rows[sung], F_MELODY + note[sung]] = 1.0
        f[rows, F_BASS + root] = 1.0
        f[:, F_BEAT], f[:, F_BEAT + 1] = torch.cos(2 * math.pi * beats), torch.sin(2 * math.pi * beats)
        f[:, F_BAR], f[:, F_BAR + 1] = torch.cos(2 * math.pi * beats / 4), torch.sin(2 * math.pi * beats / 4)
        f[:, F_DRUM], f[:, F_PAD], f[:, F_BASSLVL] = energy, 0.5, 0.6
        f[:, F_HAT], f[:, F_TEMPO], f[:, F_LEAD] = 0.6 * energy, tempo / 200.0, 0.8
        u = f.clone()  # unconditional: no harmony, melody or bass line, same groove and levels
        u[:, F_CHROMA:F_CHROMA + 12] = 2.6 / 12
        u[:, F_MELODY:F_MELODY + 12] = 0.0
        u[:, F_BASS:F_BASS + 12] = 1.0 / 12
        return f.float(), u.float()

    def forward(self, tokens, style, first_frame: int = 0):
        f, u = self.features(tokens, style, first_frame)
        return f @ self.Q, u @ self.Q


class VelocityNet(nn.Module):
    """Rectified-flow velocity towards the target: v = (x1_hat - x) / (1 - t), where x1_hat is
    the target plus a small residual of x on the timbre dimensions."""

    def __init__(self, residual_scale: float = 0.35):
        super().__init__()
        g = _fixed_generator(99)
        self.l1, self.l2 = nn.Linear(LATENT_DIM, LATENT_DIM), nn.Linear(LATENT_DIM, LATENT_DIM)
        with torch.no_grad():
            for lin in (self.l1, self.l2):
                lin.weight.copy_(torch.randn(LATENT_DIM, LATENT_DIM, generator=g) / math.sqrt(LATENT_DIM))
                lin.bias.zero_()
        mask = torch.zeros(LATENT_DIM)
        mask[F_TIMBRE:] = residual_scale
        self.register_buffer("mask", mask)
        self.register_buffer("Q", _rotation())

    def forward(self, x: torch.Tensor, t: float, target: torch.Tensor) -> torch.Tensor:
        x1_hat = target + (self.l2(torch.tanh(self.l1(x @ self.Q.T))) * self.mask) @ self.Q
        return (x1_hat - x) / max(1.0 - t, 1e-6)


def sample(net: VelocityNet, cond: torch.Tensor, uncond: torch.Tensor, *, steps: int,
           cfg_strength: float, seed: int, batch: int = 1, progress=None, half_precision: bool = False,
           velocity=None) -> torch.Tensor:
    """Euler ODE from seeded noise (t=0) to data (t=1) with CFG; returns (batch, frames, 64).
    ``half_precision`` keeps the state in float16; ``velocity(step, steps, v)`` (a fault's hook)
    may change each step's guided velocity."""
    with torch.no_grad():
        return _euler(net, cond, uncond, steps, cfg_strength, seed, batch, progress, half_precision, velocity)


def _euler(net, cond, uncond, steps, cfg_strength, seed, batch, progress, half_precision, velocity):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, *cond.shape, generator=g)
    c, u = cond.expand(batch, -1, -1), uncond.expand(batch, -1, -1)
    dtype = torch.float16 if half_precision else torch.float32
    x = x.to(dtype)
    for i in range(steps):
        t, dt = i / steps, 1.0 / steps
        xf = x.float()
        v_c, v_u = net(xf, t, c), net(xf, t, u)
        v = (v_u + cfg_strength * (v_c - v_u)).to(dtype)
        if velocity is not None:
            v = velocity(i, steps, v)
        x = x + dt * v
        if progress is not None:
            progress.update(1)
    return x


def _noise(n_abs: torch.Tensor, salt: int) -> torch.Tensor:
    """Deterministic white noise in [-1, 1) from the absolute sample index (a 64-bit hash)."""
    x = n_abs * 6364136223846793005 + (1442695040888963407 + salt * 0x9E3779B9)
    x = x ^ (x >> 33)
    x = x * -49064778989728563  # 0xff51afd7ed558ccd as a signed int64
    x = x ^ (x >> 29)
    return ((x >> 11) & ((1 << 24) - 1)).float() / float(1 << 23) - 1.0


def _sin_cycles(cycles: torch.Tensor) -> torch.Tensor:
    """sin(2*pi*cycles) with cycles in float64 reduced mod 1 first (exact for long songs)."""
    return torch.sin((2 * math.pi) * torch.frac(cycles).float())


class Decoder(nn.Module):
    """latent (B, F, 64) -> audio (B, 2, F*2048); ``first_frame`` is the absolute frame index of
    latent[:, 0] (chunked decoding)."""

    PAD_PARTIALS = ((1, 1.0), (2, 0.55), (3, 0.25), (4, 0.3), (6, 0.1))
    LEAD_PARTIALS = ((1, 1.0), (2, 0.7), (3, 0.5), (4, 0.28), (5, 0.16), (6, 0.1))
    BASS_PARTIALS = ((1, 1.0), (2, 0.45), (3, 0.15))

    def __init__(self):
        super().__init__()
        self.register_buffer("Q", _rotation())
        g = _fixed_generator(7)
        n = int(REVERB_S * SAMPLE_RATE)
        env = torch.exp(-torch.arange(n) / (0.08 * SAMPLE_RATE))
        ir = torch.randn(2, n, generator=g) * env
        ir[:, :220] = 0  # 5 ms pre-delay
        self.register_buffer("ir", ir / ir.norm(dim=1, keepdim=True))

    @torch.no_grad()
    def forward(self, latent: torch.Tensor, first_frame: int = 0) -> torch.Tensor:
        feat = latent.float() @ self.Q.T  # (B, F, 64)
        B, F, _ = feat.shape
        n_total = F * HOP
        dry = torch.zeros(B, 2, n_total)
        wet_in = torch.zeros(B, 2, n_total)
        for b in range(B):
            for a in range(0, n_total, SYNTH_BLOCK):
                e = min(a + SYNTH_BLOCK, n_total)
                d, w = self._block(feat[b], a, e, first_frame * HOP)
                dry[b, :, a:e], wet_in[b, :, a:e] = d, w
        out = dry + 0.35 * self._reverb(wet_in)
        if first_frame > 0:
            # A conv decoder sees zero padding at the edge of its input: a decaying offset at
            # the start of a chunk (inside the context of an overlapped chunked decode, so it
            # is trimmed away; at the song start the padding matches the silence before it).
            k = torch.arange(min(n_total, int(0.05 * SAMPLE_RATE)))
            out[..., : len(k)] += EDGE_TRANSIENT * torch.exp(-k / (0.01 * SAMPLE_RATE))
        return out

    def _reverb(self, x: torch.Tensor) -> torch.Tensor:
        """FIR room per channel (overlap-add FFT convolution), truncated to the input length."""
        from scipy.signal import oaconvolve

        n = x.shape[-1]
        y = oaconvolve(x.numpy(), self.ir.numpy()[None], mode="full", axes=-1)[..., :n]
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))

    def _block(self, feat: torch.Tensor, a: int, e: int, offset: int):
        F = feat.shape[0]
        n_local = torch.arange(a, e)
        u = n_local.double() / HOP
        i0 = torch.clamp(u.floor().long(), max=F - 1)
        i1 = torch.clamp(i0 + 1, max=F - 1)
        w = (u - i0.double()).float().unsqueeze(1)
        lo, hi = int(i0[0]), int(i1[-1]) + 1
        fb = feat[lo:hi]
        j0, j1 = i0 - lo, i1 - lo

        def interp(cols: torch.Tensor) -> torch.Tensor:  # frame values (frames, k) -> (n, k)
            return cols[j0] * (1 - w) + cols[j1] * w

        scal = interp(fb[:, F_BEAT:F_LEAD + 1])  # beat, bar, levels, tempo
        ctrl = torch.zeros(e - a, LATENT_DIM)
        ctrl[:, F_BEAT:F_LEAD + 1] = scal
        for first in (F_CHROMA, F_MELODY, F_BASS):
            act = torch.nonzero(fb[:, first:first + 12].amax(0) > 1e-3).flatten() + first
            if len(act):
                ctrl[:, act] = interp(fb[:, act])
        n_abs = n_local + offset
        t = n_abs.double() / SAMPLE_RATE
        n = e - a
        out = torch.zeros(2, n)
        wet = torch.zeros(2, n)
        width = (0.0, 0.23)  # per-channel phase offset (cycles/partial): stereo width

        def voices(base_hz, first_dim, level, partials, extra_cycles=None, gain=1.0, stereo=True):
            env = torch.relu(ctrl[:, first_dim:first_dim + 12]) * level.unsqueeze(1)
            active = torch.nonzero(env.amax(0) > 1e-3).flatten().tolist()
            hs = torch.tensor([float(h) for h, _ in partials])
            amps = torch.tensor([a for _, a in partials])
            offs = torch.tensor(width if stereo else (0.0,))
            # (channels, partials) phase offsets, shared by every voice
            off = (offs.unsqueeze(1) * hs.unsqueeze(0)).unsqueeze(-1)
            acc = torch.zeros(len(offs), n)
            for p in active:
                f0 = base_hz * 2 ** (p / 12)
                cyc = f0 * t if extra_cycles is None else f0 * (t + extra_cycles)
                # the fundamental's phase reduced mod 1 in float64, harmonics in float32
                ph = torch.frac(cyc).float()
                s = torch.sin((2 * math.pi) * (hs.view(1, -1, 1) * ph.view(1, 1, -1) + off))
                acc += env[:, p] * torch.einsum("h,chn->cn", amps, s)
            return (acc * gain).expand(2, -1)

        pad = voices(130.81, F_CHROMA, ctrl[:, F_PAD], self.PAD_PARTIALS, gain=0.10)
        vib = -0.006 * torch.cos(2 * math.pi * 5.5 * t) / (2 * math.pi * 5.5)
        lead = voices(261.63, F_MELODY, ctrl[:, F_LEAD], self.LEAD_PARTIALS, vib, gain=0.16,
                      stereo=False)  # sung lead in the centre
        tempo = (ctrl[:, F_TEMPO] * 200).clamp(40, 240)
        beat_dur = 60.0 / tempo
        beat_pos = torch.remainder(torch.atan2(ctrl[:, F_BEAT + 1], ctrl[:, F_BEAT]) / (2 * math.pi), 1.0)
        bar_pos = torch.remainder(torch.atan2(ctrl[:, F_BAR + 1], ctrl[:, F_BAR]) / (2 * math.pi), 1.0)
        tau = beat_pos * beat_dur
        # Drum and pluck envelopes open over ~1.5 ms, as struck strings and skins do: a level
        # that steps up within one sample is a click on every beat, which `seams` rightly flags.
        attack = lambda tau_: 1 - torch.exp(-tau_ / 0.0015)  # noqa: E731
        pluck = 0.55 + 0.45 * torch.exp(-tau / 0.25) * attack(tau)
        bass = voices(65.41, F_BASS, ctrl[:, F_BASSLVL] * pluck, self.BASS_PARTIALS, gain=0.28)
        drum = ctrl[:, F_DRUM].clamp_min(0)
        kick = torch.sin(2 * math.pi * (45 * tau + 3.6 * (1 - torch.exp(-tau / 0.04)))) * torch.exp(-tau / 0.18)
        tau_s = torch.remainder(bar_pos - 0.25, 0.5) * 4 * beat_dur
        tau_h = torch.remainder(2 * beat_pos, 1.0) * beat_dur / 2
        env_s = torch.exp(-tau_s / 0.09) * attack(tau_s)
        env_h = torch.exp(-tau_h / 0.03) * attack(tau_h)
        hat_lvl = ctrl[:, F_HAT].clamp_min(0)
        for ch in range(2):
            nz = _noise(n_abs, 1 + ch)
            hp = 0.5 * (_noise(n_abs, 11 + ch) - _noise(n_abs - 1, 11 + ch))
            snare = (0.6 * nz + 0.4 * torch.sin(2 * math.pi * 185 * tau_s)) * env_s * (0.22 if ch == 0 else 0.18)
            hat = hp * env_h * hat_lvl * (0.07 if ch == 1 else 0.05)
            out[ch] = pad[ch] + lead[ch] + bass[ch] + drum * (0.45 * kick + snare) + hat
            wet[ch] = pad[ch] + lead[ch] + drum * snare
        return out, wet
