"""Threshold profiles: built-in TOML (``qa/profiles.toml``) merged with the user's config.

Checks never hold numbers of their own; they ask the profile, ``profile.get("clipping",
"fail_fraction")``, so a team can retune a threshold without touching code, and every
threshold's reason sits beside it in the TOML.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping
from qa.errors import AudioQAError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

#: The default judges faults only; the delivery profiles (streaming, broadcast, ...) are gates a
#: user asks for on purpose (CONTRACTS.md, "--profile").
DEFAULT_PROFILE = "generic"
#: Keys of a profile table that are not threshold tables.
PROFILE_KEYS = ("description", "base", "kind")
PROFILE_KINDS = ("faults", "delivery")


class ProfileError(AudioQAError, ValueError):
    """An unknown profile, a malformed profile table or a missing threshold."""


@dataclass(frozen=True)
class Profile:
    """A named threshold set: ``thresholds[check_id][key]``."""

    name: str
    description: str
    thresholds: Mapping[str, Mapping[str, Any]]
    #: "faults" (judges broken audio only) or "delivery" (a master's delivery gate).
    kind: str = "faults"

    @property
    def delivery(self) -> bool:
        return self.kind == "delivery"

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

    def optional(self, check_id: str, key: str) -> Any:
        """A threshold that only some profiles set (None elsewhere), e.g. a delivery band."""
        return self.thresholds.get(check_id, {}).get(key)


@functools.lru_cache(maxsize=1)
def _builtin_text() -> str:
    return resources.files("qa").joinpath("profiles.toml").read_text(encoding="utf-8")


def builtin_tables() -> dict[str, Any]:
    return tomllib.loads(_builtin_text())


@functools.lru_cache(maxsize=1)
def threshold_keys() -> dict[str, dict[str, Any]]:
    """Every threshold table a built-in profile defines: check id -> {key: an example value}
    (the union over the built-in profiles: what a config may set)."""
    known: dict[str, dict[str, Any]] = {}
    for table in builtin_tables().values():
        for check_id, values in table.items():
            if isinstance(values, Mapping):
                for key, value in values.items():
                    known.setdefault(check_id, {}).setdefault(key, value)
    return known


def validate_thresholds(tables: Any, where: str) -> None:
    """Refuse a threshold override that would silently do nothing: an unknown check id, an
    unknown key, or a value of the wrong type. ``where`` names the table in the message
    (e.g. "config.toml: thresholds"). The ``gate`` table takes metric names as keys."""
    if not isinstance(tables, Mapping):
        raise ProfileError(f"{where} must be a table of check ids, got {tables!r}")
    known = threshold_keys()
    for check_id, values in tables.items():
        if check_id not in known:
            raise ProfileError(
                f"{where}: unknown check id {check_id!r}; checks with thresholds: "
                f"{', '.join(sorted(known))}"
            )
        if not isinstance(values, Mapping):
            raise ProfileError(f"{where}.{check_id} must be a table, e.g. [{where}.{check_id}]")
        if check_id == "gate":
            continue
        for key, value in values.items():
            if key not in known[check_id]:
                raise ProfileError(
                    f"{where}.{check_id}: unknown threshold {key!r}; {check_id} has: "
                    f"{', '.join(sorted(known[check_id]))}"
                )
            _check_type(value, known[check_id][key], f"{where}.{check_id}.{key}")


def _check_type(value: Any, example: Any, where: str) -> None:
    number = (int, float)
    if isinstance(example, bool) or not isinstance(example, number):
        ok = type(value) is type(example) or (isinstance(example, list) and isinstance(value, list))
    else:
        ok = isinstance(value, number) and not isinstance(value, bool)
    if not ok:
        want = "a number" if isinstance(example, number) and not isinstance(example, bool) else (
            f"a {type(example).__name__}")
        raise ProfileError(f"{where} must be {want} (like {example!r}), got {value!r}")


def validate_profile_table(name: str, table: Any, where: str) -> None:
    """A user profile: only description, base, kind and threshold tables."""
    if not isinstance(table, Mapping):
        raise ProfileError(f"{where}.{name} must be a table, e.g. [{where}.{name}]")
    for key in PROFILE_KEYS:
        if key in table and not isinstance(table[key], str):
            raise ProfileError(f"{where}.{name}.{key} must be a string, got {table[key]!r}")
    if "kind" in table and table["kind"] not in PROFILE_KINDS:
        raise ProfileError(f"{where}.{name}.kind must be one of {', '.join(PROFILE_KINDS)}, "
                           f"got {table['kind']!r}")
    known = threshold_keys()
    for key, value in table.items():
        if key in PROFILE_KEYS:
            continue
        if key not in known:
            raise ProfileError(
                f"{where}.{name}: unknown key {key!r}; a profile holds {', '.join(PROFILE_KEYS)} "
                f"and threshold tables of: {', '.join(sorted(known))}"
            )
    validate_thresholds({k: v for k, v in table.items() if k not in PROFILE_KEYS}, f"{where}.{name}")


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
    for pname, table in user_profiles.items():
        validate_profile_table(pname, table, "profiles")
    validate_thresholds(overrides or {}, "thresholds")
    chain = _inheritance_chain(name, tables, user_profiles)
    merged: dict[str, dict[str, Any]] = {}
    description, kind = "", "faults"
    for table in [tables["default"], *chain]:
        for key, value in table.items():
            if key == "description":
                description = str(value)
            elif key == "kind":
                kind = str(value)
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
    return Profile(name=name, description=description, thresholds=merged, kind=kind)


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
