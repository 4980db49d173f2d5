"""Adapters: one small interface (health, submit, poll, fetch) per kind of service API."""

from __future__ import annotations

from qa.probe.adapters.base import Adapter, Health, JobState

ADAPTERS = ("diffrhythm", "acestep", "gradio", "generic")


def make_adapter(name: str, url: str, *, headers: dict[str, str], spec_path: str | None = None,
                 timeout_s: float = 30.0) -> Adapter:
    """The adapter ``name`` for the service at ``url``. ``spec_path`` is the generic adapter's
    TOML description (``--spec``)."""
    if name == "diffrhythm":
        from qa.probe.adapters.diffrhythm import DiffRhythmAdapter

        return DiffRhythmAdapter(url, headers=headers, timeout_s=timeout_s)
    if name == "acestep":
        from qa.probe.adapters.acestep import AceStepAdapter

        return AceStepAdapter(url, headers=headers, timeout_s=timeout_s)
    if name == "gradio":
        from qa.probe.adapters.gradio import GradioAdapter

        return GradioAdapter(url, headers=headers)
    if name == "generic":
        from qa.probe.adapters.generic import GenericAdapter, load_spec

        return GenericAdapter(url, load_spec(spec_path), headers=headers, timeout_s=timeout_s)
    raise ValueError(f"unknown adapter {name!r}; known: {', '.join(ADAPTERS)}")


__all__ = ["ADAPTERS", "Adapter", "Health", "JobState", "make_adapter"]
