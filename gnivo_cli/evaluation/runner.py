"""`evaluate()`: generate N samples per benchmark problem, judge them with the `math` reward's checker,
and report pass@k and avg@N. Samples are saved as they complete, so an interrupted run resumes."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gnivo_cli.errors import GnivoError, ModelNotFoundError
from gnivo_cli.evaluation.benchmarks import Benchmark, Problem, get_benchmark, load_problems, problems_digest
from gnivo_cli.evaluation.generation import (
    BACKENDS,
    Completion,
    Generator,
    SampleRequest,
    SamplingSettings,
    build_generator,
)
from gnivo_cli.evaluation.passk import avg_at_n, mean_pass_at_k
from gnivo_cli.evaluation.prompts import DEFAULT_TEMPLATE, PromptTemplate, uses_chat_template
from gnivo_cli.evaluation.store import RunStore

DEFAULT_OUTPUT_ROOT = Path("gnivo-eval")
# Settings that change how samples are produced or scored, not what they are: a resumed run may change
# them. `data` is covered by the digest of the problems it yields (so a relative path may change too).
_EXECUTION_ONLY = ("pass_at", "batch_size", "device", "data")


class Checker(Protocol):
    """What evaluation needs of the `math` reward: one verdict per (completion, gold)."""

    def judge(self, completions: list[str], golds: list[Any]) -> list[Any]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class EvalSettings:
    """Everything that decides an evaluation's samples and scores (all of it lands in results.json)."""

    bench: str
    model: str = "embedded"
    pass_at: tuple[int, ...] = (1,)
    samples: int | None = None  # per problem; defaults to the largest k
    temperature: float = 0.6
    top_p: float = 0.95
    max_new_tokens: int = 1024
    batch_size: int | None = None  # backend default when None
    data: str | None = None
    limit: int | None = None
    backend: str = "hf"
    seed: int = 0
    prompt_template: str = DEFAULT_TEMPLATE
    system_prompt: str | None = None
    dtype: str | None = None
    device: str | None = None

    def resolved(self) -> EvalSettings:
        """Validated, with defaults filled in (samples = largest k, canonical benchmark name)."""
        problems = []
        ks = tuple(sorted(set(self.pass_at))) or (1,)
        if any(k < 1 for k in ks):
            problems.append(f"--pass-at must be at least 1, got {min(ks)}")
        samples = self.samples if self.samples is not None else max(ks)
        if samples < 1:
            problems.append(f"--samples must be at least 1, got {samples}")
        elif samples < max(ks):
            problems.append(
                f"--samples {samples} is smaller than --pass-at {max(ks)}: pass@k needs at least k samples per problem"
            )
        if self.temperature < 0:
            problems.append(f"--temperature must be 0 (greedy) or more, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            problems.append(f"--top-p must lie in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            problems.append(f"--max-new-tokens must be at least 1, got {self.max_new_tokens}")
        if self.batch_size is not None and self.batch_size < 1:
            problems.append(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            problems.append(f"--limit must be at least 1, got {self.limit}")
        if self.backend not in BACKENDS:
            problems.append(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if problems:
            raise GnivoError("; ".join(problems))
        PromptTemplate(self.prompt_template, self.system_prompt)  # checks the {problem} placeholder
        batch_size = self.batch_size
        if batch_size is None and self.backend == "hf":
            from gnivo_cli.evaluation.hf_backend import DEFAULT_BATCH_SIZE

            batch_size = DEFAULT_BATCH_SIZE
        resolved = {
            "bench": get_benchmark(self.bench).name,
            "pass_at": ks,
            "samples": samples,
            "batch_size": batch_size,
        }
        return EvalSettings(**{**asdict(self), **resolved})

    def sampling(self) -> SamplingSettings:
        assert self.samples is not None, "call resolved() first"
        return SamplingSettings(
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            samples_per_problem=self.samples,
            seed=self.seed,
        )

    def warnings(self) -> list[str]:
        notes = []
        if self.temperature == 0 and (self.samples or 1) > 1:
            notes.append(f"--temperature 0 is greedy: all {self.samples} samples of a problem will be the same")
        return notes

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["pass_at"] = list(self.pass_at)
        return values


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
    bench: str,
    *,
    model: str = "embedded",
    pass_at: int | Sequence[int] = (1,),
    samples: int | None = None,
    temperature: float = 0.6,
    top_p: float = 0.95,
    max_new_tokens: int = 1024,
    batch_size: int | None = None,
    data: str | Path | None = None,
    limit: int | None = None,
    output_dir: str | Path | None = None,
    backend: str = "hf",
    seed: int = 0,
    prompt_template: str = DEFAULT_TEMPLATE,
    system_prompt: str | None = None,
    dtype: str | None = None,
    device: str | None = None,
    reward_params: dict[str, Any] | None = None,
    generator: Generator | None = None,
    checker: Checker | None = None,
    progress: bool = False,
    on_batch: BatchHook | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> EvalResult:
    """Evaluate `model` on benchmark `bench` and write samples.jsonl and results.json to `output_dir`.

    `pass_at` lists the k of pass@k (samples per problem default to the largest). Rerunning with the
    same `output_dir` skips the samples already there; other settings into a folder that holds samples
    are refused. `generator` and `checker` replace the backend and the `math` reward (for tests or
    custom backends); `on_batch` is called with each batch's rows after they are saved; `on_warning`
    with each note about questionable settings (e.g. greedy decoding with several samples).
    """
    settings = EvalSettings(
        bench=bench,
        model=model,
        pass_at=(pass_at,) if isinstance(pass_at, int) else tuple(pass_at),
        samples=samples,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        data=None if data is None else str(data),
        limit=limit,
        backend=backend,
        seed=seed,
        prompt_template=prompt_template,
        system_prompt=system_prompt,
        dtype=dtype,
        device=device,
    ).resolved()
    for note in settings.warnings() if on_warning else ():
        on_warning(note)
    return run_evaluation(
        settings,
        output_dir=output_dir,
        reward_params=reward_params,
        generator=generator,
        checker=checker,
        progress=progress,
        on_batch=on_batch,
    )


def run_evaluation(
    settings: EvalSettings,
    *,
    output_dir: str | Path | None = None,
    reward_params: dict[str, Any] | None = None,
    generator: Generator | None = None,
    checker: Checker | None = None,
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
    try:
        tokenizer = load_tokenizer(settings.model)
    except OSError as error:  # an unknown hub id, or no network to reach it
        raise ModelNotFoundError(f"{settings.model}: could not load its tokenizer ({error})") from error
    template = PromptTemplate(settings.prompt_template, settings.system_prompt)

    fingerprint = {
        **{k: v for k, v in settings.as_dict().items() if k not in _EXECUTION_ONLY},
        "model": model_id,
        "problems": problems_digest(problems),
    }
    directory = Path(output_dir) if output_dir is not None else default_output_dir(settings, fingerprint)
    store = RunStore(directory)
    done = store.open(fingerprint)

    n = settings.samples or 1
    missing = [(p, i) for p in problems for i in range(n) if (p.id, i) not in done]
    pending = {p.id: p for p, _ in missing}  # each problem with samples left, once
    prompts = {pid: template.encode(tokenizer, p.problem) for pid, p in pending.items()}
    requests = [SampleRequest(p.id, i, prompts[p.id]) for p, i in missing]
    generation_seconds = 0.0
    if requests:
        with ExitStack() as stack:
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
            if checker is None:
                checker = load_checker(reward_params)
                stack.callback(checker.close)
            bar = stack.enter_context(_progress(progress, benchmark, total=len(problems) * n, done=len(done)))
            golds = {p.id: p.gold for p in problems}
            for batch, seconds in _timed(generator.generate(requests)):
                generation_seconds += seconds
                rows = judge_batch(checker, batch, golds)
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
    return EvalResult(output_dir=directory, results=results, rows=rows)


def _timed(batches: Iterator[list[Completion]]) -> Iterator[tuple[list[Completion], float]]:
    """Each batch with the seconds spent producing it (scoring and saving it are not counted)."""
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            return
        yield batch, time.perf_counter() - start


def judge_batch(checker: Checker, batch: Sequence[Completion], golds: dict[str, Any]) -> list[dict[str, Any]]:
    """Sample rows for a finished batch, judged by the checker."""
    texts = [c.text for c in batch]
    batch_golds = [golds[c.request.problem_id] for c in batch]
    verdicts = checker.judge(texts, batch_golds)
    if len(verdicts) != len(batch):
        raise RuntimeError(f"the checker returned {len(verdicts)} verdicts for {len(batch)} completions")
    return [
        {
            "problem_id": c.request.problem_id,
            "sample_index": c.request.sample_index,
            "completion": c.text,
            "extracted_answer": verdict.extracted,
            "answer_source": getattr(verdict, "source", None),
            "gold": gold,
            "correct": bool(verdict.correct),
            "timed_out": bool(verdict.timed_out),
            "num_tokens": c.num_tokens,
            "finish_reason": c.finish_reason,
        }
        for c, gold, verdict in zip(batch, batch_golds, verdicts, strict=True)
    ]


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
    results["no_answer_rate"] = sum(r["extracted_answer"] is None for r in rows) / total
    results["truncated_rate"] = sum(r["finish_reason"] == "length" for r in rows) / total
    results["checker_timeouts"] = sum(bool(r.get("timed_out")) for r in rows)
    results["tokens_generated"] = sum(int(r["num_tokens"]) for r in rows)
    results["mean_tokens_per_sample"] = results["tokens_generated"] / total
    return results


def check_backend(backend: str) -> None:
    """Fail early, before any loading, when the backend cannot run here."""
    if backend == "vllm":
        from gnivo_cli.evaluation.vllm_backend import require_vllm

        require_vllm()


def load_checker(params: dict[str, Any] | None = None) -> Checker:
    """The `math` reward plugin: the one answer checker shared by training and evaluation."""
    from rewards.registry import load_reward

    return load_reward("math", params or {})


def model_identity(model: str) -> str:
    """What identifies the weights: `embedded`, a local folder's absolute path (a training run's
    resolved checkpoint included), or the hub id."""
    from gnivo_cli.models import is_embedded, resolve_model

    if is_embedded(model):
        return "embedded"
    resolved = resolve_model(model)
    path = Path(resolved)
    return str(path.resolve()) if path.is_dir() else resolved


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
