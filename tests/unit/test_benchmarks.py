"""The benchmark registry, on the real benchmark files (the folder GNIVO_TEST_BENCHMARKS names)."""

from __future__ import annotations

import json

import pytest

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import Benchmark, repair_escapes
from gnivo_cli.evaluation.benchmarks import BENCHMARKS, get_benchmark, load_problems, problems_digest
from rewards.math.extract import last_boxed

# name: (rows, index of a known problem, its id, its gold, the start of its statement)
KNOWN = {
    "aime24": (30, 0, "60", "204", "Every morning Aya goes for a $9$-kilometer-long walk"),
    "aime25": (30, 0, "0", 70, "Find the sum of all integer bases $b>9$"),
    "amc23": (40, 0, "0", 27.0, "Cities $A$ and $B$ are $45$ miles apart."),
    "math500": (500, 0, "test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)", "Convert the point"),
    "minerva": (272, 0, "0", "1.6", "Each of the two Magellan telescopes"),
    "olympiadbench": (675, 0, "1606", "2", "Xenia and Sergey play the following game."),
    "gsm8k": (1319, 0, "0", "18", "Janet’s ducks lay 16 eggs per day."),
}


def test_every_registered_benchmark_is_covered():
    assert set(KNOWN) == set(BENCHMARKS)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_field_mapping_on_the_real_file(name, shared_benchmarks):
    rows, index, pid, gold, start = KNOWN[name]
    problems = load_problems(name, shared_benchmarks / get_benchmark(name).data_file)
    assert len(problems) == rows == get_benchmark(name).size
    assert problems[index].id == pid
    assert problems[index].gold == gold
    assert problems[index].problem.startswith(start)
    assert len({p.id for p in problems}) == rows  # ids are unique
    assert all(p.problem.strip() for p in problems)
    assert all(str(p.gold).strip() for p in problems)


def test_a_folder_as_data_finds_the_benchmark_file(shared_benchmarks):
    assert load_problems("minerva", shared_benchmarks) == load_problems(
        "minerva", shared_benchmarks / "minerva_math.jsonl"
    )


def test_limit_keeps_the_first_problems(shared_benchmarks):
    problems = load_problems("aime24", shared_benchmarks, limit=3)
    assert [p.id for p in problems] == [p.id for p in load_problems("aime24", shared_benchmarks)[:3]]
    with pytest.raises(GnivoError, match="--limit"):
        load_problems("aime24", shared_benchmarks, limit=0)


def test_aime25_escape_repair(shared_benchmarks):
    raw = [json.loads(line) for line in (shared_benchmarks / "aime25.jsonl").read_text().splitlines()]
    broken = [row["id"] for row in raw if "\x0c" in row["problem"] or "\t" in row["problem"]]
    # The published AIME 2025 rows 18, 19 and 27 hold "\f" and "\t" written into JSON unescaped: read back as
    # a form feed and a TAB, they break commands such as \frac and \triangle until repaired.
    assert broken == ["18", "19", "27"]
    problems = {p.id: p.problem for p in load_problems("aime25", shared_benchmarks)}
    assert not any("\x0c" in text or "\t" in text for text in problems.values())
    assert "\\frac{\\log_k (5^{k^2 - 1})}" in problems["18"]
    assert "\\triangle ABC" in problems["19"]
    assert "\\frac{m}{n}" in problems["27"]
    # Rows that were not broken are left exactly as written.
    assert problems["0"] == raw[0]["problem"]


def test_repair_escapes():
    assert repair_escapes("\x0crac{1}{2} and \triangle") == "\\frac{1}{2} and \\triangle"
    assert repair_escapes("plain $x$") == "plain $x$"


def test_minerva_gold_is_the_last_boxed_of_the_solution(shared_benchmarks):
    problems = load_problems("minerva", shared_benchmarks)
    assert problems[1].gold == "4.5e33"
    # Nested braces survive.
    assert problems[12].gold == "\\frac{2 \\pi c^{2} R^{2}}{\\lambda^{5}\\left[e^{h c /(\\lambda k T)}-1\\right] d^{2}}"


def test_olympiadbench_gold_is_the_first_final_answer_without_dollars(shared_benchmarks):
    raw = [json.loads(line) for line in (shared_benchmarks / "olympiadbench.jsonl").read_text().splitlines()]
    with_dollars = next(i for i, row in enumerate(raw) if row["final_answer"][0].startswith("$"))
    problems = load_problems("olympiadbench", shared_benchmarks)
    assert problems[with_dollars].gold == raw[with_dollars]["final_answer"][0].strip("$").strip()
    assert not any(str(p.gold).startswith("$") or str(p.gold).endswith("$") for p in problems)
    assert problems[5].gold == "(1,8,19), (2,7,13), (4,5,7)"


def test_gsm8k_gold_follows_the_hashes_without_thousands_commas(shared_benchmarks):
    raw = [json.loads(line) for line in (shared_benchmarks / "gsm8k_test.jsonl").read_text().splitlines()]
    with_comma = next(i for i, row in enumerate(raw) if "," in row["answer"].rsplit("####", 1)[1])
    problems = load_problems("gsm8k", shared_benchmarks)
    assert "," not in problems[with_comma].gold
    assert problems[with_comma].gold.isdigit()
    assert all(str(p.gold).lstrip("-").replace(".", "").isdigit() for p in problems)


def test_amc23_golds_stay_numbers(shared_benchmarks):
    assert all(isinstance(p.gold, float) for p in load_problems("amc23", shared_benchmarks))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{42}.", "42"),
        ("\\boxed{1} then \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\fbox{7}", "7"),
        ("the answer is \\boxed 5$", "5"),
        ("unclosed \\boxed{3 + {4", "3 + {4"),
        ("no box here", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_aliases_and_case_resolve():
    assert get_benchmark("MATH500").name == "math500"
    assert get_benchmark("minerva_math").name == "minerva"


def test_unknown_name_suggests_and_lists():
    with pytest.raises(GnivoError, match=r"; did you mean 'aime24'\? \(known: aime24, aime25") as error:
        get_benchmark("aime2024")
    assert "gsm8k" in str(error.value)
    with pytest.raises(GnivoError, match=r"; did you mean 'math500'\?"):
        get_benchmark("math_50")  # close to an alias: the benchmark it stands for is suggested
    with pytest.raises(GnivoError, match=r"unknown benchmark 'zzz' \(known:"):
        get_benchmark("zzz")


def test_bad_local_files_name_file_and_line(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(GnivoError, match=r"nope\.jsonl: no such file"):
        load_problems("aime24", missing)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"problem": "1+1", "answer": "2"}\n{not json\n')
    with pytest.raises(GnivoError, match=r"broken.jsonl:2: invalid JSON"):
        load_problems("aime24", broken)
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"problem": "1+1", "answer": "2"}\n\n{"question": "2+2", "solution": "4"}\n')
    with pytest.raises(GnivoError, match=r"wrong.jsonl:3: no field 'answer'"):
        load_problems("aime24", wrong)
    unboxed = tmp_path / "unboxed.jsonl"
    unboxed.write_text('{"problem": "1+1", "solution": "it is 2"}\n')
    with pytest.raises(GnivoError, match=r"unboxed.jsonl:1: field 'solution': no \\boxed"):
        load_problems("minerva", unboxed)


def test_ids_fall_back_to_row_positions(tmp_path):
    path = tmp_path / "dupes.jsonl"
    path.write_text("".join(json.dumps({"id": 1, "problem": f"p{i}", "answer": i}) + "\n" for i in range(3)))
    assert [p.id for p in load_problems("aime24", path)] == ["0", "1", "2"]


def test_digest_changes_with_the_problems(shared_benchmarks):
    three = load_problems("aime24", shared_benchmarks, limit=3)
    assert problems_digest(three) == problems_digest(load_problems("aime24", shared_benchmarks, limit=3))
    assert problems_digest(three) != problems_digest(three[:2])


def test_loading_from_the_hub_offline_is_a_clear_error():
    # The autouse fixture sets HF_DATASETS_OFFLINE=1, as on a machine without a network.
    with pytest.raises(GnivoError, match=r"could not load HuggingFaceH4/aime_2024 \[train\].*--data"):
        load_problems("aime24")


def test_another_benchmarks_data_is_refused(tmp_path, shared_benchmarks):
    gsm8k = shared_benchmarks / "gsm8k_test.jsonl"
    with pytest.raises(GnivoError, match=r"gsm8k_test.jsonl is the gsm8k benchmark's file.*use --bench gsm8k"):
        load_problems("aime24", gsm8k)
    renamed = tmp_path / "mine.jsonl"  # the same rows under a name that tells nothing
    renamed.write_text(gsm8k.read_text())
    with pytest.raises(GnivoError, match=r"mine.jsonl:1: field 'answer': holds a worked solution"):
        load_problems("aime24", renamed)
    assert len(load_problems("gsm8k", gsm8k, limit=2)) == 2


def test_a_benchmark_carries_its_reward_template_and_rows():
    bench = Benchmark(
        name="tiny", title="Tiny", reward="length", prompt_template="{problem}!", rows=({"problem": "a", "answer": 1},)
    )
    assert bench.data_file == "tiny.jsonl" and bench.size == 1 and bench.source == "rows shipped with the benchmark"
    (problem,) = load_problems(bench)
    assert problem.problem == "a" and problem.gold == 1 and problem.fields == {"problem": "a", "answer": 1}
    assert get_benchmark("aime24").reward == "math"


def test_a_plugin_cannot_take_a_builtin_benchmarks_name(tmp_path, monkeypatch):
    import importlib

    from gnivo_cli.evaluation.benchmarks import TAKES_A_BUILTIN_NAME, plugin_benchmarks

    info = tmp_path / "fake_bench-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-bench\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gnivo.benchmarks]\nmath-500 = fake_bench:MINE\nmine = fake_bench:MINE\n")
    (tmp_path / "fake_bench.py").write_text(
        "from gnivo_cli.evaluation.benchmark_spec import Benchmark\n"
        "MINE = Benchmark(name='math-500', title='Mine', rows=({'problem': 'p', 'answer': '1'},))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()

    listed = {info.name: info for info in plugin_benchmarks()}
    assert listed["math-500"].status == "broken" and listed["math-500"].error == TAKES_A_BUILTIN_NAME
    assert listed["mine"].status == "ok"
    for name in ("math500", "MATH-500", "math_500"):  # the built-in by its name or any alias
        with pytest.raises(GnivoError, match=r"benchmark 'math-500' \(fake-bench 1.0, fake_bench:MINE\) takes a"):
            get_benchmark(name)
    assert get_benchmark("aime24").name == "aime24"  # other built-ins are untouched


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_the_reward_reads_the_gold_the_benchmark_records(shared_benchmarks, name):
    # Eval passes the reward the row's own fields, as training would: the reward's reading of its answer
    # column must give the gold the benchmark records, so boxing that gold scores as correct.
    from gnivo_cli.evaluation.judging import load_judge_reward
    from rewards.calling import call_reward

    benchmark = BENCHMARKS[name]
    problems = load_problems(benchmark, shared_benchmarks)
    columns = {
        key: [p.fields.get(key) for p in problems] for key in dict.fromkeys(k for p in problems for k in p.fields)
    }
    completions = [[{"role": "assistant", "content": f"So \\boxed{{{p.gold}}}."}] for p in problems]
    with load_judge_reward(benchmark, {"timeout": 5.0}) as reward:
        assessed, _ = call_reward(reward, [p.problem for p in problems], completions, columns, assess=True)
    wrong = [(p.id, p.gold, a.answer) for p, a in zip(problems, assessed, strict=True) if a.score != 1.0]
    assert wrong == []
