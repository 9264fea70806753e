"""The bot runs on a 1 GB VM: what it imports at start is what it keeps in memory."""

from __future__ import annotations

import subprocess
import sys


def test_the_bot_loads_no_model_decoder_or_numpy_at_start() -> None:
    """numpy alone is about 12 MB of the bot's memory; the runner side needs it, the bot not."""
    code = (
        # What `relayq bot` loads before it runs: every command's parser, then the bot.
        "import sys, bot.cli, bot.app; bot.cli.build_parser();"
        "print(' '.join(m for m in ('numpy', 'av', 'faster_whisper', 'ctranslate2', 'openai')"
        " if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
