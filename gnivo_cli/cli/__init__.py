"""The `gnivo` command line: a thin Typer layer over the library.

Heavy libraries (torch, transformers, trl) are imported inside the commands, so `gnivo --help`
stays instant. Every command shares one error boundary: a `GnivoError` (bad input) or an `OSError` (the
environment) prints one line per problem and exits 1; anything else is reported as a one-line internal error,
also exit 1. `--debug` shows the traceback instead.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from gnivo_cli.errors import GnivoError, Interrupted
from gnivo_cli.training.launch import record_invocation

app = typer.Typer(
    name="gnivo",
    help="Critic-free RL post-training of language models with GN-IVO.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"gnivo {version('gnivo')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


def _register() -> None:
    from gnivo_cli.cli import compare, evaluate, export, rewards, score, train

    app.command("train")(_interruptible(train.train))
    app.command("eval")(_interruptible(evaluate.evaluate))
    app.command("score")(_interruptible(score.score))
    app.add_typer(rewards.app, name="rewards")
    app.command("compare")(_interruptible(compare.compare))
    app.command("plot")(compare.plot)
    app.command("export")(export.export)


def _interruptible(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command, with Ctrl-C reported (Typer would turn it into a silent exit 130)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted() from None

    return run


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `gnivo` script: runs the app inside the error boundary."""
    args = sys.argv[1:] if argv is None else argv
    record_invocation(args)  # what `--num-processes` relaunches under accelerate
    if "--debug" in args:
        _state["debug"] = True
    try:
        app(args=args, prog_name="gnivo")
    except Interrupted as error:
        if _state["debug"]:
            raise
        from gnivo_cli.console import err_console

        err_console.print(f"[yellow]{error}[/]", highlight=False, soft_wrap=True)
        raise SystemExit(error.exit_code) from None
    except GnivoError as error:
        if _state["debug"]:
            raise
        _print_errors(str(error).splitlines() or [type(error).__name__])
        raise SystemExit(error.exit_code) from None
    except OSError as error:  # the environment (disk full, permission denied, a path), not a bug in gnivo
        if _state["debug"]:
            raise
        where = f": {error.filename}" if error.filename else ""
        _print_errors([f"{error.strerror or _first_line(error)}{where}"])
        raise SystemExit(1) from None
    except Exception as error:  # a bug: still one line, and the way to the traceback
        if _state["debug"]:
            raise
        _print_errors(
            [f"internal error ({type(error).__name__}: {_first_line(error)}); rerun with --debug for the traceback"]
        )
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        if _state["debug"]:
            raise
        from gnivo_cli.console import err_console

        err_console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _print_errors(lines: list[str]) -> None:
    from rich.text import Text

    from gnivo_cli.console import err_console

    for line in lines:
        err_console.print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True)
