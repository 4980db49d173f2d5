"""Header and stream integrity of the containers other than RIFF/RF64 (see :mod:`qa.wavheader`),
checked before libsndfile decodes them.

libsndfile clamps a length that the header overstates to the bytes present, fills a FLAC frame
that is missing with zeros and reports the full length, and reads on over Ogg pages that are
lost: all of those come out as "valid" audio. These walkers read the structure only (chunk
headers, FLAC frame headers, Ogg page headers), never the samples, and say what is inconsistent.

- AIFF/AIFC: the FORM size and the SSND chunk against the file size, and COMM's frame count
  against the SSND bytes for uncompressed data.
- AU (``.snd``): data offset and data size against the file size.
- W64: the riff size and the data chunk against the file size.
- CAF: the data chunk size (``-1`` = to the end) against the file size.
- FLAC: metadata block types and lengths; every frame header (sync code, CRC-8) and the frame
  or sample numbers of consecutive frames (a frame deleted is a gap); the STREAMINFO total
  against the frames present.
- Ogg: the page chain (capture pattern, page sizes), page sequence numbers per stream and
  granule positions that never go back.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np

from qa.wavheader import WavProblem

#: Bytes read at a time when scanning a FLAC stream for frame headers.
_SCAN_CHUNK = 1 << 22


def inspect_container(f: BinaryIO, file_size: int) -> WavProblem | None:
    """The problem of the container in open file ``f`` (``file_size`` bytes), or None when its
    structure agrees with the bytes present or it is not one of the containers walked here."""
    f.seek(0)
    head = f.read(16)
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _aiff(f, file_size)
    if head[:4] == b".snd":
        return _au(head, file_size)
    if head[:16] == _W64_RIFF:
        return _w64(f, file_size)
    if head[:4] == b"caff":
        return _caf(f, file_size)
    if head[:4] == b"fLaC":
        return inspect_flac(f, file_size)
    if head[:4] == b"OggS":
        return _ogg(f, file_size)
    return None


def _cut(declared: int, present: int, what: str) -> WavProblem:
    return WavProblem("truncated", f"the header declares {declared} bytes of {what} but only "
                      f"{present} are present: the file was cut short")


# -- AIFF / AIFC --------------------------------------------------------------------------------
#: AIFC compression types whose samples are stored as plain PCM or float.
_AIFC_PCM = {b"NONE", b"sowt", b"twos", b"raw ", b"fl32", b"FL32", b"fl64", b"FL64", b"in24", b"in32"}
_AIFC_BYTE = {b"ulaw", b"ULAW", b"alaw", b"ALAW"}


def _aiff(f: BinaryIO, size: int) -> WavProblem | None:
    f.seek(4)
    form_size, kind = struct.unpack(">I4s", f.read(8))
    if form_size + 8 > size:
        return _cut(form_size + 8, size, "the FORM container")
    pos, comm, ssnd = 12, None, None
    while pos + 8 <= size:
        f.seek(pos)
        cid, n = struct.unpack(">4sI", f.read(8))
        if cid == b"COMM":
            body = f.read(min(n, 64))
            if len(body) < 18:
                return WavProblem("corrupt", "the COMM chunk is shorter than 18 bytes")
            ch, frames, bits = struct.unpack(">hIh", body[:8])
            comp = body[18:22] if kind == b"AIFC" and len(body) >= 22 else b"NONE"
            comm = (ch, frames, bits, comp)
        elif cid == b"SSND":
            if pos + 8 + n > size:
                return _cut(n, size - pos - 8, "sound data (SSND)")
            ssnd = n
        pos += 8 + n + (n & 1)
    if comm is None:
        return WavProblem("corrupt", "no COMM chunk: the header is damaged")
    ch, frames, bits, comp = comm
    width = (bits + 7) // 8 if comp in _AIFC_PCM else 1 if comp in _AIFC_BYTE else None
    if frames and ssnd is None:
        return WavProblem("truncated", "no SSND chunk: the file ends before the audio starts")
    if width and ssnd is not None and frames * ch * width > ssnd - 8:
        return WavProblem("truncated", f"COMM declares {frames} frames ({frames * ch * width} bytes) "
                          f"but the SSND chunk holds {max(ssnd - 8, 0)}: the frame count lies or the "
                          "audio was cut")
    return None


# -- AU -----------------------------------------------------------------------------------------
def _au(head: bytes, size: int) -> WavProblem | None:
    if len(head) < 16:
        return WavProblem("truncated", f"only {len(head)} bytes, shorter than an AU header (24)")
    offset, data_size = struct.unpack(">II", head[4:12])
    if offset < 24 or offset > size:
        return WavProblem("corrupt", f"the data offset is {offset}, outside 24-{size} for a "
                          f"{size}-byte file")
    if data_size != 0xFFFFFFFF and offset + data_size > size:
        return _cut(data_size, size - offset, "audio data")
    return None


# -- Sony Wave64 --------------------------------------------------------------------------------
_W64_RIFF = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
_W64_DATA = b"data\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"


def _w64(f: BinaryIO, size: int) -> WavProblem | None:
    if size < 40:  # the riff GUID, its 8-byte size and the wave GUID
        return WavProblem("truncated", f"only {size} bytes, shorter than a Wave64 header (40)")
    f.seek(16)
    (riff_size,) = struct.unpack("<Q", f.read(8))
    if riff_size > size:
        return _cut(riff_size, size, "the riff container")
    pos = 40
    while pos + 24 <= size:
        f.seek(pos)
        hdr = f.read(24)
        guid, n = hdr[:16], struct.unpack("<Q", hdr[16:24])[0]
        if n < 24:
            return WavProblem("corrupt", f"chunk at byte {pos} declares {n} bytes, less than its header")
        if guid == _W64_DATA:
            return _cut(n - 24, size - pos - 24, "audio data") if pos + n > size else None
        pos += (n + 7) & ~7
    return WavProblem("truncated", "no data chunk: the file ends before the audio starts")


# -- CAF ----------------------------------------------------------------------------------------
def _caf(f: BinaryIO, size: int) -> WavProblem | None:
    pos = 8
    while pos + 12 <= size:
        f.seek(pos)
        cid, n = struct.unpack(">4sq", f.read(12))
        if cid == b"data":
            if n == -1:
                return None
            return _cut(n, size - pos - 12, "audio data") if pos + 12 + n > size else None
        if n < 0 or pos + 12 + n > size:
            return WavProblem("corrupt", f"chunk {cid!r} at byte {pos} declares {n} bytes in a "
                              f"{size}-byte file")
        pos += 12 + n
    return WavProblem("truncated", "no data chunk: the file ends before the audio starts")


# -- Ogg ----------------------------------------------------------------------------------------
def _ogg(f: BinaryIO, size: int) -> WavProblem | None:
    pos, seq, granule = 0, {}, {}
    while pos < size:
        f.seek(pos)
        hdr = f.read(27)
        if len(hdr) < 27:
            return WavProblem("truncated", f"the last Ogg page at byte {pos} is cut short")
        if hdr[:4] != b"OggS":
            return WavProblem("corrupt", f"no Ogg page at byte {pos} where one should start: "
                              "bytes are missing or damaged")
        gran, serial, number = struct.unpack("<qII", hdr[6:22])
        lacing = f.read(hdr[26])
        end = pos + 27 + hdr[26] + sum(lacing)
        if len(lacing) < hdr[26] or end > size:
            return WavProblem("truncated", f"the Ogg page at byte {pos} ends at byte {end}, past "
                              f"the end of the {size}-byte file: the file was cut short")
        if serial in seq and number != seq[serial] + 1:
            return WavProblem("corrupt", f"Ogg page {number} of stream {serial:#x} follows page "
                              f"{seq[serial]} (byte {pos}): {abs(number - seq[serial] - 1)} page(s) "
                              "missing or out of order")
        if gran < -1:  # -1 is "no packet ends on this page"; no other negative value exists
            return WavProblem("corrupt", f"the Ogg page at byte {pos} has granule position {gran}: "
                              "the page header is damaged")
        if gran != -1 and granule.get(serial, -1) > gran:
            return WavProblem("corrupt", f"the granule position goes back from {granule[serial]} to "
                              f"{gran} at byte {pos}: pages are out of order or damaged")
        seq[serial] = number
        if gran != -1:
            granule[serial] = gran
        pos = end
    return None


# -- FLAC ---------------------------------------------------------------------------------------
_FLAC_BLOCK_TYPES = {0: "STREAMINFO", 1: "PADDING", 2: "APPLICATION", 3: "SEEKTABLE",
                     4: "VORBIS_COMMENT", 5: "CUESHEET", 6: "PICTURE"}


def inspect_flac(f: BinaryIO, size: int) -> WavProblem | None:
    """Metadata blocks, then frame continuity and the STREAMINFO total (see the module doc)."""
    pos, info = 4, None
    while True:
        f.seek(pos)
        hdr = f.read(4)
        if len(hdr) < 4:
            return WavProblem("truncated", "the file ends inside the FLAC metadata")
        last, kind, n = hdr[0] >> 7, hdr[0] & 0x7F, int.from_bytes(hdr[1:4], "big")
        if kind not in _FLAC_BLOCK_TYPES:
            return WavProblem("corrupt", f"FLAC metadata block at byte {pos} has type {kind}, "
                              "which is reserved or invalid: the header is damaged")
        if pos + 4 + n > size:
            return _cut(n, size - pos - 4, f"the {_FLAC_BLOCK_TYPES[kind]} block")
        if kind == 0:
            body = f.read(34)
            if n != 34 or len(body) < 34:
                return WavProblem("corrupt", f"the STREAMINFO block is {n} bytes, not 34")
            word = int.from_bytes(body[10:18], "big")
            info = (int.from_bytes(body[0:2], "big"), word & ((1 << 36) - 1))
        pos += 4 + n
        if last:
            break
    if info is None:
        return WavProblem("corrupt", "no STREAMINFO block: the FLAC header is damaged")
    return _flac_frames(f, pos, size, info[1])


def _flac_frames(f: BinaryIO, start: int, size: int, total: int) -> WavProblem | None:
    heads = []
    for at in range(start, size, _SCAN_CHUNK):
        f.seek(at)
        buf = f.read(_SCAN_CHUNK + 16)
        a = np.frombuffer(buf, dtype=np.uint8)
        if a.size < 2:
            break
        cands = np.flatnonzero((a[:-1] == 0xFF) & ((a[1:] & 0xFE) == 0xF8))
        for c in cands[cands < _SCAN_CHUNK]:
            h = _frame_header(buf, int(c))
            if h is not None:
                heads.append((at + int(c), *h))
    if not heads:
        return WavProblem("truncated", "no FLAC frame after the metadata: the audio is missing")
    # Follow the chain of frame (or first-sample) numbers; a header that does not continue it
    # is a sync code inside frame data unless the frames after it continue from it (a gap).
    expect, got, last_block = None, 0, 0
    for i, (at, number, variable, block) in enumerate(heads):
        first = number if variable else number * _fixed_block(heads)
        if expect is None or first == expect:
            pass
        elif first > expect and _continues(heads, i):
            return WavProblem("corrupt", f"FLAC frames are missing before byte {at}: the stream "
                              f"jumps from sample {expect} to sample {first}")
        else:
            continue
        expect, last_block = first + block, block
        got += block
    if total and got != total:
        return WavProblem("truncated" if got < total else "corrupt",
                          f"STREAMINFO declares {total} frames (samples per channel) but the FLAC frames hold "
                          f"{got}" + (": the file was cut short" if got < total else ""))
    return None


def _fixed_block(heads: list) -> int:
    return heads[0][3]


def _continues(heads: list, i: int) -> bool:
    """True when the header after ``heads[i]`` continues its numbering (or it is the last)."""
    if i + 1 >= len(heads):
        return True
    at, number, variable, block = heads[i]
    nxt = heads[i + 1]
    return nxt[1] == (number + block if variable else number + 1)


_BLOCK_CODES = {1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608, 8: 256, 9: 512, 10: 1024, 11: 2048,
                12: 4096, 13: 8192, 14: 16384, 15: 32768}


def _frame_header(buf: bytes, i: int) -> tuple[int, bool, int] | None:
    """(frame or sample number, variable blocking, block size) of a valid frame header at
    ``buf[i]`` (RFC 9639 section 9.1, CRC-8 checked), or None."""
    if i + 6 > len(buf):
        return None
    b2, b3 = buf[i + 2], buf[i + 3]
    bs_code, sr_code = b2 >> 4, b2 & 0x0F
    if bs_code == 0 or sr_code == 15 or (b3 >> 4) > 10 or (b3 >> 1) & 7 == 3 or b3 & 1:
        return None
    j = i + 4
    first = buf[j]
    n_extra = _utf8_extra(first)
    if n_extra is None or j + 1 + n_extra > len(buf):
        return None
    value = first & (0x7F if n_extra == 0 else (0x3F >> n_extra))
    for k in range(n_extra):
        c = buf[j + 1 + k]
        if c & 0xC0 != 0x80:
            return None
        value = (value << 6) | (c & 0x3F)
    j += 1 + n_extra
    if bs_code == 6:
        block, j = buf[j] + 1 if j < len(buf) else 0, j + 1
    elif bs_code == 7:
        block, j = int.from_bytes(buf[j:j + 2], "big") + 1, j + 2
    else:
        block = _BLOCK_CODES[bs_code]
    j += {12: 1, 13: 2, 14: 2}.get(sr_code, 0)
    if j >= len(buf) or _crc8(buf[i:j]) != buf[j]:
        return None
    return value, bool(buf[i + 1] & 1), block


def _utf8_extra(first: int) -> int | None:
    """Continuation bytes after ``first`` in FLAC's UTF-8-like coding of frame numbers."""
    if first < 0x80:
        return 0
    for k in range(1, 7):  # 110xxxxx: 1, 1110xxxx: 2, ... 11111110: 6
        if first >> (6 - k) == (0xFF >> (6 - k)) - 1:
            return k
    return None


def _crc8_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        table.append(c)
    return table


_CRC8 = _crc8_table()


def _crc8(data: bytes) -> int:
    """CRC-8, polynomial x^8 + x^2 + x + 1, initial 0 (FLAC frame header)."""
    c = 0
    for b in data:
        c = _CRC8[c ^ b]
    return c
