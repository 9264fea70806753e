"""A Ctrl-C that Python swallows (raised inside a finaliser) still stops the command."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from bot import interrupts

    interrupts.install()

    class Native:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # lands while the finaliser runs
            for _ in range(1000):
                pass

    Native()  # finalised at once; its KeyboardInterrupt is printed as ignored
    print("went on", flush=True)
    try:
        interrupts.check()
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
    """
)


def test_a_swallowed_interrupt_is_raised_again_at_the_next_step() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert "Exception ignored" in done.stderr  # the swallowing this guards against happened
    assert done.stdout == "went on\n"
    assert done.returncode == 130


def test_without_a_signal_the_check_lets_the_step_go_on() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from bot import interrupts; interrupts.install(); interrupts.check()"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
