#!/usr/bin/env bash
# The workflow's job step. Every input arrives as an environment variable (never spliced into
# this script), is passed as one argument, and the source comes after `--` so that even a
# value like "--out=/etc" is only ever a source.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${RELAYQ_SOURCE:?}" "${RELAYQ_OUT:?}"
args=(--out "$RELAYQ_OUT")
if [[ -n "${RELAYQ_JOB_BACKEND:-}" ]]; then args+=(--backend "$RELAYQ_JOB_BACKEND"); fi
if [[ -n "${RELAYQ_JOB_MODEL:-}" ]]; then args+=(--model "$RELAYQ_JOB_MODEL"); fi
if [[ -n "${RELAYQ_JOB_LANGUAGE:-}" ]]; then args+=(--language "$RELAYQ_JOB_LANGUAGE"); fi
source="$RELAYQ_SOURCE"
# A summary of an earlier run: the workflow has fetched that run's results into this folder.
if [[ -n "${RELAYQ_EARLIER_DIR:-}" ]]; then source="$RELAYQ_EARLIER_DIR"; fi
case "${RELAYQ_JOB:-transcribe}" in
  transcribe) exec bash "$here/transcribe.sh" "${args[@]}" -- "$source" ;;
  summarize)
    summary_args=(--out "$RELAYQ_OUT")
    if [[ -n "${RELAYQ_JOB_MODEL:-}" ]]; then summary_args+=(--model "$RELAYQ_JOB_MODEL"); fi
    if [[ -n "${RELAYQ_VENV:-}" ]]; then PATH="$RELAYQ_VENV/bin:$PATH"; fi
    exec relayq summarize "${summary_args[@]}" -- "$source" ;;
  *)
    echo "relayq: unknown job kind; expected transcribe or summarize" >&2
    exit 2 ;;
esac
