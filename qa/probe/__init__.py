"""``audio-qa probe``: end-to-end checks of a deployed song-generation service.

preflight (health body, queue) -> submit a canary -> poll (backoff, jitter, Retry-After, queue and
processing deadlines) -> download (redirects, data URIs, Content-Length) -> decode and the file
checks with the request's expectations -> one item of kind ``probe`` with its phase timings and one
primary error class per run (:data:`qa.probe.errors.ERROR_CLASSES`).
"""
