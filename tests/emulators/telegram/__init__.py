"""A Telegram Bot API emulator for tests: the methods relayq's bot calls, on 127.0.0.1."""

from tests.emulators.telegram.server import BotApiEmulator

__all__ = ["BotApiEmulator"]
