"""An OpenAI-compatible API emulator for tests (transcriptions, chat), on 127.0.0.1."""

from tests.emulators.openai.server import Fault, OpenAIEmulator

__all__ = ["Fault", "OpenAIEmulator"]
