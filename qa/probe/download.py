"""Fetching the audio: data URIs (RFC 2397, base64), HTTP with redirects (object storage), the
bytes read against ``Content-Length``, a size ceiling and an overall deadline."""

from __future__ import annotations

import base64
import binascii
import time
import urllib.parse

from qa.probe.errors import ProbeError

#: Refuse audio larger than this (bytes): 30 min of 192 kHz 32-bit stereo is 1.4 GB.
MAX_BYTES = 1 << 31


def decode_data_uri(uri: str) -> tuple[bytes, str | None]:
    """(bytes, media type) of a ``data:`` URI; base64 or percent-encoded."""
    head, sep, payload = uri.partition(",")
    if not sep:
        raise ProbeError("download_error", f"data URI without a comma: {uri[:60]!r}")
    params = head[5:].split(";")
    mime = params[0] or None
    try:
        if "base64" in params[1:]:
            return base64.b64decode(payload, validate=True), mime
        return urllib.parse.unquote_to_bytes(payload), mime
    except (binascii.Error, ValueError) as e:
        raise ProbeError("download_error", f"data URI ({mime}): the base64 payload is damaged ({e})") from None


def fetch(http, ref: str, deadline_s: float) -> tuple[bytes, str | None, dict]:
    """The audio at ``ref`` (a data URI, an absolute URL or a path on the service) as (bytes,
    media type, info), following redirects. ``info`` has ``redirects`` and ``content_length``."""
    if ref.startswith("data:"):
        data, mime = decode_data_uri(ref)
        return data, mime, {"redirects": 0, "content_length": None, "data_uri": True}
    httpx = http.httpx
    t0 = time.monotonic()
    chunks: list[bytes] = []
    got = 0
    try:
        with http.client.stream("GET", ref) as r:
            if r.status_code >= 400:
                r.read()
                from qa.probe.http import refusal

                err = refusal(r, f"GET {ref}")
                raise ProbeError("download_error", str(err), server_message=err.server_message,
                                 http_status=r.status_code)
            declared = r.headers.get("content-length")
            for chunk in r.iter_bytes():
                chunks.append(chunk)
                got += len(chunk)
                if got > MAX_BYTES:
                    raise ProbeError("download_error", f"GET {ref}: more than {MAX_BYTES} bytes; not audio of a song")
                if time.monotonic() - t0 > deadline_s:
                    raise ProbeError("download_error", f"GET {ref}: {got} bytes in {deadline_s:g} s "
                                     f"(--download-timeout) of {declared or 'unknown'} declared; too slow")
            info = {"redirects": len(r.history), "content_length": int(declared) if declared else None,
                    "final_url": str(r.url)}
            mime = r.headers.get("content-type")
    except httpx.TimeoutException as e:
        raise ProbeError("download_error", f"GET {ref}: stalled after {got} bytes ({type(e).__name__})") from None
    except httpx.HTTPError as e:
        raise ProbeError("download_error", f"GET {ref}: cut after {got} bytes ({type(e).__name__}: {e})") from None
    if info["content_length"] is not None and info["content_length"] != got:
        raise ProbeError("download_error", f"GET {ref}: Content-Length {info['content_length']} but {got} bytes read")
    if got == 0:
        raise ProbeError("download_error", f"GET {ref}: HTTP 200 with an empty body")
    return b"".join(chunks), mime, info
