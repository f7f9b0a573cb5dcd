"""A small benchmark that this package adds to `gnivo eval`: answer in as many words as asked.

It shows what a benchmark plugin carries: its problems (here inline rows, so no download), the reward
that judges a sample (`length`, this package's reward, reading each row's `words`), the prompt
template, and the score that counts as correct (`pass_score`: exactly the asked length).
"""

from __future__ import annotations

from gnivo_cli.evaluation import Benchmark

__all__ = ["TERSE"]

TERSE = Benchmark(
    name="terse",
    title="Answer in exactly as many words as asked (judged by the length reward)",
    problem_fields=("question",),
    answer_field="words",
    id_field="id",
    reward="length",
    reward_params={"target_column": "words", "tolerance": 4},
    prompt_template="{problem} Answer in as few words as asked.",
    pass_score=1.0,
    rows=(
        {"id": "colour", "question": "Name a colour in one word.", "words": 1},
        {"id": "capital", "question": "What is the capital of France? One word.", "words": 1},
        {"id": "greeting", "question": "Greet me in two words.", "words": 2},
        {"id": "weather", "question": "Describe today's weather in three words.", "words": 3},
    ),
)
