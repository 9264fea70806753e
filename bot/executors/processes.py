"""The local executor's processes: a job runs in its own process group, is stopped with
SIGINT, then SIGTERM, then SIGKILL, and is named by pid and start time so that a bot started
again can stop what its predecessor left running (D22)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path

__all__ = ["GRACE_S", "signal_group", "signal_if_running", "start_mark", "stop", "stop_leftover"]

GRACE_S = 5.0


def signal_if_running(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    if process.returncode is None:
        signal_group(process, sig)


def signal_group(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGINT and SIGTERM the job's process group (it cleans up), SIGKILL if it lingers."""
    signal_group(process, signal.SIGINT)
    signal_group(process, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=GRACE_S)
    except TimeoutError:
        signal_group(process, signal.SIGKILL)
        await process.wait()


def start_mark(pid: int) -> str | None:
    """When process `pid` started (an opaque mark), or None once it is gone or a zombie. With
    the pid it names one process, whatever pid reuse does."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        if Path("/proc/self/stat").exists():
            return None  # Linux: it is gone
        ps = subprocess.run(["ps", "-o", "stat=,lstart=", "-p", str(pid)], capture_output=True,
                            text=True, check=False)  # fmt: skip
        state, _, started = ps.stdout.strip().partition(" ")
        return None if not started or state.startswith("Z") else started.strip()
    return None if fields[0] == "Z" else fields[19]  # state, and starttime (field 22)


async def stop_leftover(record: Path) -> None:
    """Stop a job an earlier bot started and did not live to see end (TERM, then KILL)."""
    try:
        pid_text, mark = record.read_text().split(" ", 1)
        pid = int(pid_text)
    except (OSError, ValueError):
        return
    for sig, wait_s in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 1.0)):
        if mark == "None" or start_mark(pid) != mark:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        for _ in range(int(wait_s / 0.05)):
            if start_mark(pid) != mark:
                return
            await asyncio.sleep(0.05)
