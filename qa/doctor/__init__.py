"""``audio-qa doctor``: audio I/O backends, platform and timed saves (hang diagnosis)."""
