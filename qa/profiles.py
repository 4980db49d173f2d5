"""Threshold profiles: built-in TOML (``qa/profiles.toml``) merged with the user's config.

Checks never hold numbers of their own; they ask the profile, ``profile.get("clipping",
"fail_fraction")``, so a team can retune a threshold without touching code, and every
threshold's reason sits beside it in the TOML.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping
from qa.errors import AudioQAError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_PROFILE = "streaming"


class ProfileError(AudioQAError, ValueError):
    """An unknown profile, a malformed profile table or a missing threshold."""


@dataclass(frozen=True)
class Profile:
    """A named threshold set: ``thresholds[check_id][key]``."""

    name: str
    description: str
    thresholds: Mapping[str, Mapping[str, Any]]

    def get(self, check_id: str, key: str) -> Any:
        try:
            return self.thresholds[check_id][key]
        except KeyError:
            raise ProfileError(
                f"profile {self.name!r} has no threshold {check_id}.{key}; add it under "
                f"[tool.audio-qa.thresholds.{check_id}] or to qa/profiles.toml"
            ) from None

    def section(self, check_id: str) -> Mapping[str, Any]:
        return self.thresholds.get(check_id, {})


def builtin_tables() -> dict[str, Any]:
    text = resources.files("qa").joinpath("profiles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def profile_names(user_profiles: Mapping[str, Any] | None = None) -> list[str]:
    names = [n for n in builtin_tables() if n != "default"]
    return names + [n for n in (user_profiles or {}) if n not in names]


def load_profile(
    name: str = DEFAULT_PROFILE,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    user_profiles: Mapping[str, Mapping[str, Any]] | None = None,
) -> Profile:
    """Resolve ``name`` (built-in or from ``user_profiles``), then apply ``overrides``."""
    tables = builtin_tables()
    user_profiles = dict(user_profiles or {})
    chain = _inheritance_chain(name, tables, user_profiles)
    merged: dict[str, dict[str, Any]] = {}
    description = ""
    for table in [tables["default"], *chain]:
        for key, value in table.items():
            if key == "description":
                description = str(value)
            elif key == "base":
                continue
            elif isinstance(value, Mapping):
                merged.setdefault(key, {}).update(copy.deepcopy(dict(value)))
            else:
                raise ProfileError(
                    f"profile {name!r}: {key} = {value!r} must be a table of thresholds, "
                    f"e.g. [{name}.{key}]"
                )
    for check_id, values in (overrides or {}).items():
        if not isinstance(values, Mapping):
            raise ProfileError(
                f"thresholds.{check_id} must be a table, e.g. [tool.audio-qa.thresholds.{check_id}]"
            )
        merged.setdefault(check_id, {}).update(values)
    return Profile(name=name, description=description, thresholds=merged)


def _inheritance_chain(name: str, tables: dict, user: dict) -> list[Mapping[str, Any]]:
    """Tables from the root base to ``name``. A user profile's ``base`` defaults to the
    built-in profile of the same name if there is one, else to the default profile."""
    chain: list[Mapping[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    current: str | None = name
    from_user = name in user
    while current is not None:
        key = ("user" if from_user else "builtin", current)
        if key in seen:
            raise ProfileError(f"profile {name!r}: 'base' loops back to {current!r}")
        seen.add(key)
        if from_user:
            table = user[current]
            if not isinstance(table, Mapping):
                raise ProfileError(f"profiles.{current} must be a table")
            nxt = table.get("base")
            if nxt is None:
                nxt = current if current in tables and current != "default" else DEFAULT_PROFILE
            chain.insert(0, table)
            current = str(nxt)
            from_user = current in user and ("user", current) not in seen
        elif current in tables and current != "default":
            chain.insert(0, tables[current])
            current = None
        else:
            known = ", ".join(profile_names(user))
            raise ProfileError(f"unknown profile {current!r}; known profiles: {known}")
    return chain
