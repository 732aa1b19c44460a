"""The `factory` subcommands, one module per concept, each imported only when its
command runs (``cli.COMMANDS`` maps the names)."""
