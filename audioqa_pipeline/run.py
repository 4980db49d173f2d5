"""The reference generation pipeline, stage by stage under the probes.

lyrics_tokens -> style_embed -> sample -> vae_decode -> rearrange -> normalize -> master ->
to_pcm -> save. ``RunOptions.fault`` injects one of :data:`audioqa_pipeline.faults.FAULTS`
through its stage's hook.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from audioqa_pipeline.faults import Fault, Hooks, get_fault
from audioqa_pipeline.lyrics import FPS, HOP, SAMPLE_RATE, frame_tokens, parse_lrc
from audioqa_pipeline.master import master, peak_normalize
from audioqa_pipeline.save import save_stage
from audioqa_pipeline.scenario import Scenario
from audioqa_pipeline.style import EMBED_DIM, parse_style, style_embedding
from qa.probes import Probe

CHUNK_FRAMES = 128
OVERLAP_FRAMES = 16  # 0.74 s of context each side: more than the decoder's 0.35 s room tail
#: Seconds the save stage may run past the writer's timeout: starting save_audio's child process,
#: the read-back verify and the rename (well under 2 s for the 95 s song on 2 cores).
SAVE_MARGIN_S = 10.0
#: A complete generation ends in its outro: the decoded song's last ENDING_S seconds fade out
#: (raised cosine), as a model that reached its end-of-song does. A song that stops at full
#: level is the truncated_end fault of the file checks.
ENDING_S = 1.5


@dataclass
class RunOptions:
    steps: int = 32
    cfg_strength: float = 2.0
    seed: int = 0
    chunked: bool = False
    fault: str | None = None
    master: bool = True
    target_lufs: float = -14.0
    ceiling_dbtp: float = -1.0
    save_timeout_s: float = 30.0
    progress: bool = False
    threads: int = 1


@dataclass
class RunOutput:
    scenario: Scenario
    path: str | None
    written: bool
    sample_rate: int
    seams: tuple[int, ...]
    fault: Fault | None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_pipeline(scenario: Scenario, out_dir: str, probe: Probe, opts: RunOptions) -> RunOutput:
    """Run ``scenario`` stage by stage under ``probe``, with the hooks of ``opts.fault`` (see
    :class:`audioqa_pipeline.faults.Hooks`), and save the song into ``out_dir``."""
    import torch

    torch.set_num_threads(opts.threads)  # elementwise synthesis: more threads only contend on 2 cores
    fault = get_fault(opts.fault)
    hooks = fault.hooks if fault else Hooks()
    t_start = time.perf_counter()
    n_frames = int(math.ceil(scenario.duration_s * FPS))
    n_samples = n_frames * HOP
    tokens, emb = _condition(scenario, n_frames, probe)
    latent = _sample(tokens, emb, n_frames, probe, opts, hooks)
    audio, seams = _decode_stage(latent, probe, opts, hooks)
    out = _to_song(audio, n_samples, probe, hooks)
    notes: list[str] = []
    if opts.master:
        out = _master_stage(out, n_samples, probe, opts, hooks, notes)
    with probe.stage("to_pcm", kind="pcm", layout="channels_first", rank=2, sample_rate=SAMPLE_RATE) as s:
        pcm = s.record(hooks.to_pcm(out, lambda x: (x.clamp(-1, 1) * 32767).round().to(torch.int16)))
    os.makedirs(out_dir, exist_ok=True)
    path = output_path(out_dir, f"{scenario.name}{'_' + fault.name if fault else ''}", notes)
    written, rate = _save(pcm, path, probe, opts, hooks)
    if written:
        record_output(path)
    seconds = time.perf_counter() - t_start
    return RunOutput(scenario, path if written else None, written, rate, tuple(seams), fault, notes, seconds)


def _condition(scenario: Scenario, n_frames: int, probe: Probe):
    import torch

    with probe.stage("lyrics_tokens", kind="control", shape=(n_frames,), layout="frames", silent_ok=True) as s:
        lines, problems = parse_lrc(scenario.lrc, scenario.lrc_path or scenario.name, strict=True)
        tokens = torch.tensor(frame_tokens(lines, n_frames), dtype=torch.long)
        s.note(f"{len(lines)} timed lines, {int((tokens > 0).sum())} sung frames of {n_frames}")
        s.record(tokens)
    with probe.stage("style_embed", kind="control", shape=(EMBED_DIM,), layout="vector") as s:
        style = parse_style(scenario.style)
        emb = s.record(torch.from_numpy(style_embedding(style)))
        s.note(f"style: {style.describe()}")
    return tokens, emb


def _sample(tokens, emb, n_frames: int, probe: Probe, opts: RunOptions, hooks: Hooks):
    import torch

    from audioqa_pipeline.model import ConditionEncoder, VelocityNet, sample

    enc, net = ConditionEncoder(), VelocityNet()
    with probe.stage("sample", kind="latent", shape=(hooks.batch, n_frames, 64),
                     layout="batch_frames_channels", frame_rate=FPS) as s:
        with torch.no_grad():
            cond, uncond = enc(tokens, emb)
        bar = _progress(opts.steps, opts.progress)
        latent = sample(net, cond, uncond, steps=opts.steps, cfg_strength=opts.cfg_strength, seed=opts.seed,
                        batch=hooks.batch, progress=bar, half_precision=hooks.half_precision,
                        velocity=hooks.velocity)
        if bar is not None:
            bar.close()
        return s.record(hooks.sampled(latent))


def _decode_stage(latent, probe: Probe, opts: RunOptions, hooks: Hooks):
    from audioqa_pipeline.model import Decoder

    chunked, overlap = hooks.decode_plan(opts.chunked, OVERLAP_FRAMES)
    with probe.stage("vae_decode", kind="audio", shape=(hooks.batch, 2, latent.shape[1] * HOP),
                     layout="channels_first", sample_rate=SAMPLE_RATE) as s:
        audio, seams = _decode(Decoder(), latent.float(), chunked, overlap)
        audio = hooks.decoded(_ending(audio) if hooks.reaches_end else audio)
        s.record(audio, seams=seams)
    return audio, seams


def _to_song(audio, n_samples: int, probe: Probe, hooks: Hooks):
    with probe.stage("rearrange", kind="audio", shape=(2, n_samples), layout="channels_first",
                     sample_rate=SAMPLE_RATE) as s:
        out = s.record(hooks.rearrange(audio))
    with probe.stage("normalize", kind="audio", shape=(2, n_samples), layout="channels_first",
                     sample_rate=SAMPLE_RATE, max_peak_dbfs=0.0) as s:
        return s.record(hooks.normalize(out, lambda x: peak_normalize(x, -1.0)))


def _master_stage(out, n_samples: int, probe: Probe, opts: RunOptions, hooks: Hooks, notes: list[str]):
    import torch

    with probe.stage("master", kind="audio", shape=(2, n_samples), layout="channels_first",
                     sample_rate=SAMPLE_RATE, max_peak_dbfs=-0.5, feeds_int=True) as s:
        x = out.double().numpy()
        if np.isfinite(x).all():
            y, mnotes = master(x, SAMPLE_RATE, target_lufs=opts.target_lufs, ceiling_dbtp=opts.ceiling_dbtp)
            notes += mnotes
        else:
            y = x
            s.note("mastering skipped: the input holds NaN/Inf")
        return s.record(torch.from_numpy(hooks.mastered(y).astype(np.float32)))


def _save(pcm, path: str, probe: Probe, opts: RunOptions, hooks: Hooks) -> tuple[bool, int]:
    # The stage budget leaves save_audio room to start its child, verify and rename after the
    # writer's own timeout, so a cut save is reported with the child's stack, not the parent's.
    with probe.stage("save", kind="audio", layout="channels_first", rank=2, sample_rate=SAMPLE_RATE,
                     budget_s=opts.save_timeout_s + SAVE_MARGIN_S) as s:
        to_writer, rate = hooks.to_writer(pcm, SAMPLE_RATE)
        s.record(to_writer, sample_rate=rate)
        outcome = save_stage(to_writer, path, rate, opts.save_timeout_s, hooks.writers)
        for c in outcome.checks:
            s.add_check(c)
        if outcome.stall is not None:
            s.stalled(outcome.stall)
    return outcome.written, rate


#: One name a line: the files of an output folder that audio-qa wrote (and may replace).
LEDGER = ".audio-qa-outputs"


def output_path(out_dir: str, stem: str, notes: list[str]) -> str:
    """``out_dir/stem.wav``, unless a file of that name exists that audio-qa did not write
    (not in the folder's :data:`LEDGER`): then a free name beside it (``stem-2.wav``, ...)
    with a note, so that a run never replaces a file the user owns."""
    made = _ledger(out_dir)
    path = os.path.join(out_dir, f"{stem}.wav")
    k = 1
    while os.path.lexists(path) and os.path.basename(path) not in made:
        k += 1
        path = os.path.join(out_dir, f"{stem}-{k}.wav")
    if k > 1:
        notes.append(f"{os.path.join(out_dir, stem + '.wav')} exists and was not written by "
                     f"audio-qa: the output was written beside it as {path}")
    return path


def record_output(path: str) -> None:
    """Add ``path`` to its folder's ledger of files audio-qa wrote."""
    from qa.atomic import write_atomic

    folder, name = os.path.split(path)
    made = _ledger(folder)
    if name not in made:
        write_atomic(os.path.join(folder, LEDGER), "".join(f"{n}\n" for n in sorted(made | {name})))


def _ledger(folder: str) -> set[str]:
    try:
        with open(os.path.join(folder, LEDGER), encoding="utf-8") as f:
            return {line.rstrip("\n") for line in f if line.strip()}
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return set()


def _ending(audio):
    """The outro of a complete song: the last :data:`ENDING_S` of ``audio`` (..., samples)
    faded to silence in place with a raised-cosine (Hann half-window) release."""
    import torch

    n = min(audio.shape[-1], int(ENDING_S * SAMPLE_RATE))
    if n > 0:
        audio[..., -n:] *= 0.5 * (1 + torch.cos(torch.arange(n, dtype=audio.dtype) * (math.pi / n)))
    return audio


def _decode(dec, latent, chunked: bool, overlap: int):
    """Whole, or in chunks of CHUNK_FRAMES decoded with ``overlap`` frames of context each side
    (the context is decoded and dropped, as DiffRhythm's chunked decode does)."""
    import torch

    F = latent.shape[1]
    if not chunked or F <= CHUNK_FRAMES:
        return dec(latent), ()
    parts, seams = [], []
    for a in range(0, F, CHUNK_FRAMES):
        b = min(a + CHUNK_FRAMES, F)
        lo, hi = max(0, a - overlap), min(F, b + overlap)
        y = dec(latent[:, lo:hi], first_frame=lo)
        parts.append(y[..., (a - lo) * HOP: (b - lo) * HOP])
        if a:
            seams.append(a * HOP)
    return torch.cat(parts, dim=-1), tuple(seams)


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="sampling", unit="step", file=sys.stderr, leave=False)
