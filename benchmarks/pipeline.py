"""Pipeline benchmark: wall time of the 10 s and 95 s scenarios, and probe overhead (the same
run with every stage probed vs probes disabled). ``python -m benchmarks.pipeline [--repeat N]``

The issue target is at most 2 % of the pipeline's wall time. On a shared machine the wall time
of identical runs varies by tens of percent, so three figures are printed: the wall-time
medians (on vs off, interleaved), the process CPU-time medians (less sensitive to other jobs),
and the probes' own time measured inside each probed run (``Probe.overhead_s``: statistics,
watchdog set-up and stage checks) as a share of that run's wall time, which load barely moves.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from audioqa_pipeline.run import RunOptions, run_pipeline
from audioqa_pipeline.scenario import load_scenario
from qa.probes import Probe


def timed(name: str, probes: bool, out: str, steps: int) -> tuple[float, float, float]:
    """(wall s, CPU s, probe s) of one run."""
    probe = Probe(enabled=probes)
    w0, c0 = time.perf_counter(), time.process_time()
    run_pipeline(load_scenario(name), out, probe, RunOptions(steps=steps))
    return time.perf_counter() - w0, time.process_time() - c0, probe.overhead_s


def pct(on: float, off: float) -> str:
    return f"{100 * (on - off) / off:+.2f} %"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=32)
    # Run by `python -m benchmarks` (imported): its own argv names modules, not our options.
    a = ap.parse_args([] if argv is None and __name__ != "__main__" else argv)
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as out:
        timed("pop_en_10s", True, out, a.steps)  # warm-up: imports, scipy, torch kernels
        for name in ("pop_en_10s", "ballad_95s"):
            on, off = [], []
            for _ in range(a.repeat):  # interleaved so machine load hits both alike
                off.append(timed(name, False, out, a.steps))
                on.append(timed(name, True, out, a.steps))
            med = [statistics.median(col) for col in zip(*on)], [statistics.median(col) for col in zip(*off)]
            (w_on, c_on, _), (w_off, c_off, _) = med
            share = statistics.median(p / w for w, _, p in on)
            probe_ms = statistics.median(p for _, _, p in on) * 1e3
            print(f"{name}: wall on {w_on:.3f} s, off {w_off:.3f} s ({pct(w_on, w_off)}); CPU on {c_on:.3f} s, "
                  f"off {c_off:.3f} s ({pct(c_on, c_off)}); probes' own time {probe_ms:.1f} ms = "
                  f"{100 * share:.2f} % of the wall time (medians of {a.repeat})")
            print(f"  wall on: {', '.join(f'{w:.2f}' for w, _, _ in on)}; off: {', '.join(f'{w:.2f}' for w, _, _ in off)}")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
