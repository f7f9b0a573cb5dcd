"""The `synthetic:steps` language, its reward, and the exact enumeration of benchmarks/credit.py."""

from __future__ import annotations

import pytest
import torch

from benchmarks.credit_exact import enumerate_policy, exact_metrics, leak_by_prefixes, optimum_logp
from benchmarks.credit_model import build_model, build_tokenizer, completion_ids, pretrain
from gnivo_cli.algorithms.gnivo.step_boundaries import step_ends
from gnivo_cli.data.loading import data_problems, load_rows
from gnivo_cli.data.synthetic_steps import WORDS, StepsTask, all_completions, completion_text, parse_steps, step_reward
from gnivo_cli.recipe.loader import DataSection
from rewards.registry import load_reward


def test_rows_cycle_through_every_key_equally():
    rows = StepsTask(count=40, steps=3, seed=7).rows()
    assert [sum(r["key"] == w for r in rows) for w in WORDS] == [10, 10, 10, 10]
    assert all(r["problem"] == f"key {r['key']}" and r["steps"] == 3 for r in rows)
    assert rows == StepsTask(count=40, steps=3, seed=7).rows()  # deterministic
    assert rows != StepsTask(count=40, steps=3, seed=8).rows()
    assert {r["key"] for r in StepsTask(count=9, keys=1).rows()} == {"aa"}
    assert {r["key"] for r in StepsTask(count=9, keys=2).rows()} == {"aa", "ab"}


def test_the_recipe_data_section_selects_the_task_and_checks_its_parameters():
    section = DataSection(source="synthetic:steps", synthetic={"count": 8, "steps": 4})
    assert data_problems(section) == []
    assert len(load_rows(section)) == 8
    bad = DataSection(source="synthetic:steps", synthetic={"steps": 9})
    assert data_problems(bad) == [("data.synthetic.steps", "must be in [1, 8], got 9")]
    assert data_problems(DataSection(source="synthetic:steps", synthetic={"terms": 2}))[0][0] == "data.synthetic.terms"
    assert data_problems(DataSection(source="synthetic:steps", synthetic={"keys": 0}))[0][0] == "data.synthetic.keys"


@pytest.mark.parametrize(
    ("words", "key", "reward"),
    [
        (("ab", "ab", "ab", "ab"), "ab", 1.0),
        (("ab", "ba", "ab", "bb"), "ab", 0.5),
        (("ab", "ba", "aa", "bb"), "ab", 0.25),
        (("ba", "ab", "ab", "ab"), "ab", 0.0),  # later steps count only after a right first step
        (None, "ab", 0.0),
    ],
)
def test_reward_depends_on_the_first_step_and_then_on_the_later_ones(words, key, reward):
    assert step_reward(words, key) == reward


def test_parse_refuses_malformed_completions():
    assert parse_steps("ab\n\nba\n\naa\n\nbb", 4) == ("ab", "ba", "aa", "bb")
    for text in ["ab\n\nba\n\naa", "ab\n\nba\n\naa\n\nbb\n\n", "ab\n\nbc\n\naa\n\nbb", "ab ba aa bb", ""]:
        assert parse_steps(text, 4) is None


def test_the_reward_plugin_reads_key_and_steps_columns():
    reward = load_reward("steps")
    completions = [[{"role": "assistant", "content": "bb\n\nbb\n\nab\n\nbb"}], "bb\n\nbb", "aa\n\naa\n\naa\n\naa"]
    assert reward(["p"] * 3, completions, key=["bb", "bb", "ab"], steps=[4, 4, 4]) == [0.75, 0.0, 0.0]
    with pytest.raises(Exception, match="columns key"):
        reward(["p"], ["ab"], steps=[4])


def test_each_step_is_one_unit_for_the_step_prefixes():
    tokenizer = build_tokenizer()
    ids = completion_ids(tokenizer, ("ab", "ba", "aa"))[:-1]  # without the end token
    texts = [tokenizer.decode([i]) for i in ids]
    assert "".join(texts) == completion_text(("ab", "ba", "aa"))
    assert step_ends(texts) == [3, 7, 9]  # each step ends at its separator's last newline; the last at the end


@pytest.fixture(scope="module")
def enumeration():
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=0)
    pretrain(model, tokenizer, 30, seed=0, batch=16, lr=1e-2, n_steps=2)
    return enumerate_policy(model, tokenizer, steps=2)


def test_enumeration_lists_every_completion_once_and_the_probabilities_sum_to_one(enumeration):
    assert enumeration.logp.shape == (4, len(all_completions(2))) == (4, 16)
    total = enumeration.logp.exp().sum(-1) + leak_by_prefixes(enumeration)
    assert torch.allclose(total, torch.ones(4, dtype=torch.float64), atol=1e-9)
    assert bool((leak_by_prefixes(enumeration) > 0).all())  # a barely trained model leaks: the check has teeth


def test_the_shared_prompt_cache_gives_the_plain_forward_pass(enumeration):
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=0)
    pretrain(model, tokenizer, 30, seed=0, batch=16, lr=1e-2, n_steps=2)
    plain = enumerate_policy(model, tokenizer, steps=2, cached=False)
    assert torch.allclose(plain.token_logp, enumeration.token_logp, atol=1e-5)
    assert torch.allclose(plain.valid_mass, enumeration.valid_mass, atol=1e-5)


def test_first_step_right_follows_the_keys_of_the_rows(enumeration):
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=0)
    pretrain(model, tokenizer, 30, seed=0, batch=16, lr=1e-2, n_steps=2)
    only_bb = enumerate_policy(model, tokenizer, steps=2, keys=("bb",))
    assert torch.equal(only_bb.logp[0], enumeration.logp[3]) and only_bb.rewards.shape == (1, 16)
    probs = only_bb.logp.exp()
    expected = float(probs[0, 12:].sum())  # completions are listed first word first: bb is the last block
    assert exact_metrics(only_bb.logp, only_bb.logp, only_bb.rewards, 0.2, keys=("bb",)).first_step_right == expected


def test_the_optimum_beats_pi_old_and_is_at_zero_kl_from_itself(enumeration):
    logp, rewards = enumeration.logp, enumeration.rewards
    optimum = optimum_logp(logp, rewards, alpha=0.2)
    assert torch.allclose(optimum.exp().sum(-1), torch.ones(4, dtype=torch.float64))
    at_old = exact_metrics(logp, logp, rewards, alpha=0.2)
    at_optimum = exact_metrics(optimum[:, :-1], logp, rewards, alpha=0.2)
    assert at_optimum.expected_reward > at_old.expected_reward
    assert at_optimum.first_step_right > at_old.first_step_right
    assert abs(at_optimum.kl_to_optimum) < 1e-9
    assert at_old.kl_to_reference == 0
    # KL(pi_old || pi*) = log Z - E_old[R] / alpha, with Z = E_old[exp(R / alpha)] (the leak scoring 0)
    probs = logp.exp()
    log_z = torch.log((probs * (rewards / 0.2).exp()).sum(-1) + 1 - probs.sum(-1))
    closed_form = (log_z - (probs * rewards).sum(-1) / 0.2).mean()
    assert at_old.kl_to_optimum > 1e-3
    assert abs(at_old.kl_to_optimum - float(closed_form)) < 1e-9


def test_pretraining_is_deterministic_per_seed():
    tokenizer = build_tokenizer()
    first, second, other = (build_model(tokenizer, seed=s) for s in (1, 1, 2))
    losses = [pretrain(m, tokenizer, 2, seed=s, batch=4, n_steps=2) for m, s in ((first, 1), (second, 1), (other, 2))]
    assert losses[0] == losses[1] != losses[2]
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True))
