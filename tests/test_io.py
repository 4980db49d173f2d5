"""qa.io.save_audio: real writers, real files, real child processes; the only fake is the
ENOSPC writer (a disk cannot be made to fill up on demand)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ROOT, needs, sine

os.environ["AUDIO_QA_TEST_BACKENDS"] = "1"  # before qa.io is imported: registers test writers

from qa.io import SampleError, SaveError, save_audio  # noqa: E402

pytestmark = pytest.mark.usefixtures("test_writers")


def pcm_exact(seconds=0.25, sr=48000, channels=2):
    return np.round(sine(440, sr, seconds, 0.5, channels) * 32768) / 32768


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


@pytest.mark.parametrize("backend", ["soundfile", "scipy", pytest.param("torchaudio", marks=needs("ffmpeg-libs"))])
def test_every_default_backend_writes_pcm16_exactly(tmp_path, backend):
    x = pcm_exact()
    r = save_audio(x, tmp_path / "a.wav", 48000, backends=[backend])
    assert (r.backend, r.subtype) == (backend, "PCM_16")
    assert [a.outcome for a in r.attempts] == ["ok"]
    got, sr = sf.read(tmp_path / "a.wav", dtype="float64", always_2d=True)
    assert sr == 48000 and np.array_equal(got.T, x)
    assert leftovers(tmp_path) == []


@needs("ffmpeg-libs")
def test_int16_tensor_is_scaled_before_torchaudio_no_square_wave(tmp_path):
    import torch

    x = pcm_exact()
    pcm = torch.from_numpy((x * 32768).astype(np.int16))
    save_audio(pcm, tmp_path / "t.wav", 48000, backends=["torchaudio"])
    got, _ = sf.read(tmp_path / "t.wav", dtype="int16", always_2d=True)
    assert np.array_equal(got.T, pcm.numpy())  # not clamped to +-32767


@needs("ffmpeg-libs")
def test_wrong_subtype_falls_through_to_next_backend(tmp_path):
    x = pcm_exact()
    r = save_audio(x, tmp_path / "f.wav", 48000, subtype="FLOAT", backends=["torchaudio", "soundfile"])
    assert r.backend == "soundfile" and r.subtype == "FLOAT"
    first = r.attempts[0]
    assert (first.backend, first.outcome, first.subtype) == ("torchaudio", "wrong_subtype", "PCM_16")
    assert sf.info(tmp_path / "f.wav").subtype == "FLOAT"


def test_disk_full_part_way_leaves_no_partial_and_keeps_old_target(tmp_path):
    target = tmp_path / "song.wav"
    old = pcm_exact(0.1) * 0.5
    sf.write(target, old.T, 48000, subtype="PCM_16")
    before = target.read_bytes()
    with pytest.raises(SaveError) as ei:
        save_audio(pcm_exact(), target, 48000, backends=["test_enospc"])
    (a,) = ei.value.attempts
    assert a.outcome == "failed" and "No space left on device" in a.error
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_disk_full_then_next_backend_succeeds(tmp_path):
    r = save_audio(pcm_exact(), tmp_path / "s.flac", 48000, backends=["test_enospc", "soundfile"])
    assert [(a.backend, a.outcome) for a in r.attempts] == [("test_enospc", "failed"), ("soundfile", "ok")]
    assert leftovers(tmp_path) == []


def test_hanging_backend_is_killed_reported_and_next_backend_used(tmp_path):
    r = save_audio(pcm_exact(), tmp_path / "h.wav", 48000, backends=["test_stall", "soundfile"],
                   timeout_s=2.0)
    hung = r.attempts[0]
    assert hung.outcome == "hung" and hung.hang is not None
    assert hung.hang.kind == "stalled" and hung.hang.bytes_written == 4096
    assert "_test_stall" in hung.hang.stack  # the child's Python stack, from faulthandler
    assert r.backend == "soundfile" and leftovers(tmp_path) == []


def test_slow_backend_is_reported_as_growing(tmp_path):
    with pytest.raises(SaveError) as ei:
        save_audio(pcm_exact(), tmp_path / "g.wav", 48000, backends=["test_slow"], timeout_s=2.0)
    h = ei.value.attempts[0].hang
    assert h.kind == "slow" and h.bytes_written > 8192
    assert not (tmp_path / "g.wav").exists() and leftovers(tmp_path) == []


def test_missing_torchcodec_in_child_is_unavailable_then_fallback(tmp_path):
    stub = tmp_path / "stub" / "torchcodec"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('libtorchcodec: Could not load (test stub)')\n")
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "stub"), str(ROOT), str(ROOT / "tests")])}
    code = ("import numpy as np; from qa.io import save_audio; "
            f"r = save_audio(np.zeros((1, 4800)) + 0.25, {str(out / 'x.wav')!r}, 48000, "
            "backends=['torchaudio', 'soundfile'], timeout_s=30); "
            "print([(a.backend, a.outcome) for a in r.attempts]); print(r.attempts[0].error)")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "[('torchaudio', 'unavailable'), ('soundfile', 'ok')]"
    assert "Could not load (test stub)" in lines[1]


@pytest.mark.skipif(shutil.which("chattr") is None, reason="chattr not available to make a directory immutable")
def test_read_only_directory_is_named_and_nothing_written(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem does not support chattr +i (root bypasses chmod)")
    try:
        with pytest.raises(SaveError) as ei:
            save_audio(pcm_exact(), ro / "x.wav", 48000)
        assert f"the directory {ro} is not writable" in str(ei.value)
        assert len(ei.value.attempts) == 1  # no point trying other backends
    finally:
        subprocess.run(["chattr", "-i", str(ro)], check=True)
    assert os.listdir(ro) == []


@pytest.mark.parametrize("bad,msg", [
    (np.where(np.arange(300) == 1, np.nan, 0.1)[None], "1 sample(s) are NaN or infinite (first at frame 1"),
    (np.full((1, 300), 1.5), "peak 1.5 is over full scale"),
    (np.zeros((300, 2)), "pass layout='channels_last' or transpose"),
    (np.zeros(0), "0 frames"),
])
def test_bad_samples_refused_before_anything_is_written(tmp_path, bad, msg):
    with pytest.raises(SampleError) as ei:
        save_audio(bad, tmp_path / "b.wav", 48000)
    assert msg in str(ei.value)
    assert os.listdir(tmp_path) == []


def test_unknown_suffix_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"cannot tell the audio format of .*'\.xyz'"):
        save_audio(pcm_exact(), tmp_path / "a.xyz", 48000)


@pytest.mark.parametrize("timeout_s", [0.3, 1.0])
def test_hang_with_a_short_timeout_still_has_the_childs_stack(tmp_path, timeout_s):
    with pytest.raises(SaveError) as ei:
        save_audio(pcm_exact(), tmp_path / "h.wav", 48000, backends=["test_stall"], timeout_s=timeout_s)
    h = ei.value.attempts[0].hang
    assert h.kind == "stalled" and h.bytes_written == 4096
    assert "in _test_stall" in h.stack, h.stack  # taken at the deadline, however short
    assert any(t["stack"] and t["stack"][-1].endswith("in wait") for t in h.threads())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_writer_takes_its_own_child_processes_with_it(tmp_path):
    with pytest.raises(SaveError) as ei:
        save_audio(pcm_exact(), tmp_path / "k.wav", 48000, backends=["tests.io_writers:spawn_and_stall"],
                   timeout_s=1.0)
    assert ei.value.attempts[0].outcome == "hung"
    pid = int((tmp_path / "tool.pid").read_text())
    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid), f"the writer's own child {pid} outlived the killed writer"


def test_interrupted_save_leaves_nothing_the_directory_walk_takes_for_audio(tmp_path):
    """A save killed mid-write (SIGKILL: no cleanup runs) leaves its temporary; a later
    `audio-qa check DIR` must not check it as a song."""
    code = ("import sys, numpy as np; from qa.io import save_audio; "
            "save_audio(np.zeros((1, 4800)), sys.argv[1], 48000, backends=['test_stall'])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "song.wav")], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            tmp = leftovers(tmp_path)
            if tmp and os.path.getsize(tmp_path / tmp[0]) == 4096:  # the writer is stuck
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    tmp = leftovers(tmp_path)
    assert len(tmp) == 1 and tmp[0].startswith(".song.wav.aqa-tmp-"), tmp
    from qa.atomic import is_temporary
    from qa.loading import iter_audio_paths

    assert is_temporary(tmp[0])
    assert iter_audio_paths([str(tmp_path)]) == []
    sf.write(tmp_path / "real.wav", pcm_exact().T, 48000)
    assert iter_audio_paths([str(tmp_path)]) == [str(tmp_path / "real.wav")]
