"""`evaluate()`: generate N samples per benchmark problem, judge them with the benchmark's reward, and
report pass@k and avg@N. Samples are saved as they complete, so an interrupted run resumes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.backends import build_generator
from gnivo_cli.evaluation.benchmark_spec import Benchmark
from gnivo_cli.evaluation.benchmarks import get_benchmark, load_problems
from gnivo_cli.evaluation.fingerprint import default_output_dir, model_identity, run_fingerprint
from gnivo_cli.evaluation.generation import Completion, Generator, LoadedModel, SampleRequest
from gnivo_cli.evaluation.judging import check_columns, judge_batch, load_judge_reward
from gnivo_cli.evaluation.prompts import PromptTemplate, uses_chat_template
from gnivo_cli.evaluation.reranking import SampleValues
from gnivo_cli.evaluation.results import SCORE_PREFIXES, summarize
from gnivo_cli.evaluation.settings import EvalSettings
from gnivo_cli.evaluation.sharding import Shard
from gnivo_cli.evaluation.store import RESULTS_FILE, SAMPLES_FILE, RunStore


@dataclass
class EvalResult:
    """What `evaluate` returns: the content of results.json, and where the files are."""

    output_dir: Path
    results: dict[str, Any]
    rows: list[dict[str, Any]] = field(repr=False, default_factory=list)

    @property
    def scores(self) -> dict[str, float]:
        return {k: v for k, v in self.results.items() if k.startswith(SCORE_PREFIXES)}

    @property
    def samples_path(self) -> Path:
        return self.output_dir / SAMPLES_FILE

    @property
    def results_path(self) -> Path:
        return self.output_dir / RESULTS_FILE

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
    loaded: LoadedModel | None = None,
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
    and the benchmark's reward (for tests or custom backends); `loaded` evaluates a model already in memory
    with the hf backend (no second load; its train/eval mode is restored afterwards); `on_batch` is called
    with each batch's rows after they are saved; `on_warning` with each note about questionable settings.
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
        loaded=loaded,
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
    loaded: LoadedModel | None = None,
    progress: bool = False,
    on_batch: BatchHook | None = None,
) -> EvalResult:
    """`evaluate` for an already resolved `EvalSettings`."""
    from gnivo_cli.models.loading import load_tokenizer

    started = time.perf_counter()
    if loaded is not None and settings.backend != "hf":
        raise GnivoError(f"a model in memory is evaluated with the hf backend, not {settings.backend!r}")
    if generator is None:
        check_backend(settings.backend)
    benchmark = get_benchmark(settings.bench)
    problems = load_problems(benchmark, settings.data, limit=settings.limit)
    if loaded is not None:
        model_id, tokenizer = loaded.identity, loaded.tokenizer
    else:
        model_id = model_identity(settings.model)
        tokenizer = load_tokenizer(settings.model)  # its failures are one-line errors already (`models._load`)
    with ExitStack() as owned:
        if reward is None:  # built once, cheaply: a reward loads its models on its first call
            reward = owned.enter_context(load_judge_reward(benchmark, reward_params))
        template = PromptTemplate(settings.prompt_template or "", settings.system_prompt)
        template.check(benchmark.name, {p.id: p.fields for p in problems}, graded_fields(benchmark, reward))

        weights = loaded.identity if loaded is not None else None
        fingerprint = run_fingerprint(settings, benchmark, problems, reward_params, weights=weights)
        directory = Path(output_dir) if output_dir is not None else default_output_dir(settings, fingerprint)
        shard = Shard.from_environment()
        store = owned.enter_context(RunStore(directory))  # holds the folder's lock until results.json is written
        done = store.open(fingerprint) if shard.is_main else {}
        shard.barrier()  # process 0 has checked the folder and merged what a killed run left
        if not shard.is_main:
            done = store.read_samples()
        resumed = set(done)
        sink = store if shard.is_main else store.shard_writer(shard.rank)

        n = settings.samples or 1
        mine = shard.take(problems)
        missing = [(p, i) for p in mine for i in range(n) if (p.id, i) not in done]
        pending = {p.id: p for p, _ in missing}  # each problem with samples left, once
        prompts = {pid: template.encode(tokenizer, p.problem, p.fields) for pid, p in pending.items()}
        requests = [SampleRequest(p.id, i, prompts[p.id]) for p, i in missing]
        generation_seconds = 0.0
        if requests:
            with ExitStack() as stack:
                check_columns(reward, benchmark, problems)  # before the model: a reward that cannot judge fails now
                if generator is None and loaded is not None:
                    generator = _in_memory_generator(loaded, settings, stack)
                if generator is None:
                    with _status(progress, f"Loading {settings.model} ({settings.backend}) ..."):
                        generator = build_generator(
                            settings.backend,
                            settings.model,
                            settings.sampling(),
                            batch_size=settings.batch_size,
                            dtype=settings.dtype,
                            device=settings.device or shard.default_device(),
                        )
                    stack.callback(generator.close)
                sample_values = SampleValues.start(settings, generator, stack) if settings.values_on else None
                total, already = len(mine) * n, len(mine) * n - len(missing)
                bar = stack.enter_context(_progress(progress and shard.is_main, benchmark, total=total, done=already))
                by_id = {p.id: p for p in problems}
                for batch, seconds in _timed(generator.generate(requests)):
                    generation_seconds += seconds
                    rows = judge_batch(reward, batch, by_id, template, benchmark)
                    if sample_values is not None:
                        sample_values.annotate(rows, batch)
                    sink.append(rows)
                    done.update({(row["problem_id"], row["sample_index"]): row for row in rows})
                    bar(len(rows), sum(row["num_tokens"] for row in rows))
                    if on_batch is not None:
                        on_batch(rows)

        shard.barrier()  # every process has written its samples
        if not shard.is_main:
            shard.barrier()  # process 0 writes results.json
            return EvalResult(output_dir=store.directory, results=store.read_results(), rows=[])
        done.update(store.merge_shards())
        rows = [done[(p.id, i)] for p in problems for i in range(n)]
        generated = sum((p.id, i) not in resumed for p in problems for i in range(n))
        results = summarize(settings, benchmark, problems, rows, model_path=model_id)
        results["chat_template"] = uses_chat_template(tokenizer)
        results["timing"] = {
            "seconds": round(time.perf_counter() - started, 3),
            "generation_seconds": round(generation_seconds, 3),
            "samples_generated": generated,
            "samples_resumed": len(rows) - generated,
            # all processes generate side by side, so their samples over process 0's generation time
            "samples_per_second": round(generated / generation_seconds, 3) if generation_seconds else None,
            "processes": shard.world,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        store.write_results(results)
        shard.barrier()
        return EvalResult(output_dir=store.directory, results=results, rows=rows)


def _timed(batches: Iterator[list[Completion]]) -> Iterator[tuple[list[Completion], float]]:
    """Each batch with the seconds spent producing it (scoring and saving it are not counted)."""
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            return
        yield batch, time.perf_counter() - start


def _in_memory_generator(loaded: LoadedModel, settings: EvalSettings, stack: ExitStack) -> Generator:
    """The hf backend over a model in memory; its train/eval mode is put back when `stack` closes."""
    from gnivo_cli.evaluation.hf_backend import HFGenerator

    stack.callback(loaded.model.train, loaded.model.training)
    return HFGenerator(loaded.model, loaded.tokenizer, settings.sampling(), batch_size=settings.batch_size)


def graded_fields(benchmark: Benchmark, reward: Any) -> set[str]:
    """The fields answers are graded against: the benchmark's gold field and the reward's graded columns."""
    return {benchmark.answer_field, *getattr(reward, "graded_columns", ())}


def check_backend(backend: str) -> None:
    """Fail early, before any loading, when the backend cannot run here."""
    if backend == "vllm":
        from gnivo_cli.evaluation.vllm_backend import require_vllm

        require_vllm()


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
