"""HTTP for the probe adapters (httpx): every transport error and refusing status becomes a
:class:`~qa.probe.errors.ProbeError` of the right class, with the server's own message.

Status mapping: 401/403 ``http_4xx_auth``; 429 ``rate_limited``; 503 (or 409) whose body or
Retry-After says the queue is full ``queue_full``; other 4xx ``bad_request``; 5xx ``http_5xx``.
A 404 is left to the caller, which knows whether the job existed (``job_lost``).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

from qa.probe.errors import ProbeError

INSTALL_HINT = "install the probe's dependencies: pip install 'audio-qa[probe]'"
_QUEUE_FULL = re.compile(r"queue\W+(is\W+)?full|full\W+queue|busy|capacity|too many (jobs|requests|tasks)", re.I)


def import_httpx():
    try:
        import httpx
    except ImportError:
        raise ProbeError("connect_error", f"httpx is not installed; {INSTALL_HINT}") from None
    return httpx


class Http:
    """One httpx client for one service: base URL, headers (API keys), timeouts (s)."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, timeout_s: float = 30.0):
        httpx = import_httpx()
        self.httpx = httpx
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, headers=headers or {}, follow_redirects=True,
                                   timeout=httpx.Timeout(timeout_s))

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, *, ok_404: bool = False, any_status: bool = False, **kw: Any):
        """The response, or ProbeError for a transport error or a refusing status (with
        ``any_status`` every answer is returned: a health route's body matters at any status)."""
        httpx = self.httpx
        try:
            r = self.client.request(method, path, **kw)
        except httpx.ConnectError as e:
            raise ProbeError("connect_error", f"{method} {self.base_url}{path}: cannot connect ({e})") from None
        except httpx.TimeoutException as e:
            raise ProbeError("connect_error", f"{method} {self.base_url}{path}: no answer in time ({type(e).__name__})") from None
        except httpx.HTTPError as e:
            raise ProbeError("http_5xx", f"{method} {self.base_url}{path}: broken answer ({type(e).__name__}: {e})") from None
        if any_status or (r.status_code == 404 and ok_404):
            return r
        if r.status_code >= 400:
            raise refusal(r, f"{method} {path}")
        return r

    def json(self, method: str, path: str, **kw: Any) -> Any:
        r = self.request(method, path, **kw)
        return decode_json(r, f"{method} {path}")


def decode_json(r, what: str) -> Any:
    try:
        return r.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise ProbeError("http_5xx", f"{what}: HTTP {r.status_code} but the body is not JSON: {r.text[:200]!r}",
                         http_status=r.status_code) from None


def server_message(r) -> str:
    """The service's own words: a JSON ``detail``/``error``/``message``, else the body's start."""
    try:
        body = r.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return r.text[:300].strip()
    if isinstance(body, dict):
        for k in ("detail", "error", "message", "msg"):
            if body.get(k):
                v = body[k]
                return v if isinstance(v, str) else json.dumps(v)[:300]
    return json.dumps(body)[:300]


def retry_after(r) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date, RFC 9110 10.2.3), None if absent."""
    v = r.headers.get("retry-after")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def refusal(r, what: str) -> ProbeError:
    """The ProbeError of a refusing response (status >= 400)."""
    code, msg = r.status_code, server_message(r)
    if code in (401, 403):
        cls = "http_4xx_auth"
    elif code == 429:
        cls = "rate_limited"
    elif code in (409, 503) and _QUEUE_FULL.search(msg):
        cls = "queue_full"
    elif code < 500:
        cls = "bad_request"
    else:
        cls = "http_5xx"
    return ProbeError(cls, f"{what}: HTTP {code}: {msg}", server_message=msg, http_status=code,
                      retry_after=retry_after(r))
