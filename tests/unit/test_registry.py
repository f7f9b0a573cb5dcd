"""Reward discovery through entry points: listing without importing, broken plugins, clashes, loading."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest

from gnivo_cli.cli import main
from gnivo_cli.errors import GnivoError
from rewards.registry import available_rewards, load_reward, load_reward_class, reward_param_problems

GOOD_PLUGIN = '''
import dataclasses

from rewards.base import Reward, RewardParams


class Shout(Reward):
    """Rewards upper case.

    More text that is not the summary.
    """

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        bonus: float = 0.0

    def __call__(self, prompts, completions, **columns):
        return [float(c.isupper()) + self.params.bonus for c in completions]


class Described(Shout):
    description = (
        "One line from the class attribute."
    )
'''


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Install a fake distribution: (name, entry points {name: value}, module files {path: source})."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def _install(dist: str, entry_points: dict[str, str], files: dict[str, str], version: str = "1.0"):
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[gnivo.rewards]\n{lines}\n")
        for relative, source in files.items():
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        importlib.invalidate_caches()

    yield _install
    for module in [m for m in sys.modules if m.startswith("fakeplug")]:
        del sys.modules[module]


def run(args: list[str]) -> int:
    """Exit code of the `gnivo` command line run in this process."""
    try:
        main(args)
    except SystemExit as done:
        return done.code or 0
    return 0


def _by_name():
    return {info.name: info for info in available_rewards()}


def test_builtin_rewards_are_plugins_like_any_other():
    infos = _by_name()
    builtins = {
        "math": "rewards.math.reward:MathReward",
        "format": "rewards.format:FormatReward",
        "reward-model": "rewards.reward_model:RewardModelReward",
        "steps": "rewards.synthetic_steps:StepsReward",
    }
    for name, value in builtins.items():
        assert infos[name].distribution == "gnivo"
        assert infos[name].value == value
        assert infos[name].status == "ok"
        assert infos[name].description


def test_listing_reads_descriptions_without_importing(install):
    install(
        "fake-shout",
        {"shout": "fakeplug.shout:Shout", "described": "fakeplug.shout:Described", "again": "fakeplug:Shout"},
        {
            "fakeplug/__init__.py": "from fakeplug.shout import Shout\nraise RuntimeError('imported!')\n",
            "fakeplug/shout.py": GOOD_PLUGIN,
        },
        version="2.3",
    )
    infos = _by_name()
    assert infos["shout"].description == "Rewards upper case."
    assert (infos["shout"].distribution, infos["shout"].version, infos["shout"].status) == ("fake-shout", "2.3", "ok")
    assert infos["described"].description == "One line from the class attribute."
    assert infos["again"].description == "Rewards upper case."  # followed the re-export
    assert not [m for m in sys.modules if m.startswith("fakeplug")]  # the package raises on import: never imported


def test_broken_plugins_are_reported_and_the_others_still_work(install):
    install(
        "fake-broken",
        {
            "gone": "fakeplug_nowhere.mod:Gone",
            "needs-dep": "fakeplug_dep:NeedsDep",
            "syntax": "fakeplug_syntax:Bad",
            "no-class": "fakeplug_ok:Missing",
            "import-error": "fakeplug_boom:Boom",
            "not-reward": "fakeplug_ok:NotAReward",
            "fine": "fakeplug_ok:Shout",
        },
        {
            "fakeplug_dep.py": "import numpy\nimport fakeplug_no_such_dependency\n\nclass NeedsDep: pass\n",
            "fakeplug_syntax.py": "class Bad(:\n",
            "fakeplug_ok.py": GOOD_PLUGIN + "\nclass NotAReward:\n    '''Not a reward.'''\n",
            "fakeplug_boom.py": "raise ImportError('boom at import time')\nclass Boom: pass\n",
        },
    )
    infos = _by_name()
    assert infos["gone"].status == "broken" and "not installed" in infos["gone"].error
    assert infos["needs-dep"].status == "broken"
    assert "fakeplug_no_such_dependency" in infos["needs-dep"].error
    assert infos["syntax"].status == "broken" and "SyntaxError" in infos["syntax"].error
    assert infos["no-class"].status == "broken" and "no class 'Missing'" in infos["no-class"].error
    # Without importing, these look fine; --check imports them one by one.
    assert infos["import-error"].status == "ok"
    assert infos["not-reward"].status == "ok"
    assert infos["math"].status == "ok" and infos["fine"].status == "ok"

    checked = {info.name: info for info in available_rewards(check=True)}
    assert checked["import-error"].status == "broken"
    assert "boom at import time" in checked["import-error"].error
    assert checked["not-reward"].status == "broken" and "subclass of rewards.base.Reward" in checked["not-reward"].error
    assert checked["fine"].status == "ok" and checked["math"].status == "ok"
    assert load_reward("fine")(["p", "p"], ["HI", "hi"]) == [1.0, 0.0]


def test_two_distributions_registering_one_name_is_an_error_naming_both(install):
    install("fake-one", {"shout": "fakeplug_a:Shout"}, {"fakeplug_a.py": GOOD_PLUGIN})
    install("fake-two", {"shout": "fakeplug_b:Shout"}, {"fakeplug_b.py": GOOD_PLUGIN}, version="0.2")
    with pytest.raises(GnivoError) as error:
        available_rewards()
    message = str(error.value)
    assert "'shout'" in message
    assert "fake-one 1.0 (fakeplug_a:Shout)" in message
    assert "fake-two 0.2 (fakeplug_b:Shout)" in message
    with pytest.raises(GnivoError, match="fake-one"):
        load_reward("math")


def test_load_reward_builds_with_params(install):
    install("fake-shout", {"shout": "fakeplug_ok2:Shout"}, {"fakeplug_ok2.py": GOOD_PLUGIN})
    reward = load_reward("shout", {"bonus": 0.5})
    assert reward.name == "shout"
    assert reward(["p"], ["YES"]) == [1.5]
    typo = r"reward 'shout': unknown parameter 'bonsu'; did you mean 'bonus'\? \(known: bonus\)"
    with pytest.raises(GnivoError, match=typo):
        load_reward("shout", {"bonsu": 1})


def test_unknown_reward_suggests_the_closest_name():
    with pytest.raises(GnivoError, match=r"unknown reward 'maths'; did you mean 'math'\? \(available: .*math"):
        load_reward("maths")
    (problem,) = reward_param_problems("reward-modle", {})
    assert "did you mean 'reward-model'?" in problem


def test_import_failure_names_reward_and_distribution(install):
    install("fake-boom", {"boom": "fakeplug_boom2:Boom"}, {"fakeplug_boom2.py": "raise ValueError('bad')\n"})
    with pytest.raises(GnivoError, match=r"reward 'boom' \(fake-boom 1.0\) failed to import: ValueError: bad"):
        load_reward_class("boom")
    assert "failed to import" in reward_param_problems("boom", {})[0]


def test_params_must_be_a_mapping():
    (problem,) = reward_param_problems("math", ["timeout", 3])
    assert problem == "reward 'math': parameters must be a mapping, got list"


def test_rewards_list_cli(install, capsys):
    boom = "raise ImportError('nope')\nclass Boom: pass\n"
    install(
        "fake-shout",
        {"shout": "fakeplug_ok3:Shout", "boom": "fakeplug_boom3:Boom"},
        {"fakeplug_ok3.py": GOOD_PLUGIN, "fakeplug_boom3.py": boom},
    )
    assert run(["rewards", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["shout"]["distribution"] == "fake-shout"
    assert rows["shout"]["description"] == "Rewards upper case."
    assert run(["rewards", "list", "--check"]) == 1
    out = capsys.readouterr().out
    assert "boom" in out and "broken" in out and "nope" in out
    assert "shout" in out and "Rewards upper case." in out


def test_rewards_show_cli(capsys):
    assert run(["rewards", "show", "math"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "rewards.math.reward:MathReward",
        "answer_column",
        "fallback_correct",
        "timeout",
        "Seconds allowed",
    ):
        assert expected in out
