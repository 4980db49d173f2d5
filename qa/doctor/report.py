"""Turning probes into contract items (kind "backend") and a diagnosis a newcomer can act on.

Checks: ``backend_available`` (skip when an optional backend is simply not installed, fail when
it is installed but cannot load), ``save_roundtrip`` (fail on a failed or corrupted save, warn
on a wrong subtype or the int16 square-wave trap), ``save_timeout`` (fail on a hang) and
``output_dir`` (fail when it cannot be written, warn on a slow filesystem or too little space).
"""

from __future__ import annotations

from dataclasses import replace

from qa.doctor.backends import BackendProbe
from qa.doctor.platform import SLOW_FILESYSTEMS, DirReport
from qa.results import CheckResult, ItemResult

_MODULE = {"soundfile": "soundfile", "scipy": "scipy", "torchaudio": "torchaudio", "pyav": "av"}
#: Output directory throughput below this fraction of the temp directory's is worth a warning:
#: on one disk the two agree within a factor of ~2; 9p shares measure 10-50x slower.
SLOW_RATIO = 0.2
#: Cold save slower than this (s) is named as lazy library loading rather than left unexplained.
LAZY_LOAD_S = 1.0


def short_error(err: str | None) -> str:
    """One line for the human summary: TorchCodec's multi-page loading report becomes the reason
    per FFmpeg version it tried ("5: libavutil.so.57: file too short"); JSON keeps it all."""
    import re

    if not err:
        return ""
    head = re.sub(r"\.?\s*Likely causes:?\s*$", "", err.strip().splitlines()[0]).rstrip(". ")
    blocks = re.split(r"^FFmpeg version (\d+):$", err, flags=re.M)
    if len(blocks) < 3:
        return head
    why = []
    for ver, body in zip(blocks[1::2], blocks[2::2]):
        m = re.search(r"^OSError: (.*)$", body, flags=re.M)
        reason = m.group(1) if m else "failed"
        reason = reason.replace(": cannot open shared object file: No such file or directory", " not found")
        why.append(f"FFmpeg {ver}: {reason}")
    return f"{head} ({'; '.join(why)})"


def not_installed(p: BackendProbe) -> bool:
    err = p.error or ""
    mod = _MODULE.get(p.name)
    return (mod is not None and err.startswith(f"ModuleNotFoundError: No module named '{mod}'")) or \
        err.startswith("FileNotFoundError:")


def backend_item(p: BackendProbe, hint: str, required: bool = True) -> ItemResult:
    """The backend's item. A ``required`` backend (one the pipeline under test saves through)
    fails when broken or missing; an optional one that is broken only warns, with the same
    diagnosis and fix, since nothing the pipeline does goes through it."""
    checks = [_available(p, hint)]
    usable = bool(p.available)
    cells = p.cells
    if not usable or not cells:
        why = "not available" if not usable else "inventory only: audio-qa does not save through it"
        checks += [CheckResult("save_roundtrip", "skip", why), CheckResult("save_timeout", "skip", why)]
    else:
        checks += [_roundtrip(p), _timeout(p)]
    extra = {"backend": p.name, "version": p.info.get("version"), "info": p.info,
             "import_seconds": p.import_s, "formats": [c.to_dict() for c in cells],
             "int16_trap": p.int16_trap}
    if p.import_hang:
        extra["hang"] = {**p.import_hang.__dict__, "kind": p.import_hang.kind}
    extra["required"] = required
    checks = [_as_required(c, p.name, hint) if required else _as_optional(c, p.name) for c in checks]
    return ItemResult("backend", p.name, tuple(checks), extra=extra)


def _as_required(c: CheckResult, name: str, hint: str) -> CheckResult:
    if c.id != "backend_available" or c.status != "skip":
        return c
    return replace(c, status="fail", message=f"{c.message}; it is required (the pipeline under test saves "
                   "through it: [tool.audio-qa.doctor] require / --require)", hint=hint)


def _as_optional(c: CheckResult, name: str) -> CheckResult:
    if c.status != "fail":
        return c
    return replace(c, status="warn", message=f"optional backend {name}: {c.message}",
                   hint=(c.hint + "; " if c.hint else "") + "or ignore it: the pipeline under test does not "
                   f"save through {name} (add it to [tool.audio-qa.doctor] require if it does)")


def _available(p: BackendProbe, hint: str) -> CheckResult:
    if p.available:
        return CheckResult("backend_available", "pass", f"{p.name} {p.info.get('version', '')} loaded "
                           f"in {p.import_s:.2f} s", value=round(p.import_s or 0.0, 3), unit="s")
    if not_installed(p):
        return CheckResult("backend_available", "skip", f"{p.name} is not installed ({p.error})", hint=hint)
    return CheckResult("backend_available", "fail", f"{p.name} is installed but cannot be used: {short_error(p.error)}",
                       hint=_fix_for(p, hint))


def _fix_for(p: BackendProbe, hint: str) -> str:
    err = p.error or ""
    if p.name == "torchaudio" and ("torchcodec" in err.lower() or "libav" in err or "ffmpeg" in err.lower()):
        return ("torchaudio >= 2.9 saves through TorchCodec, which needs a torch of the matching release "
                "and shared FFmpeg libraries (libavutil etc., FFmpeg 4-8): `apt install ffmpeg` or "
                "`conda install -c conda-forge ffmpeg`, and `pip install torchcodec` matching torch; "
                "or save with soundfile (qa.io.save_audio falls back to it)")
    if p.import_hang:
        return "importing it hangs: see the stack in the JSON (--json) and reinstall the package"
    return hint


def _roundtrip(p: BackendProbe) -> CheckResult:
    failed = [c for c in p.cells if c.outcome == "failed"]
    wrong = [c for c in p.cells if c.outcome == "wrong_subtype"]
    ok = [c for c in p.cells if c.outcome == "ok"]
    if failed:
        c = failed[0]
        return CheckResult("save_roundtrip", "fail", f"{len(failed)} of {len(p.cells)} format(s) failed; "
                           f"{c.format}: {c.message}", value=len(failed), unit="formats",
                           hint=f"save {c.format} with another backend (soundfile writes every format here)")
    if p.int16_trap:
        return CheckResult("save_roundtrip", "warn",
                           f"{p.name} {p.info.get('version')} writes an int16 tensor as a +-1 square wave",
                           hint="pass float samples in [-1, 1]: tensor.float() / 32768 (qa.io.save_audio does this)")
    if wrong:
        txt = ", ".join(f"{c.format} -> {c.subtype}" for c in wrong)
        return CheckResult("save_roundtrip", "warn", f"wrong subtype: {txt}", value=len(wrong), unit="formats",
                           hint="this backend picks the subtype itself; use soundfile with subtype= when it matters")
    return CheckResult("save_roundtrip", "pass", f"{len(ok)} format(s) written and read back correctly",
                       value=len(ok), unit="formats")


def _timeout(p: BackendProbe) -> CheckResult:
    hung = [c for c in p.cells if c.outcome == "hung"]
    if hung:
        h = hung[0].hang
        fix = ("the file kept growing: the output filesystem is slow; save to a local Linux directory"
               if h and h.growing else
               "the writer blocked without writing: see the stack in the JSON; try another backend or directory")
        return CheckResult("save_timeout", "fail", f"{hung[0].format}: {hung[0].message}",
                           value=h.seconds if h else None, unit="s", hint=fix)
    slowest = max((c.cold_s or 0.0) for c in p.cells)
    return CheckResult("save_timeout", "pass", f"every save finished; slowest first save {slowest:.3f} s",
                       value=round(slowest, 4), unit="s")


def dir_item(d: DirReport, facts: dict, expected_bytes: int) -> ItemResult:
    extra = {"backend": "platform", **facts, "filesystem": d.fstype, "mountpoint": d.mountpoint,
             "free_bytes": d.free_bytes, "write_mb_per_s": d.mb_per_s, "temp_write_mb_per_s": d.temp_mb_per_s}
    return ItemResult("backend", d.path, (_dir_check(d, expected_bytes),), extra=extra)


def _dir_check(d: DirReport, expected: int) -> CheckResult:
    if not d.exists:
        return CheckResult("output_dir", "fail", f"{d.path} does not exist", hint="create it or pass --output-dir")
    if not d.writable:
        return CheckResult("output_dir", "fail", f"{d.path} cannot be written: {d.write_error}",
                           hint="fix the permissions or mount (read-only? immutable?) or choose another directory")
    if d.fstype in SLOW_FILESYSTEMS:
        return CheckResult("output_dir", "warn", f"{d.path} is on {d.fstype} ({SLOW_FILESYSTEMS[d.fstype]}), "
                           f"measured {d.mb_per_s:.0f} MB/s", value=d.mb_per_s, unit="MB/s",
                           hint="write to a directory on the Linux filesystem (e.g. ~/out) and copy the results over")
    if d.free_bytes is not None and d.free_bytes < expected:
        return CheckResult("output_dir", "warn", f"only {d.free_bytes / 1e6:.0f} MB free, a save needs about "
                           f"{expected / 1e6:.0f} MB", value=d.free_bytes, threshold=expected, unit="bytes",
                           hint="free some space or choose another directory")
    if d.mb_per_s is not None and d.temp_mb_per_s and d.mb_per_s < SLOW_RATIO * d.temp_mb_per_s:
        return CheckResult("output_dir", "warn", f"writes at {d.mb_per_s:.0f} MB/s, the temp directory at "
                           f"{d.temp_mb_per_s:.0f} MB/s", value=d.mb_per_s, unit="MB/s",
                           hint="write to a local directory and copy the results over")
    speed = f", {d.mb_per_s:.0f} MB/s" if d.mb_per_s is not None else ""
    return CheckResult("output_dir", "pass", f"writable, {d.fstype or 'unknown filesystem'}{speed}, "
                       f"{(d.free_bytes or 0) / 1e9:.1f} GB free", value=d.mb_per_s, unit="MB/s")


def diagnosis(probes: list[BackendProbe], d: DirReport, facts: dict) -> str:
    """A paragraph naming the likely cause of save trouble and its fix, most serious first."""
    out: list[str] = []
    for p in probes:
        for c in p.cells:
            if c.outcome == "hung" and c.hang:
                if c.hang.growing:
                    out.append(f"Saving {c.format} with {p.name} was still writing after {c.hang.seconds:.0f} s: "
                               "the output directory is slow, not the code. Save to a local directory.")
                else:
                    size = ("no file was created" if c.hang.bytes_written is None else
                            f"the file stopped growing at {c.hang.bytes_written} bytes")
                    out.append(f"Saving {c.format} with {p.name} stalled ({size}): the writer is blocked; "
                               "the stack is in --json. Use another backend (qa.io.save_audio with "
                               "timeout_s falls back).")
        if p.import_hang:
            out.append(f"Importing {p.name} hung for {p.import_hang.seconds:.0f} s; the stack is in --json.")
    ta = next((p for p in probes if p.name == "torchaudio"), None)
    if ta is not None and ta.available is False and not not_installed(ta):
        out.append(f"torchaudio cannot save: {short_error(ta.error)}. {_fix_for(ta, '')}.")
    if ta is not None and ta.int16_trap:
        out.append(f"torchaudio {ta.info.get('version')} turns an int16 tensor into a +-1 square wave "
                   "(it expects floats in [-1, 1]): convert with tensor.float() / 32768 before saving.")
    if ta is not None and any(c.outcome == "wrong_subtype" for c in ta.cells):
        out.append("torchaudio (through TorchCodec/FFmpeg) writes 16-bit PCM WAV even from float samples; "
                   "use soundfile with subtype='FLOAT' when you need float WAV.")
    for p in probes:
        slow = [c for c in p.cells if c.cold_s and c.warm_s is not None and c.cold_s > LAZY_LOAD_S]
        if p.available and p.import_s and p.import_s > LAZY_LOAD_S:
            first = f"importing {p.name} took {p.import_s:.1f} s"
            if slow:
                first += f" and its first save {slow[0].cold_s:.1f} s (later saves {slow[0].warm_s:.2f} s)"
            out.append(f"Slow first save is normal: {first} while libraries load; not a hang.")
    if d.fstype in SLOW_FILESYSTEMS:
        wsl = f" (WSL{facts.get('wsl')})" if facts.get("wsl") else ""
        out.append(f"The output directory is on {d.fstype}{wsl}, {SLOW_FILESYSTEMS[d.fstype]}: large saves can "
                   "crawl or wedge there. Write to the Linux filesystem and copy to the Windows drive afterwards.")
    if not d.writable:
        out.append(f"The output directory {d.path} cannot be written ({d.write_error}); every save there will fail.")
    for p in probes:
        failed = [c for c in p.cells if c.outcome == "failed"]
        if p.available and failed:
            out.append(f"{p.name} failed to save {', '.join(c.format for c in failed)} "
                       f"({failed[0].format}: {failed[0].message}); save those with another backend.")
    broken = [p.name for p in probes if p.available is False and not not_installed(p)]
    if not out and not broken:
        out.append("Every available backend saved every format correctly and in time. If generation still "
                   "hangs before output, the stall is before the save (e.g. a GPU sync or the decoder): "
                   "run `audio-qa run` to probe each stage.")
    elif broken and not any(p.name == "torchaudio" for p in probes if p.name in broken):
        out.append(f"Broken backend(s): {', '.join(broken)} (see the table).")
    return " ".join(out)
