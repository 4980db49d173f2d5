"""Writers of a test's own for ``save_audio(backends=["tests.io_writers:NAME"])``: they run in
save_audio's timed child process."""

from __future__ import annotations

import os
import subprocess
import threading


def spawn_and_stall(path, x, sr, fmt) -> None:
    """Starts a long-running tool of its own (as the ffmpeg and sox writers do), records its pid
    next to the target, then blocks."""
    tool = subprocess.Popen(["sleep", "300"])
    with open(os.path.join(os.path.dirname(path), "tool.pid"), "w") as f:
        f.write(str(tool.pid))
    threading.Event().wait()
