"""`gnivo eval --prompt-template`: the training template engine, row fields, and no answer in the prompt."""

from __future__ import annotations

import json

import pytest
from transformers import AutoTokenizer

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation import evaluate
from tests.integration.test_eval_run import ScriptedGenerator

ROWS = [
    {"id": 1, "problem": "What is 17 + 25?", "answer": "42", "source": "quiz A"},
    {"id": 2, "problem": "What is 2 + 2?", "answer": "4", "source": "quiz B"},
]


class RecordingGenerator(ScriptedGenerator):
    def __init__(self):
        super().__init__({(str(row["id"]), 0): "\\boxed{42}" for row in ROWS})
        self.prompts: list[list[int]] = []

    def generate(self, requests):
        self.prompts += [list(request.prompt_ids) for request in requests]
        yield from super().generate(requests)


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "aime24.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return path


def run(tmp_path, data, tiny_model_dir, template: str) -> RecordingGenerator:
    generator = RecordingGenerator()
    evaluate(
        "aime24",
        model=str(tiny_model_dir),
        data=data,
        prompt_template=template,
        output_dir=tmp_path / "eval",
        generator=generator,
    )
    return generator


def test_row_fields_and_literal_braces_render_as_in_training(tmp_path, data, tiny_model_dir):
    generator = run(tmp_path, data, tiny_model_dir, "{problem} ({source}) Answer in \\boxed{}, not {{source}}.")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    first = tokenizer.decode(generator.prompts[0])
    assert "What is 17 + 25? (quiz A) Answer in \\boxed{}, not {source}." in first


def test_a_template_showing_the_gold_is_refused_before_generation(tmp_path, data, tiny_model_dir):
    generator = RecordingGenerator()
    with pytest.raises(GnivoError, match=r"renders \{answer\}, the field benchmark 'aime24' grades answers against"):
        evaluate("aime24", model=str(tiny_model_dir), data=data, prompt_template="{problem} ({answer})",
                 output_dir=tmp_path / "eval", generator=generator)  # fmt: skip
    assert generator.requested == []


def test_a_field_the_rows_lack_is_named_with_the_fields(tmp_path, data, tiny_model_dir):
    with pytest.raises(
        GnivoError,
        match=r"names \{sorce\}, which the data lacks \(fields: answer, id, problem, source\); "
        r"did you mean '\{source\}'",
    ):
        run(tmp_path, data, tiny_model_dir, "{problem} {sorce}")
