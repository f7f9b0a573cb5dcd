"""`EvalSettings`: what decides an evaluation's samples and scores, with its defaults (the one place
they are written), and `SamplingSettings`, the part a generation backend needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmarks import get_benchmark
from gnivo_cli.evaluation.prompts import PromptTemplate
from gnivo_cli.models.devices import device_problems

BACKENDS = ("hf", "vllm")
#: Rows per generate call with the hf backend (vLLM schedules its own batches).
DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class EvalSettings:
    """Everything that decides an evaluation's samples and scores (all of it lands in results.json).

    The one place the evaluation defaults live: `gnivo eval` and the library `evaluate()` both build
    this. `prompt_template` and `system_prompt` left as None come from the benchmark.
    """

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
    prompt_template: str | None = None  # the user message with {problem}; None: the benchmark's
    system_prompt: str | None = None  # None: the benchmark's (if it has one)
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
        if self.device is not None:
            problems.extend(device_problems(self.device))
        if problems:
            raise GnivoError("; ".join(problems))
        benchmark = get_benchmark(self.bench)
        template = benchmark.prompt_template if self.prompt_template is None else self.prompt_template
        system = benchmark.system_prompt if self.system_prompt is None else self.system_prompt
        PromptTemplate(template, system)  # checks the {problem} placeholder
        batch_size = self.batch_size
        if batch_size is None and self.backend == "hf":
            batch_size = DEFAULT_BATCH_SIZE
        resolved = {
            "bench": benchmark.name,
            "prompt_template": template,
            "system_prompt": system,
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

    @classmethod
    def build(cls, bench: str, **values: Any) -> EvalSettings:
        """Settings from keyword values, with one clear error for a name that is not a setting."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            from gnivo_cli.suggest import unknown_name

            settings = ", ".join(sorted(known - {"bench"}))
            raise GnivoError(unknown_name("evaluation setting", unknown[0], known, listed=f"settings: {settings}"))
        if "pass_at" in values and isinstance(values["pass_at"], int):
            values["pass_at"] = (values["pass_at"],)
        elif "pass_at" in values:
            values["pass_at"] = tuple(values["pass_at"])
        if values.get("data") is not None:
            values["data"] = str(values["data"])
        return cls(bench=bench, **values)


@dataclass(frozen=True)
class SamplingSettings:
    """How a backend samples; `EvalSettings.sampling()` builds it, and its defaults are EvalSettings'."""

    temperature: float = EvalSettings.temperature
    top_p: float = EvalSettings.top_p
    max_new_tokens: int = EvalSettings.max_new_tokens
    samples_per_problem: int = 1
    seed: int = EvalSettings.seed

    @property
    def greedy(self) -> bool:
        return self.temperature == 0
