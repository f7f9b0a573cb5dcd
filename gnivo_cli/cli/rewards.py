"""`gnivo rewards ...` (being built)."""

import typer

app = typer.Typer(help="Reward plugins.", no_args_is_help=True)


@app.command("list")
def list_rewards() -> None:
    """List installed reward plugins."""
    raise NotImplementedError
