"""The documentation stays true: every setting documented, links resolve, commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import COMMANDS
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_EXAMPLE = (ROOT / "jobs" / "env.example").read_text()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "policy" / "SCHEMA.md"]


def setting_names() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []) or [])
    return {str(n) for n in names}


def test_every_setting_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, flags=re.MULTILINE))
    assert setting_names() - documented == set()


def test_every_variable_in_env_example_is_a_real_setting() -> None:
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, flags=re.MULTILINE))
    assert documented - setting_names() == set()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relayq_variables_named_in_docs_exist(doc: Path) -> None:
    named = set(re.findall(r"\b(RELAYQ_[A-Z0-9_]+)\b", doc.read_text()))
    assert named - setting_names() == set()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_internal_links_resolve(doc: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if "://" in target:
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relayq_subcommands_named_in_docs_exist(doc: Path) -> None:
    text = doc.read_text()
    code = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL))
    named = set(re.findall(r"`relayq ([a-z]+)", text))
    named |= set(re.findall(r"^(?:\$ )?relayq ([a-z]+)", code, flags=re.MULTILINE))
    assert named - set(COMMANDS) == set()
