"""qa.doctor.backends: real probes in child processes, including a test backend that blocks
and a torchaudio whose TorchCodec cannot be imported."""

import os

import pytest

os.environ["AUDIO_QA_TEST_BACKENDS"] = "1"

from qa.doctor.backends import probe_backend  # noqa: E402
from tests.conftest import needs  # noqa: E402
from qa.doctor.report import backend_item  # noqa: E402

ALL = ["wav", "wav_float", "flac", "mp3", "ogg", "opus"]
pytestmark = pytest.mark.usefixtures("test_writers")


def test_hanging_backend_reported_with_stack_and_killed(tmp_path):
    p = probe_backend("test_stall", ["wav", "flac"], str(tmp_path), timeout=1.5)
    assert [(c.format, c.outcome) for c in p.cells] == [("wav", "hung"), ("flac", "not_tried")]
    h = p.cells[0].hang
    assert h.kind == "stalled" and h.bytes_written == 4096 and "_test_stall" in h.stack
    item = backend_item(p, "")
    assert item.check("save_timeout").status == "fail"
    assert "stopped growing" in item.check("save_timeout").message


def test_torchcodec_unimportable_in_child(tmp_path):
    stub = tmp_path / "stub" / "torchcodec"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise RuntimeError('Could not load libtorchcodec (test stub)')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "stub")}
    p = probe_backend("torchaudio", ["wav"], str(tmp_path), timeout=30, env=env)
    assert p.available is False and "Could not load libtorchcodec (test stub)" in p.error
    c = backend_item(p, "").check("backend_available")
    assert c.status == "fail" and "shared FFmpeg" in c.hint


@needs("ffmpeg-libs")
def test_torchaudio_int16_trap_and_subtype_drift(tmp_path):
    import torchaudio

    p = probe_backend("torchaudio", ["wav", "wav_float", "flac"], str(tmp_path), timeout=30)
    cells = {c.format: c for c in p.cells}
    version = tuple(int(v) for v in torchaudio.__version__.split("+")[0].split(".")[:2])
    if version < (2, 9):
        pytest.skip(f"torchaudio {torchaudio.__version__} predates TorchCodec saving")
    assert p.info["api"] == "torchcodec" and p.info["ffmpeg_major"] >= 4
    assert p.int16_trap is True
    assert cells["wav"].outcome == "ok"
    assert (cells["wav_float"].outcome, cells["wav_float"].subtype) == ("wrong_subtype", "PCM_16")
    assert cells["flac"].outcome == "ok"


@pytest.mark.parametrize("name", ["soundfile", pytest.param("ffmpeg", marks=needs("ffmpeg"))])
def test_clean_backends_pass_every_format(tmp_path, name):
    p = probe_backend(name, ALL, str(tmp_path), timeout=30)
    assert {c.format: c.outcome for c in p.cells} == {f: "ok" for f in ALL}
    assert all(c.cold_s is not None and c.warm_s is not None for c in p.cells)


def test_torchcodec_loading_report_is_condensed_for_humans():
    from qa.doctor.report import short_error

    err = ("RuntimeError: Could not load libtorchcodec. Likely causes:\n  1. FFmpeg...\n"
           "FFmpeg version 8:\nTraceback\nOSError: libavutil.so.60: cannot open shared object file: "
           "No such file or directory\nmore\nOSError: Could not load this library: core8.so\n"
           "FFmpeg version 5:\nTraceback\nOSError: /lib/libavutil.so.57: file too short\n")
    assert short_error(err) == ("RuntimeError: Could not load libtorchcodec (FFmpeg 8: libavutil.so.60 "
                                "not found; FFmpeg 5: /lib/libavutil.so.57: file too short)")
