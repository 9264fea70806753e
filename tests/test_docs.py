"""The documentation stays true: every setting documented, links resolve, commands exist."""

from __future__ import annotations

import argparse
import ast
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


def test_every_setting_does_something() -> None:
    """A documented setting that nothing reads promises what is not there: each is read in
    the code (as `settings.<field>`) or by a script or workflow (by its name)."""
    code = " ".join(p.read_text() for pkg in ("bot", "jobs") for p in (ROOT / pkg).rglob("*.py")
                    if p.name != "settings.py")  # fmt: skip
    scripts = " ".join(p.read_text() for p in [*(ROOT / "jobs").glob("*.sh"),
                                                *(ROOT / ".github" / "workflows").glob("*.yml")])  # fmt: skip
    # A field may be read through a property of Settings (allowed_users → allowed_user_ids).
    tree = ast.parse((ROOT / "bot" / "settings.py").read_text())
    through = {
        node.name: ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and re.search(rf"\.{node.name}\b", code)
    }
    idle = []
    for name, field in Settings.model_fields.items():
        aliases = getattr(field.validation_alias, "choices", []) or []
        used = (re.search(rf"\.{name}\b", code) or any(str(a) in scripts for a in aliases)
                or any(f"self.{name}" in body for body in through.values()))  # fmt: skip
        if not used:
            idle.append(name)
    assert idle == []


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


def subcommand_options() -> dict[str, set[str]]:
    from bot.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {
        name: {
            o
            for action in p._actions
            if action.help != argparse.SUPPRESS  # internal (e.g. set by a detached child)
            for o in action.option_strings
        }
        for name, p in sub.choices.items()  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relayq_options_named_in_docs_exist(doc: Path) -> None:
    options = subcommand_options()
    text = doc.read_text()
    lines = [m.group(0) for m in re.finditer(r"`relayq [a-z]+[^`\n]*`", text)]
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL):
        lines += [line for line in block.splitlines() if re.match(r"\s*(\$ )?relayq [a-z]", line)]
    unknown = []
    for line in lines:
        command = re.search(r"relayq ([a-z]+)", line)
        assert command is not None
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line.split("#")[0]))
        unknown += [
            f"relayq {command.group(1)} {o}" for o in named - options.get(command.group(1), set())
        ]
    assert unknown == []


def test_every_command_and_option_is_documented() -> None:
    text = "\n".join(p.read_text() for p in DOCS)
    missing = [
        f"relayq {command} {option}"
        for command, options in subcommand_options().items()
        for option in sorted(options - {"-h", "--help"})
        if not re.search(rf"relayq {command}\b[^\n]*{re.escape(option)}\b", text)
    ]
    missing += [f"relayq {c}" for c in COMMANDS if not re.search(rf"relayq {c}\b", text)]
    assert missing == []


def test_every_exit_code_is_in_the_readme_the_error_tree_and_transcribe_help() -> None:
    from bot.cli import build_parser
    from jobs import errors

    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.RelayqError)
    } | {0}
    readme = (ROOT / "README.md").read_text()
    table = {int(c) for c in re.findall(r"^\| (\d+) \| ", readme, flags=re.MULTILINE)}
    tree = {int(c) for c in re.findall(r"exit (\d+) ", errors.__doc__ or "")} | {0}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    description = sub.choices["transcribe"].description or ""  # type: ignore[union-attr]
    listed = description.split("Exit codes:", 1)[1]
    helped = {int(c) for c in re.findall(r"(\d+) [a-z]", listed)}
    assert table == codes and tree == codes and helped == codes
