"""Training data: synthetic tasks, prompt templates, local files."""

from __future__ import annotations

import json

import pytest

from gnivo_cli.data.loading import ArithmeticTask, build_prompts, load_rows, read_json_rows, render_prompt
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


def test_template_fills_columns_and_leaves_latex_braces():
    row = {"problem": "What is 1 + 2?", "level": 3}
    text = render_prompt("{prompt} (level {level}) Put it in \\boxed{}. {unknown}", row, "problem")
    assert text == "What is 1 + 2? (level 3) Put it in \\boxed{}. {unknown}"


def test_template_naming_a_missing_column_is_an_error_not_literal_text():
    section = DataSection(prompt_template="{prompt} (level {levle}) Put it in \\boxed{answer}, x^{2}.")
    with pytest.raises(GnivoError, match=r"names \{levle\}, which the data lacks \(columns: level, problem, prompt\)"):
        build_prompts([{"problem": "What is 1 + 2?", "level": 3}], section)
    fine = DataSection(prompt_template="{prompt} (level {level}) Put it in \\boxed{x}, x^{2}, \\frac{a}{b}.")
    (built,) = build_prompts([{"problem": "1 + 2?", "level": 3}], fine)
    assert built["prompt"][0]["content"] == "1 + 2? (level 3) Put it in \\boxed{x}, x^{2}, \\frac{a}{b}."


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


def test_conversational_prompts_pass_through_as_messages():
    conversation = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Help me"},
    ]
    section = DataSection(prompt_column="prompt", system_prompt="Be kind.")
    (built,) = build_prompts([{"prompt": conversation}], section)
    assert built["prompt"] == [{"role": "system", "content": "Be kind."}, *conversation]
