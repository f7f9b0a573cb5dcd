"""Benchmarks from other packages, through the entry-point group `gnivo.benchmarks`.

An entry point names a `Benchmark` object, e.g. in a plugin's pyproject.toml::

    [project.entry-points."gnivo.benchmarks"]
    short-answers = "my_package.benchmarks:SHORT_ANSWERS"

Listing reads the plugin's source (the `title=` of the `Benchmark(...)` call) without importing it, as
`gnivo rewards list` does for rewards; loading imports the one benchmark asked for. A plugin cannot take
a built-in benchmark's name or alias (`benchmarks.get_benchmark` refuses it, `benchmarks.plugin_benchmarks`
lists it as broken).
"""

from __future__ import annotations

from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import Benchmark
from gnivo_cli.plugins import PluginGroup, PluginInfo

GROUP = "gnivo.benchmarks"
BENCHMARK_PLUGINS = PluginGroup(GROUP, "benchmark", "gnivo eval --list")


def _problem(obj: Any) -> str | None:
    if not isinstance(obj, Benchmark):
        return f"the entry point must name a gnivo_cli.evaluation.benchmarks.Benchmark, got {type(obj).__name__}"
    return None


def load_benchmark(name: str) -> Any:
    """The plugin benchmark registered as `name`; its own `name` must match the entry point's."""
    benchmark = BENCHMARK_PLUGINS.load(name, _problem)
    if benchmark.name != name:
        raise GnivoError(f"benchmark {name!r}: the entry point names a Benchmark called {benchmark.name!r}")
    return benchmark


def available_benchmarks(*, check: bool = False) -> list[PluginInfo]:
    """Installed plugin benchmarks, read without importing them (`check=True` imports and checks each)."""
    return BENCHMARK_PLUGINS.available(_problem if check else None)
