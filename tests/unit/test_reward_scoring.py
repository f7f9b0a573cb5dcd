"""`gnivo_cli.scoring.score`: scoring JSONL files with any reward, safely."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.scoring.score import default_output, parse_params, score_file
from rewards.base import Reward, RewardParams


class Scripted(Reward):
    """Returns `len(completion)`, or what `values` says; fails on a completion equal to `fail_on`."""

    @dataclasses.dataclass(frozen=True)
    class Params(RewardParams):
        fail_on: str | None = None
        values: list | None = None

    def __init__(self, params=None, *, name=None):
        super().__init__(params, name=name or "scripted")
        self.calls: list[dict] = []
        self.closed = False

    def __call__(self, prompts, completions, **columns):
        self.calls.append({"prompts": prompts, "completions": completions, **columns})
        if self.params.fail_on in completions:
            raise RuntimeError("model exploded")
        if self.params.values is not None:
            return list(self.params.values)
        return [float(len(c)) if c else None for c in completions]

    def metrics(self):
        return {"timeouts": 1.0}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def rows(n: int) -> list[dict]:
    return [{"prompt": f"p{i}", "completion": "x" * (i % 3), "extra": i} for i in range(n)]


def test_default_output():
    assert default_output(Path("a/data.jsonl")) == Path("a/data.scored.jsonl")
    assert default_output(Path("data")) == Path("data.scored.jsonl")


def test_parse_params_reads_yaml_values():
    parsed = parse_params(["a=3", "b=0.5", "c=[x, y]", "d=null", "e=true", "f=some text", "g=x=y", "h={k: 1}"])
    assert parsed == {"a": 3, "b": 0.5, "c": ["x", "y"], "d": None, "e": True, "f": "some text", "g": "x=y",
                      "h": {"k": 1}}  # fmt: skip
    with pytest.raises(GnivoError, match="--param 'oops': expected key=value"):
        parse_params(["oops"])


def test_scores_rows_in_batches_with_their_columns(tmp_path):
    source = write(tmp_path / "in.jsonl", rows(7))
    reward = Scripted()
    seen = []
    summary = score_file(source, reward, batch_size=3, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert reward.calls[0]["extra"] == [0, 1, 2]
    scored = [json.loads(line) for line in summary.output.read_text().splitlines()]
    assert [row["reward"] for row in scored] == [None, 1.0, 2.0, None, 1.0, 2.0, None]
    assert scored[1] == {"prompt": "p1", "completion": "x", "extra": 1, "reward": 1.0}
    assert (summary.count, summary.nulls, summary.mean) == (7, 3, 1.5)
    assert summary.values == [(1.0, 2), (2.0, 2)]
    assert summary.timeouts == 3  # summed over the three calls
    assert not reward.closed  # a reward passed in belongs to the caller


def test_many_distinct_values_are_summarized_not_listed(tmp_path):
    source = write(tmp_path / "in.jsonl", [{"prompt": "p", "completion": "x" * i} for i in range(1, 21)])
    summary = score_file(source, Scripted())
    assert summary.values is None
    assert (summary.minimum, summary.median, summary.maximum) == (1.0, 10.5, 20.0)


def test_a_failing_reward_keeps_what_was_scored_and_the_old_output(tmp_path):
    source = write(tmp_path / "in.jsonl", [*rows(4), {"prompt": "p", "completion": "boom"}, *rows(2)])
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    with pytest.raises(GnivoError) as error:
        score_file(source, Scripted(Scripted.Params(fail_on="boom")), output=out, batch_size=2, force=True)
    message = str(error.value)
    assert f"{source}:5: reward 'scripted' failed: RuntimeError: model exploded" in message
    assert f"4 rows scored before the error are in {out}.partial; rerun the same command to resume" in message
    assert out.read_text() == "previous results\n"
    assert len(Path(f"{out}.partial").read_text().splitlines()) == 4


def test_bad_rows_fail_before_anything_is_scored(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(json.dumps(rows(1)[0]).encode() + b"\n" + b'{"prompt": "\xff", "completion": "c"}\n')
    reward = Scripted()
    with pytest.raises(GnivoError, match=r"in.jsonl:2: not valid UTF-8"):
        score_file(source, reward)
    assert reward.calls == []
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "in.scored.jsonl").exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"prompt": 3, "completion": "c"}, "in.jsonl:1: field 'prompt' must be text"),
        ({"prompt": "p"}, "in.jsonl:1: missing field 'completion'"),
        ("just a string", "in.jsonl:1: expected a JSON object"),
    ],
)
def test_row_errors_name_the_line(tmp_path, row, message):
    with pytest.raises(GnivoError, match=message):
        score_file(write(tmp_path / "in.jsonl", [row]), Scripted())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1.0], "returned 1 values for 2 completions"),
        ([1.0, float("nan")], "returned nan for line 2"),
        ([1.0, "high"], "returned 'high' for line 2"),
    ],
)
def test_bad_reward_values_are_errors(tmp_path, values, message):
    source = write(tmp_path / "in.jsonl", rows(2))
    with pytest.raises(GnivoError, match=message):
        score_file(source, Scripted(Scripted.Params(values=values)))


def test_empty_input_missing_input_and_overwriting_the_input(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(GnivoError, match="no rows to score"):
        score_file(tmp_path / "empty.jsonl", Scripted())
    with pytest.raises(GnivoError, match=r"nope\.jsonl: no such file"):
        score_file(tmp_path / "nope.jsonl", Scripted())
    source = write(tmp_path / "in.jsonl", rows(1))
    with pytest.raises(GnivoError, match="would overwrite the input"):
        score_file(source, Scripted(), output=source)


def test_text_that_utf8_cannot_hold_survives(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"prompt": "p", "completion": "caf\\u00e9 \\ud800"}\n')
    summary = score_file(source, Scripted())
    (row,) = [json.loads(line) for line in summary.output.read_text().splitlines()]
    assert row["completion"] == "café \ud800"


def test_a_reward_named_by_string_is_loaded_and_closed(tmp_path):
    source = write(tmp_path / "in.jsonl", [{"prompt": "p", "completion": "\\boxed{2}", "answer": 2}])
    summary = score_file(source, "math", {"timeout": 1})
    assert summary.mean == 1.0 and summary.reward == "math"
    with pytest.raises(GnivoError, match="missing field 'gold'"):
        score_file(source, "math", {"answer_column": "gold"})


def test_an_interrupted_run_resumes_and_scores_only_the_rest(tmp_path):
    source = write(tmp_path / "in.jsonl", rows(7))
    out = tmp_path / "out.jsonl"
    with pytest.raises(GnivoError, match="rerun the same command to resume"):
        score_file(source, Scripted(), output=out, batch_size=2, progress=_explode_after(4))
    partial = Path(f"{out}.partial")
    assert len(partial.read_text().splitlines()) == 4 and not out.exists()
    with partial.open("a") as handle:
        handle.write('{"prompt": "p4", "compl')  # a kill mid-write leaves a torn line
    reward = Scripted()
    summary = score_file(source, reward, output=out, batch_size=2)
    assert [len(call["prompts"]) for call in reward.calls] == [2, 1]  # rows 5-7 only
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["extra"] for row in scored] == list(range(7))
    assert [row["reward"] for row in scored] == [None if i % 3 == 0 else float(i % 3) for i in range(7)]
    assert summary.count == 7 and summary.nulls == 3
    assert not partial.exists() and not Path(f"{out}.partial.json").exists()


def _explode_after(rows_done: int):
    def progress(done, total):
        if done >= rows_done:
            raise RuntimeError("killed")

    return progress


def test_a_partial_of_other_settings_is_refused_unless_forced(tmp_path):
    source = write(tmp_path / "in.jsonl", rows(4))
    out = tmp_path / "out.jsonl"
    with pytest.raises(GnivoError):
        score_file(source, Scripted(), output=out, batch_size=2, progress=_explode_after(2))
    with pytest.raises(GnivoError, match=r"out.jsonl.partial holds rows scored with other settings .*--force"):
        score_file(source, Scripted(Scripted.Params(values=[1.0, 1.0])), output=out, batch_size=2)
    summary = score_file(source, Scripted(Scripted.Params(values=[1.0, 1.0])), output=out, batch_size=2, force=True)
    assert summary.mean == 1.0 and summary.count == 4


def test_an_unrelated_output_is_refused_and_our_own_is_rescored(tmp_path):
    source = write(tmp_path / "in.jsonl", rows(3))
    out = tmp_path / "notes.jsonl"
    out.write_text("my notes\n")
    with pytest.raises(GnivoError, match=r"notes.jsonl exists and is not a scored copy of .*in.jsonl.*--force"):
        score_file(source, Scripted(), output=out)
    assert out.read_text() == "my notes\n" and not Path(f"{out}.partial").exists()
    score_file(source, Scripted(), output=out, force=True)
    summary = score_file(source, Scripted(Scripted.Params(values=[2.0, 2.0, 2.0])), output=out)
    assert summary.mean == 2.0  # the command's own output is simply rescored


def test_an_output_folder_is_one_clear_error_and_leaves_nothing(tmp_path):
    source = write(tmp_path / "in.jsonl", rows(2))
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(GnivoError, match=r"results is a folder; --output takes a file path"):
        score_file(source, Scripted(), output=folder)
    assert set(tmp_path.iterdir()) == {source, folder}
    assert list(folder.iterdir()) == []


def test_two_runs_into_one_output_are_refused(tmp_path):
    from gnivo_cli.files.locking import ExclusiveLock

    source = write(tmp_path / "in.jsonl", rows(2))
    out = tmp_path / "out.jsonl"
    held = ExclusiveLock(Path(f"{out}.lock"), command="gnivo score first", busy=str)
    with held, pytest.raises(GnivoError, match=r"`gnivo score first` \(pid \d+, .*\) is writing this output"):
        score_file(source, Scripted(), output=out)


class Hostile(Reward):
    """Scores the first batch, then calls sys.exit(3) or raises KeyboardInterrupt, as `how` says."""

    def __init__(self, how: str, after_batches: int):
        super().__init__(name="hostile")
        self.how, self.left = how, after_batches

    def __call__(self, prompts, completions, **columns):
        if self.left == 0:
            if self.how == "exit":
                raise SystemExit(3)
            raise KeyboardInterrupt
        self.left -= 1
        return [1.0] * len(completions)


@pytest.mark.parametrize("how", ["exit", "interrupt"])
def test_a_reward_that_exits_or_interrupts_is_named_and_leaves_no_partial_junk(tmp_path, how):
    from gnivo_cli.errors import Interrupted

    source = write(tmp_path / "in.jsonl", rows(4))
    expected = (
        (GnivoError, r"reward 'hostile' called sys\.exit\(3\); a reward returns its scores")
        if how == "exit"
        else (Interrupted, r"interrupted while reward 'hostile' was scoring")
    )
    with pytest.raises(expected[0], match=expected[1] + r".*; nothing was written$"):
        score_file(source, Hostile(how, after_batches=0), batch_size=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    # After a batch was scored, its rows are kept for the rerun, and the message says where.
    with pytest.raises(expected[0], match=r"\(2 rows scored before .* are in .*in\.scored\.jsonl\.partial; rerun"):
        score_file(source, Hostile(how, after_batches=1), batch_size=2)
    rerun = Hostile(how, after_batches=1)  # the same reward: resumes from the kept rows
    assert score_file(source, rerun, batch_size=2).count == 4 and rerun.left == 0
    assert len((tmp_path / "in.scored.jsonl").read_text().splitlines()) == 4


def test_a_reward_beyond_float32_is_refused_in_training_and_kept_in_score():
    from rewards.base import RewardOutputError, check_scores

    assert check_scores("huge", [1e300, None], 2) == [1e300, None]  # score and eval keep float64
    with pytest.raises(RewardOutputError, match=r"reward 'huge' returned 1e\+300 for sample 0, beyond the 3\.4e\+38"):
        check_scores("huge", [1e300, 1.0], 2, precision="float32")
    assert check_scores("big", [3.0e38, -3.0e38], 2, precision="float32") == [3.0e38, -3.0e38]
