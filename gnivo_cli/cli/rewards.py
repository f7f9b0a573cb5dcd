"""`gnivo rewards list` and `gnivo rewards show NAME`: the installed reward plugins."""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(help="Reward plugins (entry-point group `gnivo.rewards`).", no_args_is_help=True)


@app.command("list")
def list_rewards(
    check: Annotated[
        bool, typer.Option("--check", help="Also import each plugin and report those that fail (exit 1 if any).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List installed reward plugins without importing them."""
    from gnivo_cli.console import console
    from rewards.registry import available_rewards

    infos = available_rewards(check=check)
    if as_json:
        typer.echo(json.dumps([info.__dict__ for info in infos], indent=2))
    else:
        console.print(_table(infos))
    if check and any(info.status == "broken" for info in infos):
        raise typer.Exit(1)


def _table(infos):
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Reward plugins", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("package", no_wrap=True)
    table.add_column("description")
    table.add_column("status", no_wrap=True)
    for info in infos:
        if info.status == "ok":
            status = Text("ok", style="green")
            description = Text(info.description)
        else:
            status = Text("broken", style="bold red")
            description = Text(info.error or "", style="red")
        table.add_row(info.name, f"{info.distribution} {info.version}", description, status)
    if not infos:
        table.caption = "none installed: a plugin registers in the entry-point group `gnivo.rewards`"
    return table


@app.command("show")
def show_reward(name: Annotated[str, typer.Argument(help="Reward name, as in `gnivo rewards list`.")]) -> None:
    """Show a reward's description and parameters (imports that one plugin)."""
    from rich.table import Table

    from gnivo_cli.console import console
    from rewards.registry import available_rewards, describe_params, load_reward_class

    cls = load_reward_class(name)
    info = next(info for info in available_rewards() if info.name == name)
    console.print(f"[bold cyan]{name}[/]  {info.distribution} {info.version}  [dim]{info.value}[/]", highlight=False)
    doc = (cls.__doc__ or cls.description or "").strip()
    if doc:
        console.print(_dedent(doc), highlight=False, markup=False)
    table = Table(title="params", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("type")
    table.add_column("default")
    table.add_column("meaning")
    for row in describe_params(cls):
        table.add_row(*row)
    console.print(table)


def _dedent(doc: str) -> str:
    """A docstring as flowing paragraphs: rich wraps them to the terminal."""
    import inspect

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)
