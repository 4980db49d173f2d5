"""The allocator setting, read back from glibc's own accounting (mallinfo2) in a fresh
interpreter, so the test process's allocator is left as it was."""

import ctypes
import json
import platform
import subprocess
import sys

import pytest

from qa.allocator import THRESHOLD_BYTES

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Allocates and frees a 64 MiB array, reporting glibc's mapped bytes while it lives and the
# heap's free bytes after it is gone.
_PROBE = r"""
import ctypes, json, sys
import numpy as np
class Info(ctypes.Structure):
    _fields_ = [(k, ctypes.c_size_t) for k in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
applied = None
if sys.argv[1] == "keep":
    from qa.allocator import keep_freed_memory
    applied = keep_freed_memory()
a = np.ones(64 << 20, dtype=np.uint8)
live = libc.mallinfo2()
del a
after = libc.mallinfo2()
print(json.dumps({"applied": applied, "mapped_live": live.hblkhd, "free_after": after.fordblks}))
"""


def _probe(mode: str) -> dict:
    r = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                       timeout=120, check=True)
    return json.loads(r.stdout)


@pytest.mark.skipif(not GLIBC or not hasattr(ctypes.CDLL(None), "mallinfo2"),
                    reason="glibc >= 2.33 only: the setting and mallinfo2 are glibc's")
def test_freed_big_arrays_stay_with_the_process():
    block = 64 << 20
    assert block < THRESHOLD_BYTES
    default = _probe("default")
    # glibc's own threshold (at most 32 MiB) maps a 64 MiB block apart and unmaps it on free
    assert default["mapped_live"] >= block
    assert default["free_after"] < block
    kept = _probe("keep")
    assert kept["applied"] is True
    assert kept["mapped_live"] < block  # served from the heap
    assert kept["free_after"] >= block  # and kept there for the next file
