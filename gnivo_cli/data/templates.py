r"""Prompt templates: the one engine that training data, `gnivo eval` and the recipe checks share.

The rule, with no exceptions and no guessing about LaTeX:

- `{name}`, a name of letters, digits and underscores not starting with a digit (a Python identifier),
  is always a placeholder: it takes the value of the column `name`;
- `{{` and `}}` are a literal `{` and `}`;
- every other brace is literal text: `\boxed{}`, `x^{2}`, `{ x }`, `{}`.

So `\boxed{}` needs no escaping, while LaTeX whose braces hold a word doubles them: `\frac{{a}}{{b}}`
renders as `\frac{a}{b}`. `parse` is the only reader of a template: `placeholders` (what the checks
see) and `render` (what the model sees) both go through it, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.suggest import did_you_mean

# Tried left to right: a doubled brace first, so `{{name}}` is the literal text `{name}`.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^\W\d]\w*)\}")


@dataclass(frozen=True)
class Placeholder:
    """A `{name}` in a template."""

    name: str


#: A template's parts in order: literal text, or a placeholder.
Piece = str | Placeholder


class TemplateError(GnivoError):
    """A template names placeholders that have no value; `names` lists them."""

    def __init__(self, message: str, names: list[str]):
        super().__init__(message)
        self.names = names


def parse(template: str) -> list[Piece]:
    """The template as literal text and placeholders, in order (adjacent literal text joined)."""
    pieces: list[Piece] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(template):
        literal.append(template[position : match.start()])
        position = match.end()
        if match.group(1) is None:
            literal.append(match.group(0)[0])  # `{{` -> `{`, `}}` -> `}`
            continue
        if text := "".join(literal):
            pieces.append(text)
        literal = []
        pieces.append(Placeholder(match.group(1)))
    literal.append(template[position:])
    if text := "".join(literal):
        pieces.append(text)
    return pieces


def placeholders(template: str) -> list[str]:
    """The names a template's placeholders read, each once, in order of first appearance."""
    return list(dict.fromkeys(piece.name for piece in parse(template) if isinstance(piece, Placeholder)))


def render(template: str, values: Mapping[str, Any]) -> str:
    """The template with each placeholder replaced by `str(values[name])`.

    A placeholder without a value raises `TemplateError` (see `missing_message`): it never stays in the
    text as written.
    """
    pieces = parse(template)
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        raise TemplateError(missing_message(missing, values), missing)
    return "".join(piece if isinstance(piece, str) else str(values[piece.name]) for piece in pieces)


def missing_message(missing: list[str], available: Iterable[str], what: str = "columns") -> str:
    """`names {x}, which the data lacks (columns: ...)`, with a did-you-mean and the escape for literal braces."""
    known = sorted(set(available))
    names = ", ".join("{" + name + "}" for name in missing)
    hint = did_you_mean(missing[0], known, stands_for={name: "{" + name + "}" for name in known}).removeprefix("; ")
    hint = f"{hint} " if hint else ""
    literal = "{{" + missing[0] + "}}"
    return (
        f"names {names}, which the data lacks ({what}: {', '.join(known) or 'none'}); "
        f"{hint}for literal braces around a word write {literal}"
    )
