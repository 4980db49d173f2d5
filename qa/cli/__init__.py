"""``audio-qa``: one console script, one module per subcommand (see CONTRACTS.md).

Each subcommand module has ``add_parser(subparsers)`` and ``run(args) -> int``. Exit status:
0 nothing failed, 1 a check failed or an input is not valid audio, 2 usage or environment error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from qa import __version__

#: Subcommand modules under qa.cli, in the order ``--help`` lists them.
COMMANDS = ["check", "measure", "compare", "roundtrip", "doctor", "gate", "report", "run", "scan", "probe",
            "serve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audio-qa",
        description="Audio diagnostics and QA for AI music generation pipelines.",
    )
    parser.add_argument("--version", action="version", version=f"audio-qa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        mod = importlib.import_module(f"qa.cli.{name}")
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from qa.cli.common import run_guarded  # UsageError -> exit 2 with its message, for every command

    try:
        return int(run_guarded(args._run, args))
    except KeyboardInterrupt:
        print("audio-qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
