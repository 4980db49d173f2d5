"""Pipeline benchmark: wall time of the 10 s and 95 s scenarios, and probe overhead (the same
run with every stage probed vs probes disabled). ``python -m benchmarks.pipeline [--repeat N]``"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from pipeline.run import RunOptions, run_pipeline
from pipeline.scenario import load_scenario
from qa.probes import Probe


def timed(name: str, probes: bool, out: str, steps: int) -> float:
    t0 = time.perf_counter()
    run_pipeline(load_scenario(name), out, Probe(enabled=probes), RunOptions(steps=steps))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, default=32)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        timed("pop_en_10s", True, out, a.steps)  # warm-up: imports, scipy, torch kernels
        for name in ("pop_en_10s", "ballad_95s"):
            on, off = [], []
            for _ in range(a.repeat):  # interleaved so machine load hits both alike
                off.append(timed(name, False, out, a.steps))
                on.append(timed(name, True, out, a.steps))
            m_on, m_off = statistics.median(on), statistics.median(off)
            print(f"{name}: probes on {m_on:.3f} s, off {m_off:.3f} s (median of {a.repeat}), "
                  f"overhead {100 * (m_on - m_off) / m_off:+.2f} %  [on: {', '.join(f'{x:.2f}' for x in on)}; "
                  f"off: {', '.join(f'{x:.2f}' for x in off)}]")


if __name__ == "__main__":
    main()
