"""One module per `hwnas` subcommand; each exposes `register(subparsers)`."""
