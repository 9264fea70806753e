"""The Telegram front end: python-telegram-bot at the edge, relayq's services behind it."""
