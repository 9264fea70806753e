#!/usr/bin/env bash
# For a summary: when the source names an earlier run (`run:<run id>`), output its id so the
# next step fetches that run's transcript artifact. Anything else passes through untouched.
# The source arrives as an environment variable and is only ever matched, never executed.
set -euo pipefail
: "${RELAYQ_SOURCE:?}" "${GITHUB_OUTPUT:?}"
if [[ "$RELAYQ_SOURCE" =~ ^run:([0-9]{1,20})$ ]]; then
  echo "run_id=${BASH_REMATCH[1]}" >> "$GITHUB_OUTPUT"
elif [[ "$RELAYQ_SOURCE" == run:* ]]; then
  echo "relayq: ${RELAYQ_SOURCE:0:40} is not an earlier run; expected run: and the run's number" >&2
  exit 2
fi
