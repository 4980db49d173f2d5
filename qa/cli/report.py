"""``audio-qa report RESULTS.json``: render HTML and/or JUnit XML from saved results.

Relative audio paths in the results are looked up from the current directory, then from the
results file's folder (``--audio-dir`` adds another place first). Exit status follows the
results like every other command: 0 nothing failed, 1 something failed (warnings with
``--strict``), 2 when the results file is missing, not JSON or not ``audio-qa.report/1``.
"""

from __future__ import annotations

import argparse
import json
import os

from qa.cli import common
from qa.results import SCHEMA


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render HTML / JUnit from saved results", description=__doc__)
    p.add_argument("results", metavar="RESULTS.json", help="results written by --json, or a scan's RUN_DIR")
    p.add_argument("--audio-dir", metavar="DIR", action="append", default=[],
                   help="look for the items' audio files here first (repeatable)")
    p.add_argument("--no-figures", action="store_true", help="tables only: do not read the audio files")
    common.add_output_options(p)
    return p


def load_results(path: str) -> dict:
    """The results dict in ``path``, or a UsageError naming what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise common.UsageError(f"results {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise common.UsageError(f"results {path}: cannot be read ({e})") from None
    except json.JSONDecodeError as e:
        raise common.UsageError(f"results {path}: not JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                                "pass a file written by --json") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise common.UsageError(f"results {path}: schema is {got!r}, expected {SCHEMA!r}; "
                                "pass a file written by audio-qa --json")
    return data


def run(args: argparse.Namespace) -> int:
    if not (args.html or args.junit or args.json):
        raise common.UsageError("nothing to write: give --html FILE and/or --junit FILE")
    common.check_outputs(args, inputs=[args.results])
    if os.path.isdir(args.results):  # a scan's run directory: the corpus page
        from qa.cli.scan import report_run_dir

        return report_run_dir(args)
    data = load_results(args.results)
    search = [*args.audio_dir, ".", os.path.dirname(os.path.abspath(args.results))]
    common.write_reports(data, args, json_text=json.dumps(data, indent=2, allow_nan=False) + "\n",
                         search_dirs=search, figures=not args.no_figures)
    statuses = {str(i.get("status")) for i in data.get("items") or [] if isinstance(i, dict)}
    if statuses & {"fail", "error"} or (args.strict and "warn" in statuses):
        return common.EXIT_FAIL
    return common.EXIT_OK
