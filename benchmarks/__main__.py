"""Run every benchmark module in this package: ``python -m benchmarks [name ...]``."""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    here = Path(__file__).parent
    mods = names or sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    for name in mods:
        print(f"== benchmarks.{name}", flush=True)
        sys.argv = [f"benchmarks.{name}"]  # each module parses its own options: run with defaults
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
