"""Training data: synthetic tasks, prompt templates, local files."""

from __future__ import annotations

import json

import pytest

from gnivo_cli.data.loading import ArithmeticTask, load_rows, read_json_rows
from gnivo_cli.data.prompts import build_prompts
from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.loader import DataSection


def test_arithmetic_rows_are_deterministic_and_correct():
    task = ArithmeticTask(count=50, low=1, high=30, operations=("+", "-", "*"), terms=3, seed=5)
    rows = task.rows()
    assert rows == task.rows()
    assert rows != ArithmeticTask(count=50, low=1, high=30, operations=("+", "-", "*"), terms=3, seed=6).rows()
    for row in rows:
        expression = row["problem"].removeprefix("What is ").removesuffix("?")
        a, _, b, _, c = expression.split()
        assert all(1 <= int(x) <= 30 for x in (a, b, c))
        assert int(row["answer"]) == eval(expression)


def test_template_fills_columns_and_keeps_braces_that_hold_no_name():
    section = DataSection(prompt_template="{prompt} (level {level}) Put it in \\boxed{}, x^{2}, \\frac{{a}}{{b}}.")
    (built,) = build_prompts([{"problem": "What is 1 + 2?", "level": 3}], section)
    assert built["prompt"][0]["content"] == "What is 1 + 2? (level 3) Put it in \\boxed{}, x^{2}, \\frac{a}{b}."


def test_template_naming_a_missing_column_is_an_error_not_literal_text():
    section = DataSection(prompt_template="{prompt} (level {levle}) Put it in \\boxed{}, x^{2}.")
    with pytest.raises(
        GnivoError, match=r"names \{levle\}, which the data lacks \(columns: level, problem, prompt\); did you mean"
    ):
        build_prompts([{"problem": "What is 1 + 2?", "level": 3}], section)
    # A word in braces is a placeholder wherever it stands, LaTeX or not: the check and the text agree.
    latex = DataSection(prompt_template="{prompt} as \\frac{a}{b}")
    with pytest.raises(GnivoError, match=r"names \{a\}, \{b\}.*write \{\{a\}\}"):
        build_prompts([{"problem": "1 + 2?"}], latex)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_null_or_empty_prompt_is_an_error(value):
    with pytest.raises(GnivoError, match=r"data row 2 of .*column 'problem' is (null|empty)"):
        build_prompts([{"problem": "ok"}, {"problem": value}], DataSection())


def test_rows_that_are_not_objects_are_an_error():
    with pytest.raises(GnivoError, match="data row 1 is int"):
        build_prompts([3], DataSection())


def test_build_prompts_makes_chat_messages_and_keeps_columns():
    section = DataSection(prompt_column="question", prompt_template="Q: {prompt}", system_prompt="Be brief.")
    built = build_prompts([{"question": "2+2?", "answer": "4"}], section)
    assert built == [
        {
            "question": "2+2?",
            "answer": "4",
            "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q: 2+2?"}],
        }
    ]
    with pytest.raises(GnivoError, match="row 1 has no column 'problem'"):
        build_prompts([{"question": "x"}], DataSection())


def test_local_jsonl_with_limit_and_bad_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps({"problem": f"p{i}", "answer": str(i)}) for i in range(5)) + "\n")
    assert [r["answer"] for r in load_rows(DataSection(source=str(path), limit=3))] == ["0", "1", "2"]
    path.write_text('{"problem": "ok"}\n{"problem": broken}\n')
    with pytest.raises(GnivoError, match=r"train.jsonl:2: invalid JSON"):
        read_json_rows(path)


def test_reads_the_shared_math_training_set(shared_benchmarks):
    rows = load_rows(DataSection(source=str(shared_benchmarks / "math_train.jsonl")))
    assert len(rows) == 7474
    assert {"problem", "answer"} <= set(rows[0])


CONVERSATION = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "Help me"},
]


def test_conversational_prompts_pass_through_as_messages():
    section = DataSection(prompt_column="prompt", system_prompt="Be kind.")
    (built,) = build_prompts([{"prompt": CONVERSATION}], section)
    assert built["prompt"] == [{"role": "system", "content": "Be kind."}, *CONVERSATION]
    (plain,) = build_prompts([{"prompt": CONVERSATION}], DataSection(prompt_column="prompt"))
    assert plain["prompt"] == CONVERSATION


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"role": "user", "content": None}, r"message 2 \(user\) has content null; it must be text"),
        ({"role": "user"}, r"message 2 \(user\) has no content"),
        ({"role": "user", "content": ["a"]}, r"message 2 \(user\) has content of type list"),
        ({"role": "tool", "content": "x"}, r"message 2 has role 'tool' \(allowed: system, user, assistant\)"),
        ({"content": "x"}, r"message 2 has no role"),
        ("x", r"message 2 is str, not a \{role, content\} mapping"),
    ],
)
def test_chat_rows_are_checked_like_text_rows(message, error):
    rows = [{"prompt": CONVERSATION}, {"prompt": [CONVERSATION[0], message]}]
    with pytest.raises(
        GnivoError, match=r"^recipe.yaml: data row 2 of data.jsonl: column 'prompt' \(data.prompt_column\) " + error
    ):
        build_prompts(rows, DataSection(source="data.jsonl", prompt_column="prompt"), "recipe.yaml")
    with pytest.raises(GnivoError, match=r"data row 1 of .*is an empty list of chat messages"):
        build_prompts([{"prompt": []}], DataSection(prompt_column="prompt"))


def test_a_template_with_chat_rows_is_refused_not_dropped():
    section = DataSection(prompt_column="prompt", prompt_template="{prompt} Be brief.")
    with pytest.raises(
        GnivoError, match=r"data row 1 .*holds chat messages.*prompt_template '\{prompt\} Be brief.' would be ignored"
    ):
        build_prompts([{"prompt": CONVERSATION}], section)


def test_a_system_prompt_is_not_added_to_a_conversation_that_has_one():
    with_system = [{"role": "system", "content": "Be terse."}, *CONVERSATION]
    section = DataSection(prompt_column="prompt", system_prompt="Be kind.")
    with pytest.raises(
        GnivoError, match=r"data row 2 .*already has a system message, and data.system_prompt would add"
    ):
        build_prompts([{"prompt": CONVERSATION}, {"prompt": with_system}], section)
    (kept,) = build_prompts([{"prompt": with_system}], DataSection(prompt_column="prompt"))
    assert kept["prompt"] == with_system
