"""One module per `relayq` subcommand: parse arguments, call a service, render the answer."""
