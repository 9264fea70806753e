#!/usr/bin/env bash
# Thin shim kept for the checklist's commands: `bin/dispatch.sh --url URL [--wait]` is
# `relayq dispatch --url URL [--wait]`. Arguments pass through untouched, never re-parsed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$here/.venv/bin/relayq" ]]; then
  exec "$here/.venv/bin/relayq" dispatch "$@"
fi
exec relayq dispatch "$@"
