"""``audio-qa probe URL --adapter NAME``: end-to-end checks of a deployed song-generation service.

Preflight (the health body, the queue), a canary request (fixed seed, short lyrics, the
shortest duration), polling with backoff and jitter under separate queue and processing
deadlines, the download, then the file checks with the request's expectations. Each run ends
with one primary error class (see the README's error vocabulary); any error exits 1.
``--command 'CMD ...'`` probes a model run as a command line instead of a URL.
Needs ``pip install 'audio-qa[probe]'`` (httpx; gradio_client for --adapter gradio).
"""

from __future__ import annotations

import argparse
import os
import sys

from qa.cli import common
from qa.results import CheckResult, Report

MAX_CONCURRENCY = 64


def add_parser(sub) -> argparse.ArgumentParser:
    from qa.probe.adapters import ADAPTERS

    p = sub.add_parser("probe", help="end-to-end checks of a deployed song-generation service",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", nargs="?", metavar="URL", help="the service's base URL")
    p.add_argument("--adapter", choices=ADAPTERS, help="the service's API (required with URL)")
    p.add_argument("--spec", metavar="FILE", help="--adapter generic: TOML description of routes and JSON paths")
    p.add_argument("--command", dest="command_line", metavar="CMD", help="probe a command line instead of a URL "
                   "(placeholders {out_dir} {lyrics_file} {duration} {seed} ...)")
    p.add_argument("--request", metavar="FILE", help="TOML canary request (lyrics, style, duration_s, seed, "
                   "sample_rate, channels, [extra], [gradio])")
    p.add_argument("--runs", type=common._positive_int, default=1, metavar="N", help="runs (default 1)")
    p.add_argument("--concurrency", type=common._positive_int, default=1, metavar="K",
                   help=f"runs at once (default 1, at most {MAX_CONCURRENCY})")
    p.add_argument("--queue-timeout", type=common._positive_float, default=600.0, metavar="S",
                   help="deadline for the queue wait, admission retries included (default %(default)g s)")
    p.add_argument("--processing-timeout", type=common._positive_float, default=600.0, metavar="S",
                   help="deadline for processing (default %(default)g s)")
    p.add_argument("--stuck-after", type=common._positive_float, default=120.0, metavar="S",
                   help="a queue position unchanged this long is stuck_queued (default %(default)g s)")
    p.add_argument("--download-timeout", type=common._positive_float, default=120.0, metavar="S",
                   help="deadline for the download (default %(default)g s)")
    p.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="an HTTP header for every request (API keys); repeatable")
    p.add_argument("--bearer-env", metavar="VAR", help="send 'Authorization: Bearer $VAR'")
    p.add_argument("--label", metavar="NAME", help="the item's path (default the URL): a stable name for the "
                   "gate when the host or port changes")
    p.add_argument("--wait-ready", type=common._positive_float, metavar="S",
                   help="repeat the preflight until the service is ready, for up to S seconds (a service "
                   "that has just started)")
    p.add_argument("--seed", type=int, help="seed of the poll jitter (default: random)")
    p.add_argument("--prom", metavar="FILE", help="write Prometheus text exposition to FILE (atomically)")
    common.add_config_options(p, expect=False)
    common.add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    from qa.probe.poll import Deadlines
    from qa.probe.request import RequestFileError, load_request

    if bool(args.url) == bool(args.command_line):
        raise common.UsageError("give a URL (with --adapter) or --command 'CMD', not both and not neither")
    if args.url and not args.adapter:
        raise common.UsageError("--adapter is required with a URL: diffrhythm, acestep, gradio or generic")
    if args.concurrency > MAX_CONCURRENCY:
        raise common.UsageError(f"--concurrency {args.concurrency}: at most {MAX_CONCURRENCY}")
    for out in (args.json, args.prom, args.html, args.junit):
        common.check_writable(out)
    cfg = common.config_from_args(args)
    try:
        req = load_request(args.request)
    except RequestFileError as e:
        raise common.UsageError(str(e)) from None
    deadlines = Deadlines(args.queue_timeout, args.processing_timeout, args.stuck_after, args.download_timeout)
    profile = cfg.profile()
    item = (_probe_command(args, req, deadlines, profile) if args.command_line
            else _probe_url(args, req, deadlines, profile))
    report = Report((item,), environment=common.environment())
    common.emit(report, args, summary(item.to_dict()))
    if args.prom:
        from qa.probe.prom import write_prom

        try:
            write_prom(args.prom, [item.to_dict()])
        except common.OutputError as e:
            raise common.UsageError(str(e)) from None
    return common.exit_status([item], strict=cfg.strict)


def _headers(args: argparse.Namespace) -> dict[str, str]:
    out = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise common.UsageError(f"--header {h!r}: expected 'NAME: VALUE'")
        out[name.strip()] = value.strip()
    if args.bearer_env:
        token = os.environ.get(args.bearer_env)
        if not token:
            raise common.UsageError(f"--bearer-env {args.bearer_env}: the variable is not set")
        out["Authorization"] = f"Bearer {token}"
    return out


def _probe_url(args, req, deadlines, profile):
    from qa.probe.adapters import make_adapter
    from qa.probe.errors import ProbeError
    from qa.probe.item import probe_item
    from qa.probe.request import RequestFileError
    from qa.probe.runner import run_many, run_once

    label = args.label or args.url
    try:
        adapter = make_adapter(args.adapter, args.url, headers=_headers(args), spec_path=args.spec)
    except RequestFileError as e:
        raise common.UsageError(str(e)) from None
    except ProbeError as e:
        raise common.UsageError(str(e)) from None
    try:
        try:
            health = _preflight(adapter, args.wait_ready or 0.0)
        except ProbeError as e:
            from qa.probe.errors import HINTS

            ready = CheckResult("service_ready", "fail", f"{e.error_class}: {e}", hint=HINTS[e.error_class])
            return probe_item(label, args.adapter, [], ready=ready, url=args.url, preflight_error=e.error_class)
        depth = f"; queue {health.queue_depth}" if health.queue_depth is not None else ""
        if not health.ready:
            ready = CheckResult("service_ready", "fail", f"not ready: {health.message}{depth}",
                                hint="the health body says the service cannot generate; no job was submitted")
            return probe_item(label, args.adapter, [], ready=ready, url=args.url, preflight_error="not_ready")
        ready = CheckResult("service_ready", "pass", f"ready: {health.message}{depth}")
        records = run_many(lambda i, rng: run_once(adapter, req.for_run(i), deadlines, profile, i, rng),
                           args.runs, min(args.concurrency, args.runs), args.seed)
    finally:
        adapter.close()
    return probe_item(label, args.adapter, records, ready=ready, url=args.url)


def _preflight(adapter, wait_s: float):
    """The health, asked again (with backoff) while it is not ready and ``wait_s`` lasts."""
    import time

    from qa.probe.errors import ProbeError
    from qa.probe.poll import Backoff

    end, backoff = time.monotonic() + wait_s, Backoff(initial=0.5, maximum=5.0)
    while True:
        try:
            health = adapter.health()
        except ProbeError as e:
            if e.error_class != "connect_error" or time.monotonic() > end:
                raise
        else:
            if health.ready or time.monotonic() > end:
                return health
        time.sleep(max(0.0, min(backoff.next(), end - time.monotonic())))


def _probe_command(args, req, deadlines, profile):
    from qa.probe.command import run_command_once
    from qa.probe.item import probe_item
    from qa.probe.runner import run_many

    ready = CheckResult("service_ready", "skip", "a command line has no health route")
    records = run_many(lambda i, rng: run_command_once(args.command_line, req, deadlines, profile, i),
                       args.runs, min(args.concurrency, args.runs), args.seed)
    return probe_item(args.label or args.command_line, "command", records, ready=ready)


def summary(item: dict) -> str:
    """Verdict, phases and percentiles in a few lines."""
    ph = item.get("phases", {})
    m = item.get("metrics", {})
    fmt = lambda v: "n/a" if v is None else f"{v:.2f} s"  # noqa: E731
    lines = [f"{item['status'].upper()} probe {item['path']} ({item.get('adapter')}): "
             f"error class {item.get('error_class') or 'none'}",
             "  phases: " + ", ".join(f"{k[:-2]} {fmt(v)}" for k, v in ph.items())]
    c = item.get("counts", {})
    lines.append(f"  runs {c.get('succeeded', 0)}/{c.get('runs', 0)} ok (success rate {m.get('success_rate', 0):.2f}); "
                 f"total p50 {fmt(m.get('total_s_p50'))}, p90 {fmt(m.get('total_s_p90'))}, "
                 f"p95 {fmt(m.get('total_s_p95'))}, p99 {fmt(m.get('total_s_p99'))}; "
                 f"429s {c.get('http_429', 0)}, max queue position {c.get('max_queue_position')}")
    for ch in item.get("checks", []):
        if ch["status"] in ("fail", "error"):
            lines.append(f"  {ch['status'].upper()} {ch['id']}: {ch['message']}")
    return "\n".join(lines)
