"""Run configuration: ``[tool.audio-qa]`` in ./pyproject.toml, then ``--config FILE``, then flags.

A config file is TOML with the keys below at top level (or under ``[tool.audio-qa]``); unknown
keys are an error, not ignored, so a typo cannot silently disable a threshold.

    profile = "broadcast"
    expect_sample_rate = 44100
    expect_duration = 95.0
    expect_channels = 2
    strict = false
    [thresholds.clipping]
    fail_fraction = 0.0005
    [profiles.my-label]
    base = "streaming"
    kind = "delivery"
    [profiles.my-label.loudness_target]
    target_lufs = -12.0
    decode_budget_mb = 512         # decoded samples held at once; longer files: in segments
    max_duration_s = 14400         # longer declared lengths are refused unread
    raw_format = "PCM_16:48000:2"  # how to read headerless .raw / .pcm files
    [doctor]
    require = ["soundfile", "torchaudio"]   # backends your pipeline saves through
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from qa.profiles import (
    DEFAULT_PROFILE,
    Profile,
    ProfileError,
    load_profile,
    tomllib,
    validate_profile_table,
    validate_thresholds,
)
from qa.errors import AudioQAError
from qa.loading import RawFormat, ReadOptions

KNOWN_KEYS = {
    "profile", "expect_sample_rate", "expect_duration", "expect_channels", "strict", "jobs",
    "thresholds", "profiles", "baseline", "scenarios", "codecs", "doctor",
    "decode_budget_mb", "max_duration_s", "raw_format",
}


class ConfigError(AudioQAError, ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs besides its inputs."""

    profile_name: str = DEFAULT_PROFILE
    expect_sample_rate: int | None = None
    expect_duration: float | None = None
    expect_channels: int | None = None
    strict: bool = False
    jobs: int = 1
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    read: ReadOptions = field(default_factory=ReadOptions)
    sources: tuple[str, ...] = ()

    def profile(self) -> Profile:
        try:
            return load_profile(
                self.profile_name, overrides=self.thresholds, user_profiles=self.profiles
            )
        except ProfileError as e:
            where = f" (config: {', '.join(self.sources)})" if self.sources else ""
            raise ConfigError(f"{e}{where}") from None


def read_config_file(path: str, *, pyproject: bool = False) -> dict[str, Any]:
    """The audio-qa table of a TOML file ({} when a pyproject.toml has none)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path}: not valid TOML ({e})") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot be read ({e.strerror or e})") from None
    table = data.get("tool", {}).get("audio-qa")
    if table is None:
        table = {} if pyproject else data
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown key(s) {', '.join(unknown)}; known keys: "
            f"{', '.join(sorted(KNOWN_KEYS))}"
        )
    return table


def build_config(
    config_path: str | None = None, *, flags: Mapping[str, Any] | None = None, cwd: str = "."
) -> RunConfig:
    """Merge ./pyproject.toml's [tool.audio-qa], the ``--config`` file and the CLI ``flags``
    (later wins; a flag left as None does not override)."""
    cfg = RunConfig()
    pyproject = os.path.join(cwd, "pyproject.toml")
    if os.path.isfile(pyproject):
        cfg = _apply(cfg, read_config_file(pyproject, pyproject=True), pyproject)
    if config_path:
        cfg = _apply(cfg, read_config_file(config_path), config_path)
    for key, value in (flags or {}).items():
        if value is not None:
            cfg = _apply(cfg, {key: value}, "command line")
    cfg.profile()  # fail early on an unknown profile or a malformed table
    return cfg


def _apply(cfg: RunConfig, table: Mapping[str, Any], source: str) -> RunConfig:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        try:
            if key == "profile":
                changes["profile_name"] = _typed(value, str, key)
            elif key == "expect_sample_rate":
                changes[key] = _positive(_typed(value, int, key), key)
            elif key == "expect_duration":
                changes[key] = _positive(float(_typed(value, (int, float), key)), key)
            elif key == "expect_channels":
                changes[key] = _positive(_typed(value, int, key), key)
            elif key == "strict":
                changes[key] = _typed(value, bool, key)
            elif key == "jobs":
                changes[key] = _positive(_typed(value, int, key), key)
            elif key in ("decode_budget_mb", "max_duration_s"):
                num = _positive(float(_typed(value, (int, float), key)), key)
                changes["read"] = replace(changes.get("read", cfg.read), **{key: num})
            elif key == "raw_format":
                try:
                    raw = RawFormat.parse(_typed(value, str, key))
                except ValueError as e:
                    raise ConfigError(str(e)) from None
                changes["read"] = replace(changes.get("read", cfg.read), raw_format=raw)
            elif key == "thresholds":
                validate_thresholds(value, "thresholds")
                merged = {k: dict(v) for k, v in cfg.thresholds.items()}
                for check_id, vals in value.items():
                    merged.setdefault(check_id, {}).update(vals)
                changes[key] = merged
            elif key == "profiles":
                for name, table in _typed(value, dict, key).items():
                    validate_profile_table(name, table, "profiles")
                changes[key] = {**cfg.profiles, **value}
            else:
                changes["extra"] = {**cfg.extra, key: value}
        except (ConfigError, ProfileError) as e:
            raise ConfigError(f"{source}: {e}") from None
    return replace(cfg, **changes, sources=cfg.sources + (source,))


def _typed(value: Any, types: Any, key: str) -> Any:
    if isinstance(value, bool) and types in (int, (int, float)):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if not isinstance(value, types):
        name = types.__name__ if isinstance(types, type) else "number"
        raise ConfigError(f"{key} must be a {name}, got {value!r}")
    return value


def _positive(value: Any, key: str) -> Any:
    if value <= 0:
        raise ConfigError(f"{key} must be positive, got {value!r}")
    return value
