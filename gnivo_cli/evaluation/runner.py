"""`evaluate()`: generate N samples per benchmark problem, judge them with the benchmark's reward, and
report pass@k and avg@N. Samples are saved as they complete, so an interrupted run resumes."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gnivo_cli.evaluation.backends import build_generator
from gnivo_cli.evaluation.benchmarks import Benchmark, Problem, get_benchmark, load_problems, problems_digest
from gnivo_cli.evaluation.generation import Completion, Generator, SampleRequest
from gnivo_cli.evaluation.judging import check_columns, judge_batch, load_judge_reward
from gnivo_cli.evaluation.passk import avg_at_n, mean_pass_at_k
from gnivo_cli.evaluation.prompts import PromptTemplate, uses_chat_template
from gnivo_cli.evaluation.settings import EvalSettings
from gnivo_cli.evaluation.store import RunStore

DEFAULT_OUTPUT_ROOT = Path("gnivo-eval")
# Settings that change how samples are produced or scored, not what they are: a resumed run may change
# them. `data` is covered by the digest of the problems it yields (so a relative path may change too).
_EXECUTION_ONLY = ("pass_at", "batch_size", "device", "data")
#: Files whose names, sizes and modification times identify a model's weights (see `weights_fingerprint`).
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf", "config.json", "adapter_config.json")


@dataclass
class EvalResult:
    """What `evaluate` returns: the content of results.json, and where the files are."""

    output_dir: Path
    results: dict[str, Any]
    rows: list[dict[str, Any]] = field(repr=False, default_factory=list)

    @property
    def scores(self) -> dict[str, float]:
        return {k: v for k, v in self.results.items() if k.startswith(("pass@", "avg@"))}

    @property
    def samples_path(self) -> Path:
        return self.output_dir / "samples.jsonl"

    @property
    def results_path(self) -> Path:
        return self.output_dir / "results.json"

    def __getitem__(self, key: str) -> Any:
        return self.results[key]


BatchHook = Callable[[list[dict[str, Any]]], None]


def evaluate(
    settings: EvalSettings | str,
    /,
    *,
    output_dir: str | Path | None = None,
    reward_params: dict[str, Any] | None = None,
    generator: Generator | None = None,
    reward: Any = None,
    progress: bool = False,
    on_batch: BatchHook | None = None,
    on_warning: Callable[[str], None] | None = None,
    **values: Any,
) -> EvalResult:
    """Evaluate a model on a benchmark and write samples.jsonl and results.json to `output_dir`.

    `settings` is an `EvalSettings`, or a benchmark name with the settings as keywords
    (``evaluate("aime24", model=..., pass_at=[1, 3])``; see `EvalSettings` for them and their defaults).
    Rerunning with the same `output_dir` skips the samples already there; other settings or other
    weights into a folder that holds samples are refused. `generator` and `reward` replace the backend
    and the benchmark's reward (for tests or custom backends); `on_batch` is called with each batch's
    rows after they are saved; `on_warning` with each note about questionable settings.
    """
    if isinstance(settings, str):
        settings = EvalSettings.build(settings, **values)
    elif values:
        raise TypeError(f"evaluate() got settings both as EvalSettings and as keywords: {', '.join(values)}")
    settings = settings.resolved()
    for note in settings.warnings() if on_warning else ():
        on_warning(note)
    return run_evaluation(
        settings,
        output_dir=output_dir,
        reward_params=reward_params,
        generator=generator,
        reward=reward,
        progress=progress,
        on_batch=on_batch,
    )


def run_evaluation(
    settings: EvalSettings,
    *,
    output_dir: str | Path | None = None,
    reward_params: dict[str, Any] | None = None,
    generator: Generator | None = None,
    reward: Any = None,
    progress: bool = False,
    on_batch: BatchHook | None = None,
) -> EvalResult:
    """`evaluate` for an already resolved `EvalSettings`."""
    from gnivo_cli.models import load_tokenizer

    started = time.perf_counter()
    if generator is None:
        check_backend(settings.backend)
    benchmark = get_benchmark(settings.bench)
    problems = load_problems(benchmark, settings.data, limit=settings.limit)
    model_id = model_identity(settings.model)
    tokenizer = load_tokenizer(settings.model)  # its failures are one-line errors already (`models._load`)
    template = PromptTemplate(settings.prompt_template or "", settings.system_prompt)

    fingerprint = {
        **{k: v for k, v in settings.as_dict().items() if k not in _EXECUTION_ONLY},
        "model": weights_fingerprint(settings.model),
        "reward": {"name": benchmark.reward, "params": {**benchmark.reward_params, **(reward_params or {})}},
        "problems": problems_digest(problems),
    }
    directory = Path(output_dir) if output_dir is not None else default_output_dir(settings, fingerprint)
    with RunStore(directory) as store:  # holds the folder's lock until results.json is written
        done = store.open(fingerprint)

        n = settings.samples or 1
        missing = [(p, i) for p in problems for i in range(n) if (p.id, i) not in done]
        pending = {p.id: p for p, _ in missing}  # each problem with samples left, once
        prompts = {pid: template.encode(tokenizer, p.problem) for pid, p in pending.items()}
        requests = [SampleRequest(p.id, i, prompts[p.id]) for p, i in missing]
        generation_seconds = 0.0
        if requests:
            with ExitStack() as stack:
                if reward is None:  # before the model: a reward that cannot judge these rows fails in seconds
                    reward = load_judge_reward(benchmark, reward_params)
                    stack.callback(reward.close)
                check_columns(reward, benchmark, problems)
                if generator is None:
                    with _status(progress, f"Loading {settings.model} ({settings.backend}) ..."):
                        generator = build_generator(
                            settings.backend,
                            settings.model,
                            settings.sampling(),
                            batch_size=settings.batch_size,
                            dtype=settings.dtype,
                            device=settings.device,
                        )
                    stack.callback(generator.close)
                bar = stack.enter_context(_progress(progress, benchmark, total=len(problems) * n, done=len(done)))
                by_id = {p.id: p for p in problems}
                for batch, seconds in _timed(generator.generate(requests)):
                    generation_seconds += seconds
                    rows = judge_batch(reward, batch, by_id, template, benchmark)
                    store.append(rows)
                    done.update({(row["problem_id"], row["sample_index"]): row for row in rows})
                    bar(len(rows), sum(row["num_tokens"] for row in rows))
                    if on_batch is not None:
                        on_batch(rows)

        rows = [done[(p.id, i)] for p in problems for i in range(n)]
        results = summarize(settings, benchmark, problems, rows, model_path=model_id)
        results["chat_template"] = uses_chat_template(tokenizer)
        results["timing"] = {
            "seconds": round(time.perf_counter() - started, 3),
            "generation_seconds": round(generation_seconds, 3),
            "samples_generated": len(requests),
            "samples_resumed": len(rows) - len(requests),
            "samples_per_second": round(len(requests) / generation_seconds, 3) if generation_seconds else None,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        store.write_results(results)
        return EvalResult(output_dir=store.directory, results=results, rows=rows)


def _timed(batches: Iterator[list[Completion]]) -> Iterator[tuple[list[Completion], float]]:
    """Each batch with the seconds spent producing it (scoring and saving it are not counted)."""
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            return
        yield batch, time.perf_counter() - start


def summarize(
    settings: EvalSettings,
    benchmark: Benchmark,
    problems: Sequence[Problem],
    rows: Sequence[dict[str, Any]],
    *,
    model_path: str,
) -> dict[str, Any]:
    """The scores and counts of results.json (everything but timing), from the sample rows."""
    n = settings.samples or 1
    by_problem: dict[str, int] = {p.id: 0 for p in problems}
    for row in rows:
        by_problem[row["problem_id"]] += bool(row["correct"])
    counts = list(by_problem.values())
    total = len(rows)
    results: dict[str, Any] = {
        "benchmark": benchmark.name,
        "data": settings.data or benchmark.source,
        "model": settings.model,
        "model_path": model_path,
        "settings": settings.as_dict(),
        "num_problems": len(problems),
        "samples_per_problem": n,
        "num_samples": total,
    }
    for k in settings.pass_at:
        results[f"pass@{k}"] = mean_pass_at_k(counts, n, k)
    results[f"avg@{n}"] = avg_at_n(counts, n)
    results["num_correct"] = sum(counts)
    results["problems_solved"] = sum(1 for c in counts if c > 0)
    results["reward"] = benchmark.reward
    results["no_answer_rate"] = sum(_no_answer(r) for r in rows) / total
    results["truncated_rate"] = sum(r["finish_reason"] == "length" for r in rows) / total
    results["checker_timeouts"] = sum(bool(r.get("timed_out")) for r in rows)
    results["tokens_generated"] = sum(int(r["num_tokens"]) for r in rows)
    results["mean_tokens_per_sample"] = results["tokens_generated"] / total
    return results


def _no_answer(row: dict[str, Any]) -> bool:
    # A judging reward reports the answer it found; a scoring reward, None where it does not apply.
    return row["reward"] is None if "reward" in row else row["extracted_answer"] is None


def check_backend(backend: str) -> None:
    """Fail early, before any loading, when the backend cannot run here."""
    if backend == "vllm":
        from gnivo_cli.evaluation.vllm_backend import require_vllm

        require_vllm()


def model_identity(model: str) -> str:
    """What identifies the weights: `embedded`, a local folder's absolute path (a training run's
    resolved checkpoint included), or the hub id."""
    from gnivo_cli.models import is_embedded, resolve_model

    if is_embedded(model):
        return "embedded"
    resolved = resolve_model(model)
    path = Path(resolved)
    return str(path.resolve()) if path.is_dir() else resolved


def weights_fingerprint(model: str) -> str:
    """What identifies the weights for resuming: for a local folder, the names, sizes and modification
    times of its weight and config files (cheap, and changed by any rewrite, even at the same path; kept
    by a move); `embedded` and hub ids as they are."""
    from gnivo_cli.models import is_embedded, resolve_model

    if is_embedded(model):
        return "embedded"
    resolved = resolve_model(model)
    path = Path(resolved)
    if not path.is_dir():
        return resolved
    digest = hashlib.sha256()
    files = sorted({f for pattern in _WEIGHT_PATTERNS for f in path.glob(pattern) if f.is_file()})
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"local:{digest.hexdigest()[:16]}"


def default_output_dir(settings: EvalSettings, fingerprint: dict[str, Any]) -> Path:
    """gnivo-eval/BENCH/MODEL-HASH: the same command resumes in the same folder, other settings get
    their own."""
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:8]
    name = Path(settings.model.rstrip("/")).name if Path(settings.model).expanduser().exists() else settings.model
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"
    return DEFAULT_OUTPUT_ROOT / settings.bench / f"{slug}-{digest}"


class _NoBar:
    def __call__(self, samples: int, tokens: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool, benchmark: Benchmark, *, total: int, done: int) -> Any:
    if not enabled:
        return _NoBar()
    from gnivo_cli.evaluation.progress import SampleProgress

    return SampleProgress(benchmark.name, total=total, done=done)


def _status(enabled: bool, message: str) -> Any:
    from contextlib import nullcontext

    if not enabled:
        return nullcontext()
    from gnivo_cli.console import err_console

    return err_console.status(message)
