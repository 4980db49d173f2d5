"""``audio-qa serve``: the reference generation service (the reference pipeline behind
DiffRhythm-style, ACE-Step-1.5-style or Gradio routes), with a service fault chosen at start.

Prints its URL on the first line of stdout, then serves until SIGTERM or Ctrl-C. Port 0 (the
default) takes a free port. Needs ``pip install 'audio-qa[serve]'`` (FastAPI, uvicorn, Gradio).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile

from qa.cli import common

APIS = ("diffrhythm", "acestep", "gradio")
INSTALL_HINT = "install the service's dependencies: pip install 'audio-qa[serve]'"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="start the reference generation service (for audio-qa probe)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one; the URL is printed)")
    p.add_argument("--api", choices=APIS, default="diffrhythm", help="route style (default %(default)s)")
    p.add_argument("--fault", metavar="NAME", help="a service fault (see --list-faults)")
    p.add_argument("--list-faults", action="store_true", help="list the service faults and their error classes")
    p.add_argument("--max-queue", type=common._positive_int, default=4, metavar="N",
                   help="jobs that may wait; more are refused with 429 + Retry-After (default %(default)s)")
    p.add_argument("--steps", type=common._positive_int, default=4, help="sampling steps per song (default %(default)s)")
    p.add_argument("--api-key", metavar="KEY", help="require this key (X-API-Key or Authorization: Bearer)")
    p.add_argument("--out", metavar="DIR", help="where songs are written (default: a temporary folder)")
    p.add_argument("--json", metavar="FILE", help="with --list-faults: write the list as JSON ('-' = stdout)")
    return p


def run(args: argparse.Namespace) -> int:
    from audioqa_pipeline.service.faults import SERVICE_FAULTS

    if args.list_faults:
        doc = {"faults": [{"name": f.name, "error_class": f.error_class, "description": f.description}
                          for f in SERVICE_FAULTS.values()]}
        if args.json == "-":
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
            return common.EXIT_OK
        if args.json:
            common.check_writable(args.json)
            common.write_text_atomic(args.json, json.dumps(doc, indent=2) + "\n")
        for f in SERVICE_FAULTS.values():
            print(f"{f.name:20s} {f.error_class:20s} {f.description}")
        return common.EXIT_OK
    if args.fault and args.fault not in SERVICE_FAULTS:
        raise common.UsageError(f"unknown service fault {args.fault!r}; known: {', '.join(SERVICE_FAULTS)}")
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as e:
        raise common.UsageError(f"{e.name} is not installed; {INSTALL_HINT}") from None
    with tempfile.TemporaryDirectory(prefix="audio-qa-serve-") as tmp:
        return _serve(args, args.out or tmp, uvicorn)


def _serve(args: argparse.Namespace, out_dir: str, uvicorn) -> int:
    from audioqa_pipeline.service.app import create_app
    from audioqa_pipeline.service.jobs import Service

    service = Service(out_dir, fault=args.fault, max_queue=args.max_queue, steps=args.steps)
    try:
        app = create_app(service, args.api, args.api_key)
    except ImportError as e:
        raise common.UsageError(f"{e.name} is not installed; {INSTALL_HINT}") from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise common.UsageError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    host, port = sock.getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    print(f"audio-qa serve: {args.api} API on the reference pipeline, fault {args.fault or 'none'}, "
          f"max queue {args.max_queue}; SIGTERM or Ctrl-C stops it", file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    service.start()
    try:
        server.run(sockets=[sock])
    finally:
        service.stop()
        sock.close()
    return common.EXIT_OK
