"""Checks on the content (:mod:`qa.metrics.content`): stereo phase and interleave, dropouts,
noise or buzz instead of music, band-limiting, and chunk seams."""

from __future__ import annotations

import numpy as np

from qa.checks.engine import CheckContext, file_check
from qa.checks.tone import tone_skip
from qa.display import fixed
from qa.metrics.temporal import seam_discontinuity
from qa.results import CheckResult


@file_check("phase")
def phase(m, ctx: CheckContext) -> CheckResult:
    """Stereo channels are not phase-inverted and samples are not interleave-scrambled."""
    c = m.group("content")
    il_fail = ctx.threshold("phase", "fail_interleave_excess")
    excess = c.interleave.excess
    if excess is not None and excess > il_fail:
        return CheckResult(
            "phase", "fail",
            f"neighbouring samples two apart are more alike than adjacent ones (lag-2 "
            f"autocorrelation {c.interleave.r2:.3f} > lag-1 {c.interleave.r1:.3f}): samples "
            "alternate between two streams, an interleaved buffer read with the wrong layout",
            excess, il_fail, "r2-r1",
            hint="a (frames, channels) array was reshaped to (channels, frames); use .T / "
            ".transpose() (or torch .permute) instead of .reshape/.view",
        )
    corr = c.stereo.lr_correlation
    if corr is None:
        why = c.stereo.reason or "no stereo image"
        return CheckResult("phase", "skip", f"{why}; no interleave pattern (lag-2 <= lag-1)"
                           if excess is not None else why)
    fail_c = ctx.threshold("phase", "fail_correlation")
    warn_c = ctx.threshold("phase", "warn_correlation")
    sm = c.stereo.side_to_mid_db
    side = "side only, mid silent" if sm is None and corr < 0 else (
        f"side/mid {sm:+.1f} dB" if sm is not None else "mono content (side silent)")
    msg = f"L/R correlation {corr:+.3f} ({side})"
    hint = ("one channel is (nearly) the negative of the other: the mix cancels in mono; "
            "look for a sign flip or a mid/side decode with swapped terms")
    if corr <= fail_c:
        return CheckResult("phase", "fail", msg + ": the channels are out of phase", corr, fail_c,
                           "correlation", hint=hint)
    if corr <= warn_c:
        return CheckResult("phase", "warn", msg + ": largely out of phase", corr, warn_c,
                           "correlation", hint=hint)
    return CheckResult("phase", "pass", msg, corr, fail_c, "correlation")


@file_check("dropout")
def dropout(m, ctx: CheckContext) -> CheckResult:
    """No cut to silence mid-file: a low-energy run with cliff edges on both sides."""
    c = m.group("content")
    d = c.dropouts
    if d.typical_dbfs is None:
        return CheckResult("dropout", "skip", "digital silence (see not_silent)")
    cliff = ctx.threshold("dropout", "cliff_within_db")
    fail_s = ctx.threshold("dropout", "fail_s")
    warn_s = ctx.threshold("dropout", "warn_s")
    cuts = [r for r in d.runs if r.edge_before_db <= cliff and r.edge_after_db <= cliff]
    if cuts:
        r = max(cuts, key=lambda r: r.duration_s)
        # In continuous material (no other real pause: music, not speech with its pauses
        # between sentences) a shorter cut is already a dropout.
        pause_s = ctx.threshold("dropout", "pause_s")
        # Run lengths are whole envelope frames (220 samples = 9.977 ms at 22.05 kHz): compare
        # with half a frame of slack so a 5-frame pause counts as 50 ms at every rate.
        others = sum(1 for o in d.runs if o is not r and o.duration_s >= pause_s - d.frame_s / 2)
        continuous = others <= ctx.threshold("dropout", "continuous_max_pauses")
        if continuous:
            warn_s = min(warn_s, ctx.threshold("dropout", "continuous_warn_s"))
        msg = (f"{fixed(r.duration_s, warn_s, 2)} s cut to silence at {r.start_s:.2f} s: the level "
               f"drops from {d.typical_dbfs - r.edge_before_db:.0f} dBFS to below "
               f"{d.floor_dbfs:.0f} dBFS and jumps back to {d.typical_dbfs - r.edge_after_db:.0f} "
               f"dBFS with no fade" + (" in otherwise continuous audio" if continuous else ""))
        hint = ("a chunk was lost or a NaN/inf burst was zeroed; check the stage probes "
                "(`audio-qa run`) and the chunk joining of the decoder")
        if r.duration_s >= fail_s:
            return CheckResult("dropout", "fail", msg, r.duration_s, fail_s, "s", hint=hint)
        if r.duration_s >= warn_s:
            return CheckResult("dropout", "warn", msg, r.duration_s, warn_s, "s", hint=hint)
    longest = d.runs[0] if d.runs else None
    if longest is None:
        return CheckResult("dropout", "pass", "no interior silence", 0.0, fail_s, "s")
    kind = ("faded pause (musical silence, not a cut)" if longest not in cuts
            else "short cut-like pause")
    return CheckResult("dropout", "pass",
                       f"longest interior silence {longest.duration_s:.2f} s at "
                       f"{longest.start_s:.2f} s: {kind}", longest.duration_s, fail_s, "s")


@file_check("noise_like")
def noise_like(m, ctx: CheckContext) -> CheckResult:
    """The output is not white-ish noise or a steady buzz instead of music or speech."""
    c = m.group("content")
    fl = c.flatness.median
    if fl is None:
        if c.flatness_too_short:
            return CheckResult("noise_like", "skip", f"spectral flatness n/a: {c.flatness_too_short}")
        return CheckResult("noise_like", "skip", "digital silence (see not_silent)")
    fail_f = ctx.threshold("noise_like", "fail_flatness")
    warn_f = ctx.threshold("noise_like", "warn_flatness")
    hint = ("the sampler or decoder produced noise: check the latent scale, the number of "
            "sampling steps, the precision (float16 overflow) and the vocoder/codec weights")
    if fl >= fail_f:
        return CheckResult("noise_like", "fail",
                           f"spectral flatness {fl:.3f}: the spectrum is flat like white noise "
                           f"(music and speech measure below 0.02)", fl, fail_f, "flatness",
                           hint=hint)
    steady = ctx.threshold("noise_like", "steady_range_db")
    tone = ctx.threshold("noise_like", "tone_peak_fraction")
    rng, pf = c.envelope_range_db, c.peak_fraction
    if rng is not None and rng < steady and pf is not None:
        if pf >= tone:
            return CheckResult("noise_like", "pass",
                               f"a steady single tone ({pf:.0%} of the power in one spectral "
                               "line): a test signal, not noise or buzz", fl, fail_f, "flatness")
        return CheckResult("noise_like", "fail",
                           f"a steady buzz: the level varies by only {rng:.2f} dB over the file "
                           f"(music and speech move by 5 dB or more) and the power is spread "
                           f"over harmonics ({pf:.0%} in the strongest line)", rng, steady, "dB",
                           hint=hint + "; a constant square/saw-like output often means the "
                           "model output was clamped or quantized to a few levels")
    if fl >= warn_f:
        return CheckResult("noise_like", "warn", f"spectral flatness {fl:.3f}: noise-like spectrum",
                           fl, warn_f, "flatness", hint=hint)
    return CheckResult("noise_like", "pass", f"spectral flatness {fl:.3f}", fl, fail_f, "flatness")


@file_check("bandwidth")
def bandwidth(m, ctx: CheckContext) -> CheckResult:
    """The spectrum reaches close to Nyquist, or rolls off naturally instead of stopping."""
    c = m.group("content")
    bw = c.bandwidth_hz
    if bw is None:
        if c.bandwidth_too_short:
            return CheckResult("bandwidth", "skip", f"bandwidth n/a: {c.bandwidth_too_short}")
        return CheckResult("bandwidth", "skip", "digital silence (see not_silent)")
    nyq = c.nyquist_hz
    frac = bw / nyq
    warn_f = ctx.threshold("bandwidth", "warn_fraction")
    if frac < warn_f:
        tone = tone_skip(m, ctx, "bandwidth", "a tone has no band to lose")
        if tone:
            return tone
    fail_f = ctx.threshold("bandwidth", "fail_fraction")
    cliff_db = ctx.threshold("bandwidth", "cliff_db")
    base = f"content reaches {bw / 1000:.1f} kHz ({frac:.0%} of the {nyq / 1000:.2f} kHz Nyquist)"
    if frac >= warn_f or c.cliff_db is None:
        return CheckResult("bandwidth", "pass", base, bw, warn_f * nyq, "Hz")
    if c.cliff_db < cliff_db:
        return CheckResult("bandwidth", "pass",
                           f"{base}, then rolls off gradually ({c.cliff_db:.0f} dB over 1.5 kHz): "
                           "the source's own spectrum, not a lowpass", bw, warn_f * nyq, "Hz")
    msg = (f"{base} and stops there ({c.cliff_db:.0f} dB drop within 1.5 kHz): a lowpass edge, "
           f"as left by a lossy codec (MP3/AAC cut at 11-17 kHz) or by audio rendered at "
           f"~{2 * bw / 1000:.0f} kHz and upsampled")
    hint = ("expected for lossy-coded sources; otherwise generate/decode at the output rate, "
            "or check that the vocoder/codec sample rate matches the declared rate")
    status = "fail" if frac < fail_f else "warn"
    return CheckResult("bandwidth", status, msg, bw, (fail_f if status == "fail" else warn_f) * nyq,
                       "Hz", hint=hint)


@file_check("seams")
def seams(m, ctx: CheckContext) -> CheckResult:
    """No clicks at chunk joins (positions from the pipeline, else periodic jumps)."""
    fail_r = ctx.threshold("seams", "fail_median_ratio")
    warn_r = ctx.threshold("seams", "warn_median_ratio")
    hint = ("chunks are decoded independently and butt-joined; overlap the chunks and "
            "cross-fade (overlap-add) or decode with more context")
    rate = m.audio.sample_rate
    if ctx.seams:
        pos = np.asarray(ctx.seams, dtype=np.int64)
        r = seam_discontinuity(m.audio.samples, pos)
        ok = r[np.isfinite(r)]
        if ok.size == 0:
            return CheckResult("seams", "skip", f"none of the {pos.size} given seam positions "
                               f"lies inside the file ({m.audio.frames} frames)")
        med = float(np.median(ok))
        worst = int(pos[np.isfinite(r)][np.argmax(ok)])
        msg = (f"jump at the {ok.size} given chunk seams: median {med:.1f}x the typical "
               f"sample-to-sample change (worst {ok.max():.1f}x at {worst / rate:.3f} s)")
        status = "fail" if med >= fail_r else "warn" if med >= warn_r else "pass"
        return CheckResult("seams", status, msg, med, fail_r if status != "warn" else warn_r,
                           "ratio", hint=hint if status != "pass" else None)
    s = m.group("seams").search
    c = m.group("content")
    if (c.envelope_range_db is not None and c.peak_fraction is not None
            and c.envelope_range_db < ctx.threshold("noise_like", "steady_range_db")):
        # A steady periodic waveform (a buzz, a test tone) has an edge in every period: its
        # own shape, not joins between chunks (noise_like judges it).
        return CheckResult("seams", "skip",
                           f"steady periodic signal (level range {c.envelope_range_db:.2f} dB): its "
                           "jumps are the waveform's own, not chunk joins (see noise_like)")
    if s.median_ratio is None:
        return CheckResult("seams", "pass", "no seam positions given and no periodic jumps found "
                           "(file too short or no candidates)", None, fail_r, "ratio")
    msg = (f"periodic jumps every {s.period} frames ({s.period / rate:.3f} s, {s.seams} seams "
           f"from {s.phase / rate:.3f} s): median {s.median_ratio:.1f}x the typical "
           "sample-to-sample change")
    if s.median_ratio >= fail_r:
        return CheckResult("seams", "fail", msg, s.median_ratio, fail_r, "ratio", hint=hint)
    if s.median_ratio >= warn_r:
        return CheckResult("seams", "warn", msg, s.median_ratio, warn_r, "ratio", hint=hint)
    return CheckResult("seams", "pass", f"no periodic jumps (best grid: {msg})", s.median_ratio,
                       fail_r, "ratio")
