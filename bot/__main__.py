"""`python -m bot`: the Telegram bot service (same as `relayq bot`)."""

import sys

from bot.cli import main

sys.exit(main(["bot", *sys.argv[1:]]))
