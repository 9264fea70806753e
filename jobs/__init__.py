"""relayq's runner side: fetch, decode, transcribe, write outputs.

Nothing here imports the bot: a runner installs the same distribution but only ever runs
`relayq transcribe` (through `jobs/transcribe.sh`).
"""
