"""A GitHub Actions emulator for tests: REST on 127.0.0.1, runners that run workflows with act."""

from tests.emulators.github.server import GitHubEmulator

__all__ = ["GitHubEmulator"]
