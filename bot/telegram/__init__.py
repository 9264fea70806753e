"""The Telegram front end: python-telegram-bot at the edge, relayq's services behind it."""

import os

# Opt in to python-telegram-bot's coming behaviour: time spans (retry_after) as timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "1")
