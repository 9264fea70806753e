"""relayq's VM side: settings, policy engine, fleet, executors, CLI (and later the Telegram bot)."""
