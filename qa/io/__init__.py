"""Audio output: validated, verified, atomic saves across backends (see :mod:`qa.io.save`)."""

from qa.io.backends import BACKENDS, DEFAULT_SAVE_BACKENDS
from qa.io.formats import FORMATS, Format
from qa.io.prepare import SampleError
from qa.io.save import SaveAttempt, SaveError, SaveResult, save_audio

__all__ = ["BACKENDS", "DEFAULT_SAVE_BACKENDS", "FORMATS", "Format", "SampleError", "SaveAttempt",
           "SaveError", "SaveResult", "save_audio"]
