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
# transcribe (the default) or translate; only a value other than the default is passed on.
if [[ -n "${RELAYQ_JOB_TASK:-}" && "$RELAYQ_JOB_TASK" != transcribe ]]; then
  args+=(--task "$RELAYQ_JOB_TASK")
fi
# What to call the source in messages (the user's file name), instead of the runner's names.
if [[ -n "${RELAYQ_JOB_NAME:-}" ]]; then args+=(--name "$RELAYQ_JOB_NAME"); fi
# The job's id names its folder on the NAS, when the runner has one (RELAYQ_NAS_DIR).
if [[ -n "${RELAYQ_REQUEST_ID:-}" ]]; then args+=(--job-id "$RELAYQ_REQUEST_ID"); fi
# The target's longest recording: a longer one is refused (exit 10) with refusal.json.
if [[ -n "${RELAYQ_JOB_MAX_DURATION_MIN:-}" ]]; then
  args+=(--max-duration-min "$RELAYQ_JOB_MAX_DURATION_MIN")
fi
# A private job: the local model only, no remote fallback; a summary only by the owner's own
# LLM server (docs/PRIVACY.md). Only "true" turns it on; anything else is an ordinary job.
private=""
if [[ "${RELAYQ_JOB_PRIVATE:-}" == true ]]; then private=1; args+=(--private); fi
source="$RELAYQ_SOURCE"
# A summary of an earlier run: the workflow has fetched that run's results into this folder.
if [[ -n "${RELAYQ_EARLIER_DIR:-}" ]]; then source="$RELAYQ_EARLIER_DIR"; fi

# The job's stderr goes to the log as it comes and into a file: when the job fails, its last
# "relayq: " line (its one sentence: what was wrong, what to do; never anything else, such as
# a tool's output) becomes error.txt in the results, which the workflow uploads even then, so
# the bot can tell the user why, not only "see the log".
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT

# On GitHub the job's progress records (`relayq-progress: ` lines on its stderr) go into its own
# check run (jobs/checkrun.py). Only that process gets the token: the job itself never sees it.
checks_token="${RELAYQ_CHECKS_TOKEN:-}"
unset RELAYQ_CHECKS_TOKEN
python="${RELAYQ_VENV:+$RELAYQ_VENV/bin/}python3"
progress() {
  if [[ -n "$checks_token" && -n "${RELAYQ_CHECK_RUN_ID:-}" ]] && command -v "$python" >/dev/null; then
    # Should the writer ever stop, cat takes the rest: the job's stderr never breaks.
    RELAYQ_CHECKS_TOKEN="$checks_token" PYTHONPATH="$(dirname "$here")" "$python" -m jobs.checkrun \
      || cat
  else
    cat
  fi
}

explained() {
  local code
  set +e
  # stdout passes by; stderr is teed into $errors and passes through the progress writer.
  { "$@" 2>&1 1>&3 3>&- | tee -a "$errors" | progress >&2; } 3>&1
  code=${PIPESTATUS[0]}
  set -e
  if ((code != 0)); then
    mkdir -p "$RELAYQ_OUT"
    grep '^relayq: ' "$errors" | tail -n 1 | cut -c1-400 > "$RELAYQ_OUT/error.txt" || true
    [[ -s "$RELAYQ_OUT/error.txt" ]] || rm -f "$RELAYQ_OUT/error.txt"
  fi
  return "$code"
}

case "${RELAYQ_JOB:-transcribe}" in
  transcribe) explained bash "$here/transcribe.sh" "${args[@]}" -- "$source" ;;
  summarize)
    summary_args=(--out "$RELAYQ_OUT")
    if [[ -n "$private" ]]; then summary_args+=(--private); fi
    if [[ -n "${RELAYQ_JOB_MODEL:-}" ]]; then summary_args+=(--model "$RELAYQ_JOB_MODEL"); fi
    if [[ -n "${RELAYQ_VENV:-}" ]]; then PATH="$RELAYQ_VENV/bin:$PATH"; fi
    explained relayq summarize "${summary_args[@]}" -- "$source" ;;
  *)
    echo "relayq: unknown job kind; expected transcribe or summarize" >&2
    exit 2 ;;
esac
