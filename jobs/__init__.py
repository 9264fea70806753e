"""relayq's runner side: fetch, decode, transcribe, write outputs.

Nothing here imports the bot: a runner installs the same distribution but only ever runs
`relayq transcribe` (through `jobs/transcribe.sh`).
"""

import os

# onnxruntime (faster-whisper's VAD, which the local and the remote backends both use) keeps
# telemetry on by default: loading it writes `$TMPDIR/.ses` and a device id under
# `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`. A tool for private audio writes no
# device identifier and leaves no file behind, so it is switched off here, the package's
# first line of code, before any module of it can load onnxruntime (read when the library
# loads; the job's subprocesses inherit it). Set, not defaulted: a stray 0 in a runner's
# environment must not turn it back on.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
