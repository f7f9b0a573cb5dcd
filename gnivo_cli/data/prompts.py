"""Rows -> the chat prompts trl trains on, every row checked on the way.

A row's prompt column holds either text, which `data.prompt_template` turns into the user message (after
an optional `data.system_prompt`), or chat messages, used as they are. Either way a bad row is one line
naming the file, the row and the key: training on the text "None", on a template's unfilled `{name}`, or
on a message the chat template cannot render would run without complaint and learn nothing useful.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from gnivo_cli.data import templates
from gnivo_cli.errors import GnivoError

if TYPE_CHECKING:
    from gnivo_cli.recipe.sections import DataSection

#: The roles a chat prompt may hold: those every chat template renders.
CHAT_ROLES = ("system", "user", "assistant")


def build_prompts(rows: list[dict[str, Any]], section: DataSection, source: str | None = None) -> list[dict]:
    """Rows -> trl rows: a conversational `prompt` plus every other column (the rewards' keyword lists)."""
    where = f"{source}: " if source else ""
    needed = templates.placeholders(section.prompt_template)
    default = next(f.default for f in dataclasses.fields(section) if f.name == "prompt_template")
    custom_template = section.prompt_template != default
    built = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise GnivoError(f"{where}data row {number} is {type(row).__name__}, not an object with columns")
        if section.prompt_column not in row:
            raise GnivoError(
                f"{where}data row {number} has no column {section.prompt_column!r} (data.prompt_column); "
                f"it has: {', '.join(sorted(row))}"
            )
        at = f"{where}data row {number} of {section.source}"
        value = row[section.prompt_column]
        if isinstance(value, list):
            messages = _chat_prompt(value, section, at, custom_template)
        else:
            _check_row_values(row, section, needed, number, where)
            text = templates.render(section.prompt_template, {**row, "prompt": value})
            system = [{"role": "system", "content": section.system_prompt}] if section.system_prompt else []
            messages = [*system, {"role": "user", "content": text}]
        extra = {k: v for k, v in row.items() if k != "prompt"}
        built.append({**extra, "prompt": messages})
    return built


def _chat_prompt(messages: list[Any], section: DataSection, at: str, custom_template: bool) -> list[dict]:
    """A prompt given as chat messages, checked: each a {role, content} mapping with a known role and text."""
    key = f"column {section.prompt_column!r} (data.prompt_column)"
    if not messages:
        raise GnivoError(f"{at}: {key} is an empty list of chat messages")
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            raise GnivoError(
                f"{at}: {key} message {index} is {type(message).__name__}, not a {{role, content}} mapping"
            )
        role, content = message.get("role"), message.get("content")
        if role not in CHAT_ROLES:
            shown = "no role" if "role" not in message else f"role {role!r}"
            raise GnivoError(f"{at}: {key} message {index} has {shown} (allowed: {', '.join(CHAT_ROLES)})")
        if not isinstance(content, str):
            state = "no content" if "content" not in message else f"content {_kind(content)}"
            raise GnivoError(f"{at}: {key} message {index} ({role}) has {state}; it must be text")
    if custom_template:
        raise GnivoError(
            f"{at}: {key} holds chat messages, which are used as they are, so data.prompt_template "
            f"{section.prompt_template!r} would be ignored; remove it, or give the prompt as text"
        )
    if not section.system_prompt:
        return list(messages)
    if any(message["role"] == "system" for message in messages):
        raise GnivoError(
            f"{at}: {key} already has a system message, and data.system_prompt would add a second one; "
            "remove data.system_prompt or the row's system message"
        )
    return [{"role": "system", "content": section.system_prompt}, *messages]


def _kind(value: Any) -> str:
    return "null" if value is None else f"of type {type(value).__name__}"


def _check_row_values(row: dict[str, Any], section: DataSection, needed: list[str], number: int, where: str) -> None:
    at = f"{where}data row {number} of {section.source}"
    missing = [name for name in needed if name != "prompt" and name not in row]
    if missing:
        message = templates.missing_message(missing, {"prompt", *row})
        raise GnivoError(f"{where}data.prompt_template {message} (row {number} of {section.source})")
    for name in [section.prompt_column, *needed]:
        column = section.prompt_column if name == "prompt" else name
        value = row[column]
        if isinstance(value, list | dict):
            raise GnivoError(
                f"{at}: column {column!r} holds a {type(value).__name__}, not text "
                "(a chat prompt is a list of {role, content} messages)"
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            state = "null" if value is None else "empty"
            raise GnivoError(
                f"{at}: column {column!r} is {state}; fix or drop the row "
                "(it would train on the text 'None' or on nothing)"
            )
