"""The fleet snapshot: GitHub's runners API JSON in relayq's own types, and runs-on matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.fleet import Fleet, Runner, fleet_from_runners_json, load_fleet_file
from jobs.errors import ConfigError

FLEETS = Path(__file__).resolve().parents[1] / "fixtures" / "fleets"

MAC = frozenset({"self-hosted", "macos", "x64", "macmini", "audio", "ffmpeg", "heavy"})
PI4 = frozenset({"self-hosted", "linux", "arm64", "rpi4", "audio", "light"})


def runner_json(**overrides: object) -> dict[str, object]:
    """One runner as GitHub's API returns it, label objects with id and type included."""
    item: dict[str, object] = {
        "id": 7,
        "name": "pi4",
        "os": "Linux",
        "status": "online",
        "busy": False,
        "labels": [
            {"id": 1, "name": "self-hosted", "type": "read-only"},
            {"id": 2, "name": "rpi4", "type": "custom"},
        ],
    }
    return item | overrides


def test_a_runners_api_response_becomes_a_fleet() -> None:
    fleet = load_fleet_file(FLEETS / "mac_busy.json")
    assert [(r.name, r.os, r.online, r.busy) for r in fleet.runners] == [
        ("mac-mini", "macOS", True, True),
        ("pi4", "Linux", True, False),
        ("pi3", "Linux", True, False),
    ]
    assert fleet.runners[0].labels == MAC


def test_labels_are_kept_lower_case_because_github_matches_them_case_insensitively() -> None:
    fleet = load_fleet_file(FLEETS / "mixed_case_extra.json")
    mac = next(r for r in fleet.runners if r.name == "mac-mini")
    assert mac.labels == MAC
    assert mac.serves(["Self-Hosted", "MACMINI"])


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["self-hosted", "macmini"], ["mac-mini"]),
        (["self-hosted", "audio"], ["mac-mini", "pi4"]),
        (["self-hosted"], ["mac-mini", "pi4", "pi3"]),
        (["self-hosted", "rpi3", "audio"], []),
        (["gpu"], []),
    ],
)
def test_a_runner_serves_a_workflow_when_it_has_every_runs_on_label(
    labels: list[str], expected: list[str]
) -> None:
    fleet = load_fleet_file(FLEETS / "all_idle.json")
    assert [r.name for r in fleet.serving(labels)] == expected


def test_an_empty_fleet_serves_nothing() -> None:
    assert load_fleet_file(FLEETS / "empty.json") == Fleet(())
    assert Fleet().serving(["self-hosted"]) == ()


def test_every_fixture_fleet_parses() -> None:
    for path in sorted(FLEETS.glob("*.json")):
        data = json.loads(path.read_text())
        assert len(load_fleet_file(path).runners) == data["total_count"], path.name


def test_the_runner_type_is_what_the_github_executor_builds() -> None:
    built = Runner("pi4", "Linux", True, False, frozenset({"self-hosted", "rpi4"}))
    assert fleet_from_runners_json({"runners": [runner_json()]}) == Fleet((built,))


@pytest.mark.parametrize(
    ("data", "expected_error"),
    [
        ([], "fleet: expected an object with a 'runners' list"),
        ({"total_count": 1}, "fleet: expected an object with a 'runners' list"),
        ({"runners": ["pi4"]}, "fleet: runners[0]: expected an object"),
        ({"runners": [runner_json(name="")]}, "fleet: runners[0].name: expected a non-empty string"),
        ({"runners": [runner_json(status="idle")]}, "fleet: runners[0].status: expected 'online' or 'offline', got 'idle'"),
        ({"runners": [runner_json(busy="no")]}, "fleet: runners[0].busy: expected true or false"),
        ({"runners": [runner_json(os=3)]}, "fleet: runners[0].os: expected a string, got 3"),
        ({"runners": [runner_json(), runner_json(labels=["rpi4"])]},
         "fleet: runners[1].labels: expected a list of objects with a 'name'"),
    ],
)  # fmt: skip
def test_a_bad_shape_names_the_field(data: object, expected_error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        fleet_from_runners_json(data)
    assert str(caught.value).startswith(expected_error)


@pytest.mark.parametrize(
    ("content", "expected_error"),
    [
        (None, "no fleet file at {path}; check the --fleet path"),
        ("{", "{path}: not valid JSON (line 1, column 2"),
        (b"\xff\xfe", "cannot read the fleet file {path}"),
        ('{"runners": 3}', "{path}: expected an object with a 'runners' list"),
    ],
)
def test_a_bad_fleet_file_is_one_sentence_naming_it(
    tmp_path: Path, content: str | bytes | None, expected_error: str
) -> None:
    path = tmp_path / "fleet.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_fleet_file(path)
    assert str(caught.value).startswith(expected_error.format(path=path))
