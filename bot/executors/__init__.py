"""Executors run routed jobs: `local` (this machine) and, later, `github` (self-hosted runners)."""

from bot.executors.base import Executor, JobSpec, JobState, Phase

__all__ = ["Executor", "JobSpec", "JobState", "Phase"]
