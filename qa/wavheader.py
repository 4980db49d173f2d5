"""RIFF/WAVE header validation, done before libsndfile sees the file.

libsndfile reads a WAV whose header disagrees with the bytes on disk without complaint: a writer
that was killed before it closed the file leaves a data-chunk size of 0 or 0xFFFFFFFF, and a cut
copy leaves a size larger than what is there. Both come out as "valid" audio of the wrong length.
This walker reads only the chunk headers (a few bytes each) and says what is inconsistent.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Data sizes that streaming writers put in the header before they know the length.
PLACEHOLDER_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFE})


@dataclass(frozen=True)
class WavProblem:
    """What is wrong with a WAV header: ``kind`` is "unfinalized_header", "truncated" or
    "corrupt"; ``message`` says it in numbers."""

    kind: str
    message: str


def inspect_wav(f, file_size: int) -> WavProblem | None:
    """Walk the chunks of an open RIFF/RF64 file; None when sizes agree with the bytes present."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12:
        return WavProblem("truncated", f"only {len(head)} bytes, shorter than a RIFF header (12)")
    magic, riff_size, wave = struct.unpack("<4sI4s", head)
    if wave != b"WAVE":
        return WavProblem("corrupt", f"RIFF form type is {wave!r}, expected b'WAVE'")
    ds64_data_size = None
    pos = 12
    saw_fmt = False
    while pos + 8 <= file_size:
        f.seek(pos)
        hdr = f.read(8)
        if len(hdr) < 8:
            break
        cid, size = struct.unpack("<4sI", hdr)
        body = pos + 8
        if cid == b"ds64" and magic == b"RF64":
            ds = f.read(24)
            if len(ds) == 24:
                _, ds64_data_size, _ = struct.unpack("<QQQ", ds)
        if cid == b"fmt ":
            saw_fmt = True
        if cid == b"data":
            if not saw_fmt:
                return WavProblem("corrupt", "the data chunk comes before any fmt chunk")
            present = file_size - body
            declared = ds64_data_size if (magic == b"RF64" and size == 0xFFFFFFFF) else size
            if declared is None or (magic == b"RF64" and ds64_data_size is None):
                return WavProblem("corrupt", "RF64 file without a ds64 chunk giving the data size")
            if declared in PLACEHOLDER_SIZES and present > 0 and declared != present:
                return WavProblem(
                    "unfinalized_header",
                    f"the data chunk size in the header is {declared:#x}, a placeholder, but "
                    f"{present} bytes of audio follow; the writer never went back to fill in the "
                    "sizes (it was killed or crashed before closing the file)",
                )
            if declared > present:
                riff_note = ""
                if magic == b"RIFF" and riff_size + 8 > file_size:
                    riff_note = f" (the RIFF size says the file is {riff_size + 8} bytes)"
                return WavProblem(
                    "truncated",
                    f"the header declares {declared} bytes of audio data but only {present} are "
                    f"present{riff_note}: the file was cut short",
                )
            if magic == b"RIFF" and riff_size + 8 < body + declared:
                return WavProblem(
                    "unfinalized_header",
                    f"the RIFF size ({riff_size + 8} bytes) ends before the data chunk does "
                    f"({body + declared} bytes): the header was not updated after writing",
                )
            return None
        if size > file_size:
            return WavProblem(
                "corrupt", f"chunk {cid!r} at byte {pos} declares {size} bytes in a "
                f"{file_size}-byte file"
            )
        if not saw_fmt and cid != b"fmt " and not _printable(cid):
            return WavProblem("corrupt", f"unreadable chunk id {cid!r} at byte {pos}")
        pos = body + size + (size & 1)
    if not saw_fmt:
        return WavProblem("corrupt", "no fmt chunk: the header is damaged")
    return WavProblem("truncated", "no data chunk: the file ends before the audio starts")


def _printable(cid: bytes) -> bool:
    return all(32 <= b < 127 for b in cid)
