"""Benchmarks from other packages, through the entry-point group `gnivo.benchmarks`.

An entry point names a `Benchmark` object, e.g. in a plugin's pyproject.toml::

    [project.entry-points."gnivo.benchmarks"]
    short-answers = "my_package.benchmarks:SHORT_ANSWERS"

Listing reads the plugin's source (the `title=` of the `Benchmark(...)` call) without importing it, as
`gnivo rewards list` does for rewards; loading imports the one benchmark asked for. A plugin cannot take
a built-in benchmark's name or alias: it is listed as broken, and asking for that name is an error.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.benchmark_spec import Benchmark
from gnivo_cli.plugins import PluginGroup, PluginInfo, dist_label

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


TAKES_A_BUILTIN_NAME = "takes a built-in benchmark's name, which a plugin cannot replace: rename its entry point"


def _builtin_names() -> set[str]:
    from gnivo_cli.evaluation.benchmarks import BENCHMARKS

    return {name for benchmark in BENCHMARKS.values() for name in (benchmark.name, *benchmark.aliases)}


def refuse_builtin_names(builtin: Benchmark, plugins: dict[str, importlib.metadata.EntryPoint]) -> None:
    """An error when an installed plugin registers `builtin`'s name or one of its aliases."""
    names = {builtin.name, *builtin.aliases}
    for name, entry_point in plugins.items():
        if name.strip().lower() in names:
            raise GnivoError(
                f"benchmark {name!r} ({dist_label(entry_point)}, {entry_point.value}) {TAKES_A_BUILTIN_NAME}; "
                f"until then --bench {builtin.name} is refused, since it could mean either"
            )


def available_benchmarks(*, check: bool = False) -> list[PluginInfo]:
    """Installed plugin benchmarks, read without importing them (`check=True` imports and checks each).
    One that takes a built-in's name is listed as broken."""
    builtin = _builtin_names()
    return [
        dataclasses.replace(info, status="broken", error=TAKES_A_BUILTIN_NAME)
        if info.name.strip().lower() in builtin
        else info
        for info in BENCHMARK_PLUGINS.available(_problem if check else None)
    ]
