#!/usr/bin/env bash
# The runner's entry for a transcription job: the workflows and the local executor call this
# with SOURCE and options exactly as `relayq transcribe` takes them. Arguments pass through
# untouched ("$@"), never re-parsed or interpolated.
set -euo pipefail
if [[ -n "${RELAYQ_VENV:-}" ]]; then
  PATH="$RELAYQ_VENV/bin:$PATH"
fi
exec relayq transcribe "$@"
