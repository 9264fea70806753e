"""`relayq` — the command line. Each subcommand lives in `bot/commands/<name>.py`.

Every command module exposes `register(subparsers)`, which adds its parser and sets
`func(args, settings) -> int`. Errors from the `RelayqError` tree become one line on stderr
and the error's exit code; nothing a user did wrong prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bot import interrupts
from jobs.errors import Interrupted, RelayqError

__all__ = ["build_parser", "main"]

COMMANDS = ("transcribe", "summarize", "route", "dispatch", "status", "demo", "bot")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own message is fine; make it one line with a hint, and keep exit code 2.
        self.exit(2, f"relayq: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="relayq",
        description="Run audio transcription jobs on your own machines.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"bot.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    interrupts.install()
    try:
        from bot.settings import load_settings

        settings = load_settings()
        code: int = args.func(args, settings)
        return code
    except KeyboardInterrupt:
        return _interrupted()
    except RelayqError as err:
        if interrupts.received():
            return _interrupted()
        print(f"relayq: {err}", file=sys.stderr)
        return err.exit_code
    except Exception:
        # A signal that landed inside a C extension can come back as another exception.
        if interrupts.received():
            return _interrupted()
        raise


def _interrupted() -> int:
    print(f"relayq: {Interrupted('interrupted; nothing was left behind')}", file=sys.stderr)
    return Interrupted.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
