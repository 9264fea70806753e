"""A snapshot of the self-hosted runners, in relayq's own types.

Built from the JSON of GitHub's `GET /repos/{owner}/{repo}/actions/runners` (a file for
`relayq route --fleet`, or the live API through the GitHub executor).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobs.errors import ConfigError

__all__ = ["Fleet", "Runner", "fleet_from_runners_json", "load_fleet_file"]


@dataclass(frozen=True)
class Runner:
    """One self-hosted runner as GitHub reports it."""

    name: str
    os: str
    online: bool
    busy: bool
    labels: frozenset[str]  # lower-cased: GitHub matches runs-on labels case-insensitively

    def serves(self, labels: Iterable[str]) -> bool:
        """True when this runner has every one of `labels` (runs-on semantics)."""
        return {label.lower() for label in labels} <= self.labels


@dataclass(frozen=True)
class Fleet:
    """The runners registered with the repository at one moment."""

    runners: tuple[Runner, ...] = ()

    def serving(self, labels: Iterable[str]) -> tuple[Runner, ...]:
        """The runners a workflow with `runs-on: labels` can land on."""
        wanted = tuple(labels)
        return tuple(r for r in self.runners if r.serves(wanted))


def fleet_from_runners_json(data: object, source: str = "fleet") -> Fleet:
    """Parse the runners API response shape; a bad shape is a ConfigError naming the field."""
    if not isinstance(data, dict) or not isinstance(data.get("runners"), list):
        raise ConfigError(
            f"{source}: expected an object with a 'runners' list, the shape of GitHub's "
            "GET /repos/{owner}/{repo}/actions/runners"
        )
    runners = []
    for index, item in enumerate(data["runners"]):
        where = f"{source}: runners[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        name, status, busy, labels = (item.get(k) for k in ("name", "status", "busy", "labels"))
        system = item.get("os", "")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}.name: expected a non-empty string")
        if status not in ("online", "offline"):
            raise ConfigError(f"{where}.status: expected 'online' or 'offline', got {status!r}")
        if not isinstance(system, str):
            raise ConfigError(f"{where}.os: expected a string, got {system!r}")
        if not isinstance(busy, bool):
            raise ConfigError(f"{where}.busy: expected true or false")
        if not isinstance(labels, list) or not all(
            isinstance(lb, dict) and isinstance(lb.get("name"), str) for lb in labels
        ):
            raise ConfigError(f"{where}.labels: expected a list of objects with a 'name'")
        runners.append(
            Runner(
                name=name,
                os=system,
                online=status == "online",
                busy=busy,
                labels=frozenset(lb["name"].lower() for lb in labels),
            )
        )
    return Fleet(tuple(runners))


def load_fleet_file(path: Path) -> Fleet:
    """Read a runners API response saved as JSON; a bad file is a ConfigError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no fleet file at {path}; check the --fleet path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the fleet file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return fleet_from_runners_json(data, str(path))
