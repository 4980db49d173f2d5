"""The main QA job behind ``nox -s audio_qa``: results under ``qa-artifacts/``.

Today: ``audio-qa check`` over the fixture audio. Exit status is the check command's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from qa.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("AUDIO_QA_ARTIFACTS", ROOT / "qa-artifacts"))


def main(argv: list[str] | None = None) -> int:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / "check.json"
    status = cli_main(["check", str(ROOT / "fixtures" / "audio"), "--json", str(out)])
    print(f"audio-qa: results in {out} (exit {status})")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
