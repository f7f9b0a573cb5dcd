"""User-facing errors: each one is printed as one clear line by the CLI (exit code 1)."""

from __future__ import annotations


class GnivoError(Exception):
    """An error caused by the user's input or environment, not by a bug in gnivo."""

    exit_code = 1


class RecipeError(GnivoError):
    """A recipe failed validation. Holds one message per problem, each naming its key path."""

    def __init__(self, problems: list[str], source: str | None = None):
        prefix = f"{source}: " if source else ""
        self.problems = [prefix + problem for problem in problems]
        self.source = source
        super().__init__("\n".join(self.problems))


class ModelNotFoundError(GnivoError):
    """A model reference could not be resolved to weights on this machine."""


class TrainingInterrupted(GnivoError):
    """SIGINT or SIGTERM stopped training: after a checkpoint was saved (the run can be resumed), or before it
    started."""

    def __init__(self, message: str, *, signum: int, step: int, output_dir: str, resumable: bool = True):
        super().__init__(message)
        self.exit_code = 128 + signum  # what a shell reports for a process ended by that signal
        self.step = step
        self.output_dir = output_dir
        self.resumable = resumable  # False: stopped before anything was written, so a plain rerun starts it


class Interrupted(GnivoError):
    """Ctrl-C (SIGINT) stopped a command; what it had finished is kept (each command says what)."""

    exit_code = 130

    def __init__(self, message: str = "interrupted"):
        super().__init__(message)
