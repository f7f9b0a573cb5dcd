"""Evaluation on benchmarks: registry, generation backends, pass@k, and `evaluate()`.

    from gnivo_cli.evaluation import EvalSettings, evaluate
    result = evaluate("aime24", model="embedded", pass_at=[1, 3], data="../shared/benchmarks")
    result = evaluate(EvalSettings("aime24", model="embedded", pass_at=(1, 3), data="../shared/benchmarks"))
    result.scores  # {"pass@1": ..., "pass@3": ..., "avg@3": ...}

Nothing heavy (torch, transformers) is imported until generation starts.
"""

from gnivo_cli.evaluation.benchmark_spec import Benchmark, Problem
from gnivo_cli.evaluation.benchmarks import BENCHMARKS, get_benchmark, load_problems
from gnivo_cli.evaluation.generation import Completion, Generator, LoadedModel, SampleRequest
from gnivo_cli.evaluation.passk import avg_at_n, mean_pass_at_k, pass_at_k
from gnivo_cli.evaluation.prompts import DEFAULT_TEMPLATE, PromptTemplate
from gnivo_cli.evaluation.runner import EvalResult, evaluate, run_evaluation
from gnivo_cli.evaluation.settings import EvalSettings, SamplingSettings

__all__ = [
    "BENCHMARKS",
    "DEFAULT_TEMPLATE",
    "Benchmark",
    "Completion",
    "EvalResult",
    "EvalSettings",
    "Generator",
    "LoadedModel",
    "Problem",
    "PromptTemplate",
    "SampleRequest",
    "SamplingSettings",
    "avg_at_n",
    "evaluate",
    "get_benchmark",
    "load_problems",
    "mean_pass_at_k",
    "pass_at_k",
    "run_evaluation",
]
