"""The exact value-model measurements of benchmarks/values.py (benchmarks/values_exact.py): V* against brute force
and the closed-form optimum, first-error labels, Spearman with ties, F1, and best-of-N against enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.values_exact import (
    best_of_n,
    build_tree,
    f1_score,
    first_error_labels,
    measure,
    predict_first_error,
    prefix_values,
    spearman,
)

ALPHA = 0.2


@pytest.fixture(scope="module")
def tree_and_enum():
    """The real task (4 steps, 2 keys) under a briefly pretrained credit model: full support, uneven probabilities
    (an untrained one sends nearly all its mass out of the grammar, where every V* is about 0)."""
    import torch

    from benchmarks.credit_exact import enumerate_policy
    from benchmarks.credit_model import build_model, build_tokenizer, pretrain

    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=3)
    pretrain(model, tokenizer, 20, seed=0, batch=16, lr=1e-2)
    model.eval()
    enum = enumerate_policy(model, tokenizer, 4, keys=("ab", "ba"))
    return build_tree(enum, tokenizer, ALPHA), enum


def test_v_star_at_the_end_is_the_reward_and_matches_the_optimum(tree_and_enum):
    from benchmarks.credit_exact import optimum_logp

    tree, enum = tree_and_enum
    assert tree.v_star[:, :, -1] == pytest.approx(tree.rewards, abs=1e-9)
    # alpha * log pi*(y)/pi_ref(y) from credit_exact's closed form (its last column is the leak bucket)
    closed = ALPHA * (optimum_logp(enum.logp, enum.rewards, ALPHA)[:, :-1].numpy() - enum.logp.numpy())
    assert tree.optimum_prefix_values()[:, :, -1] == pytest.approx(closed, abs=1e-9)


def test_v_star_at_a_prefix_against_brute_force(tree_and_enum):
    tree, _ = tree_and_enum
    rng = np.random.default_rng(0)
    ref_total = tree.ref_token_logp.sum(-1)
    for _ in range(12):
        k, c, j = rng.integers(len(tree.keys)), rng.integers(tree.ids.shape[0]), rng.integers(tree.ids.shape[1])
        extends = [i for i in range(tree.ids.shape[0]) if (tree.ids[i, : j + 1] == tree.ids[c, : j + 1]).all()]
        prefix = tree.ref_token_logp[k, c, : j + 1].sum()
        conditional = np.exp(ref_total[k, extends] - prefix)
        expected = ALPHA * np.log(
            (conditional * np.exp(tree.rewards[k, extends] / ALPHA)).sum() + 1 - conditional.sum()
        )
        assert tree.v_star[k, c, j] == pytest.approx(expected, abs=1e-9)


def test_the_optimum_is_a_perfect_value_model_and_the_reference_none(tree_and_enum):
    tree, enum = tree_and_enum
    optimum = measure(tree.optimum_prefix_values(), tree)
    assert optimum["spearman"] == pytest.approx(1.0) and optimum["spearman_steps"] == pytest.approx(1.0)
    reference = measure(prefix_values(enum.token_logp.numpy(), tree), tree)  # the reference against itself: all 0
    assert reference["spearman"] is None and reference["f1_value"] == 0.0
    assert reference["bon_min@16"] == pytest.approx(reference["random"])  # all tied: a random pick
    assert optimum["bon_min@16"] > reference["random"] and optimum["bon_oracle@16"] >= optimum["bon_min@16"]


def test_first_error_labels_by_hand():
    from gnivo_cli.data.synthetic_steps import WORDS, all_completions, step_reward

    completions = all_completions(4)
    rewards = np.asarray([[step_reward(words, "ab") for words in completions]])
    labels = first_error_labels(rewards, 4)[0]
    by_words = dict(zip(completions, labels, strict=True))
    assert by_words[("ab", "ab", "ab", "ab")] == -1
    assert by_words[("aa", "ab", "ab", "ab")] == 0  # a wrong first step loses everything
    assert by_words[("ab", "ba", "ab", "ab")] == 1
    assert by_words[("ab", "ab", "ab", "bb")] == 3
    assert (labels == -1).sum() == 1 and (labels == 0).sum() == 3 * 4**3
    assert WORDS[1] == "ab"


def test_spearman_with_ties_and_constant_input():
    x, y = np.array([1.0, 2.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    ranks_x = np.array([1, 2.5, 2.5, 4])
    expected = np.corrcoef(ranks_x, np.array([1, 2, 3, 4]))[0, 1]
    assert spearman(x, y) == pytest.approx(expected)
    assert spearman(-x, y) == pytest.approx(-expected)
    assert spearman(np.zeros(4), y) is None


def test_f1_and_the_first_drop():
    readings = np.array([[0.5, -0.2, -0.4], [0.3, 0.2, 0.1], [-0.1, 0.2, 0.3]])
    assert predict_first_error(readings, 0.0).tolist() == [1, -1, 0]
    labels = np.array([1, -1, 2])
    f1, acc_error, acc_correct = f1_score(predict_first_error(readings, 0.0), labels)
    assert (acc_error, acc_correct) == (0.5, 1.0) and f1 == pytest.approx(2 * 0.5 / 1.5)
    assert f1_score(np.array([-1, -1]), np.array([0, 1]))[0] == 0.0  # always "no error": F1 0


def test_best_of_n_against_enumeration():
    rng = np.random.default_rng(4)
    for _ in range(20):
        size = int(rng.integers(2, 6))
        probs = rng.random(size)
        probs /= probs.sum()
        scores = rng.choice([0.0, 0.5, 1.0], size)  # ties
        rewards = rng.random(size)
        for n in (1, 2, 3):
            expected = 0.0
            for draw in itertools.product(range(size), repeat=n):
                top = max(scores[i] for i in draw)
                tied = [i for i in draw if scores[i] == top]
                expected += np.prod(probs[list(draw)]) * np.mean(rewards[tied])
            assert best_of_n(scores, rewards, probs, n) == pytest.approx(expected, abs=1e-12)


def test_a_manifest_as_credit_py_writes_it(tmp_path):
    import json

    import yaml

    from benchmarks.values import read_manifest, shared_task

    recipe = {
        "model": {"name": str(tmp_path / "base")},
        "data": {"source": "synthetic:steps", "synthetic": {"keys": 2}},
        "algorithm": {"name": "gnivo", "alpha": 0.3},
    }
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")
    entries = []
    for method, seed, finished in (("gnivo-all-step", 0, True), ("grpo", 0, True), ("grpo", 1, False)):
        run = tmp_path / "grid" / method / f"seed-{seed}"
        (run / "final").mkdir(parents=True)
        if finished:
            (run / "final" / "config.json").write_text("{}")
        (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        entries.append({"method": method, "algorithm": method.split("-")[0], "seed": seed, "run_dir": str(run),
                        "final_model": str(run / "final"), "finished": finished, "learning_rate": 3e-4,
                        "recipe": str(run / "recipe.yaml")})  # fmt: skip
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"reference_model": str(tmp_path / "base"), "runs": entries}))
    runs = read_manifest(manifest)
    assert [(r.algorithm, r.seed) for r in runs] == [("gnivo-all-step", 0), ("grpo", 0)]  # the unfinished skipped
    reference, steps, keys, alpha = shared_task(runs, None)
    assert (reference, steps, keys, alpha) == (tmp_path / "base", 4, ("aa", "ab"), 0.3)
    manifest.write_text(json.dumps([{"method": "grpo", "run_dir": "x"}]))
    with pytest.raises(ValueError, match="needs `method`"):
        read_manifest(manifest)
