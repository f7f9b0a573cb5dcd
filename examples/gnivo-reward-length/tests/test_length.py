"""Tests of the plugin itself, and of its registration (run after `pip install -e .`)."""

import pytest
from gnivo_reward_length import LengthReward


def make(**params):
    return LengthReward.from_config(params, name="length")


def test_reward_falls_linearly_with_distance_from_target():
    reward = make(target=4, tolerance=2)
    completions = ["one two three four", "one two three", "one two", "one", "a b c d e f g h"]
    assert reward(["p"] * 5, completions) == [1.0, 0.5, 0.0, 0.0, 0.0]


def test_characters():
    assert make(unit="characters", target=5, tolerance=5)(["p", "p"], ["abcde", "abcdefg"]) == [1.0, 0.6]


def test_per_row_targets_and_rows_it_does_not_apply_to():
    reward = make(target_column="max_words", tolerance=1)
    assert reward.required_columns == ("max_words",)
    assert reward(["p"] * 3, ["a b", "a b", "a"], max_words=[2, None, 3]) == [1.0, None, 0.0]


def test_chat_completions():
    reward = make(target=2, tolerance=2)
    assert reward(["p"], [[{"role": "assistant", "content": "hello there"}]]) == [1.0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tolerance": 0}, "'tolerance' must be >= 1"),
        ({"unit": "tokens"}, "parameter 'unit' must be one of 'words', 'characters'"),
        ({"targt": 3}, "unknown parameter 'targt'; did you mean 'target'? (known:"),
    ],
)
def test_bad_params_name_the_reward_and_key(params, message):
    from rewards.registry import reward_param_problems

    (problem,) = reward_param_problems("length", params)
    assert problem.startswith("reward 'length': ") and message in problem


def test_registered_under_its_entry_point_name():
    from rewards.registry import available_rewards, load_reward

    info = {info.name: info for info in available_rewards()}["length"]
    assert (info.distribution, info.status) == ("gnivo-reward-length", "ok")
    assert isinstance(load_reward("length", {"target": 3}), LengthReward)


def test_chat_messages_count_the_completion_text_only():
    # In training and evaluation a completion arrives as one assistant message.
    completion = [{"role": "assistant", "content": "one two three"}]
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count."}]
    assert make(target=3, tolerance=3)([prompt], [completion]) == [1.0]


def test_the_terse_benchmark_is_registered_and_reads_its_rows():
    from gnivo_cli.evaluation.benchmarks import get_benchmark, load_problems
    from gnivo_cli.evaluation.registry import available_benchmarks

    info = {info.name: info for info in available_benchmarks(check=True)}["terse"]
    assert (info.distribution, info.status) == ("gnivo-reward-length", "ok")
    benchmark = get_benchmark("terse")
    assert benchmark.reward == "length" and benchmark.reward_params["target_column"] == "words"
    problems = load_problems(benchmark)
    assert [p.gold for p in problems] == [1, 1, 2, 3]
    assert problems[0].fields == {"id": "colour", "question": "Name a colour in one word.", "words": 1}


@pytest.mark.slow
def test_trains_a_few_steps_with_the_reward(tmp_path):
    # A tiny model built locally: the plugin in a real training loop, with no download.
    from gnivo_cli.models.tiny import save_tiny_model
    from gnivo_cli.recipe.loader import recipe_from_dict
    from gnivo_cli.training.train import train

    model = save_tiny_model(tmp_path / "tiny")
    recipe = recipe_from_dict(
        {
            "model": {"name": str(model)},
            "data": {"source": "synthetic:arithmetic", "synthetic": {"count": 8}},
            "rewards": [{"name": "length", "params": {"target": 3, "unit": "characters"}}],
            "algorithm": {"name": "gnivo", "num_generations": 2},
            "generation": {"max_new_tokens": 6},
            "training": {"max_steps": 2, "per_device_batch_size": 4, "output_dir": str(tmp_path / "run")},
        }
    )
    result = train(recipe)
    assert result.steps == 2 and result.final_reward is not None
    assert 0.0 <= result.final_reward <= 1.0
