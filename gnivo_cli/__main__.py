"""`python -m gnivo_cli` runs the CLI."""

from gnivo_cli.cli import main

main()
