"""audio-qa: diagnostics and QA harness for AI music generation pipelines.

Data flows one way: load (``qa.loading``) -> measure (``qa.metrics``) -> judge (``qa.checks``)
-> report (``qa.results`` JSON, ``qa.reports``).
"""

__version__ = "0.1.0"

from qa.audio import Audio, LayoutError  # noqa: E402
from qa.loading import AudioReadError, load_audio  # noqa: E402

__all__ = ["Audio", "AudioReadError", "LayoutError", "load_audio", "__version__"]
