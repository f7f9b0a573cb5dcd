"""YAML recipes -> a typed, validated `Recipe`.

Everything is checked before any model loads: unknown keys, wrong types, impossible combinations.
Each problem becomes one line naming the file, its line and the dotted key path, e.g.
`recipes/math.yaml:14: algorithm.alpha: must be > 0, got 0`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gnivo_cli.algorithms.gnivo.limits import alpha_problem, group_size_problem, whole_groups_problem
from gnivo_cli.algorithms.table import ALGORITHMS, OWNED_KEYS, unknown_algorithm
from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe.overrides import apply_overrides, override_keys
from gnivo_cli.recipe.schema import matches_type, type_problem, value_problem
from gnivo_cli.recipe.sections import (
    TRACKERS,
    AlgorithmSection,
    DataSection,
    GenerationSection,
    LoraSection,
    ModelSection,
    RewardSpec,
    TrainingSection,
)
from gnivo_cli.recipe.strict_yaml import key_lines, locate, parse_yaml
from gnivo_cli.suggest import did_you_mean
from gnivo_cli.training import run_files


@dataclass(frozen=True)
class Recipe:
    model: ModelSection = field(default_factory=ModelSection)
    lora: LoraSection = field(default_factory=LoraSection)
    data: DataSection = field(default_factory=DataSection)
    rewards: list[RewardSpec] = field(default_factory=list)
    algorithm: AlgorithmSection = field(default_factory=AlgorithmSection)
    generation: GenerationSection = field(default_factory=GenerationSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    source: str | None = field(default=None, compare=False)  # the file it came from, for messages

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data; it loads back into an equal recipe."""
        data = dataclasses.asdict(self)
        data.pop("source")
        owned = ALGORITHMS[self.algorithm.name].owns
        for key in OWNED_KEYS:  # settings an algorithm does not use are not part of its recipe
            if key not in owned:
                data["algorithm"].pop(key)
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def with_overrides(self, overrides: list[str]) -> Recipe:
        """A new validated recipe with `key.path=value` overrides applied."""
        return recipe_from_dict(apply_overrides(self.to_dict(), overrides), source=self.source)


#: A recipe is a few dozen lines; a file beyond this is not one, and parsing it could take minutes.
MAX_RECIPE_BYTES = 2**20

_SECTIONS: dict[str, type] = {
    "model": ModelSection,
    "lora": LoraSection,
    "data": DataSection,
    "algorithm": AlgorithmSection,
    "generation": GenerationSection,
    "training": TrainingSection,
}


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe file. Raises `RecipeError` listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as handle:  # no more than the cap: a huge file is refused without reading it all
            data = handle.read(MAX_RECIPE_BYTES + 1)
    except OSError as error:
        raise RecipeError([f"cannot read recipe: {error.strerror or error}"], source=str(path)) from None
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeError(
            [f"larger than {MAX_RECIPE_BYTES // 2**20} MiB, far beyond any recipe; is this the right file?"],
            source=str(path),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RecipeError(
            [f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the recipe as UTF-8"], source=f"{path}:{line}"
        ) from None
    raw = parse_yaml(text, str(path))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(["the recipe must be a mapping of sections (model, data, rewards, ...)"], source=str(path))
    lines = key_lines(text)
    raw = apply_overrides(raw, overrides or [])
    return recipe_from_dict(raw, source=str(path), lines=lines, overridden=override_keys(overrides or []))


def recipe_from_dict(
    raw: dict[str, Any],
    *,
    source: str | None = None,
    lines: dict[str, int] | None = None,
    overridden: set[str] | None = None,
) -> Recipe:
    problems: list[tuple[str, str]] = []  # (key path, message)
    sections: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "rewards":
            continue
        if key not in _SECTIONS:
            problems.append((str(key), _unknown(key, [*_SECTIONS, "rewards"])))
            continue
        sections[key] = _build_section(_SECTIONS[key], value, key, problems)
    rewards = _build_rewards(raw.get("rewards"), problems)
    if not problems:
        recipe = Recipe(**{k: v for k, v in sections.items() if v is not None}, rewards=rewards, source=source)
        explicit = set(raw.get("algorithm") or {}) if isinstance(raw.get("algorithm"), dict) else set()
        problems.extend(_cross_checks(recipe, explicit))
        problems.extend(_reward_checks(recipe))
    if not problems:
        from gnivo_cli.data.answer_leaks import answer_leak_problems

        problems.extend(answer_leak_problems(recipe.data, recipe.rewards))
    if problems:
        raise RecipeError([locate(path, message, source, lines, overridden) for path, message in problems])
    fixed = ALGORITHMS[recipe.algorithm.name].fixed  # e.g. one-step GN-IVO is GN-IVO at the final prefix point
    return dataclasses.replace(recipe, algorithm=dataclasses.replace(recipe.algorithm, **fixed)) if fixed else recipe


def _build_section(cls: type, value: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    if value is None:
        return cls()
    if not isinstance(value, dict):
        problems.append((path, f"must be a mapping, got {type(value).__name__}"))
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, item in value.items():
        key_path = f"{path}.{key}"
        if key not in fields:
            problems.append((key_path, _unknown(key, list(fields))))
        elif isinstance(item, dict | str) and (inner := _section_type(hints[key])) is not None:
            if isinstance(item, str):  # a one-value shorthand, e.g. `eval: gsm8k`
                item = inner.shorthand(item)
            kwargs[key] = _build_section(inner, item, key_path, problems)  # a section inside a section
        elif not matches_type(item, hints[key]):
            problems.append((key_path, type_problem(item, hints[key])))
        elif (problem := value_problem(item, fields[key])) is not None:
            problems.append((key_path, problem))
        else:
            kwargs[key] = item
    return cls(**kwargs)


def _section_type(hint: Any) -> type | None:
    """The section a field holds (`HeldOutEvalSection | None` -> HeldOutEvalSection), else None."""
    candidates = typing.get_args(hint) or (hint,)
    return next((c for c in candidates if dataclasses.is_dataclass(c) and hasattr(c, "shorthand")), None)


def _build_rewards(value: Any, problems: list[tuple[str, str]]) -> list[RewardSpec]:
    if value is None:
        problems.append(("rewards", "at least one reward is required, e.g. [{name: math}]"))
        return []
    if not isinstance(value, list) or not value:
        problems.append(("rewards", "must be a non-empty list of {name, weight, params}"))
        return []
    specs = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or "name" not in item:
            problems.append((f"rewards.{index}", "must be a reward name or a mapping with a `name`"))
            continue
        spec = _build_section(RewardSpec, item, f"rewards.{index}", problems)
        if spec is not None and item.get("params") is None:
            spec = dataclasses.replace(spec, params={})
        if spec is not None:
            specs.append(spec)
    return specs


def _cross_checks(recipe: Recipe, explicit_algorithm_keys: set[str]) -> list[tuple[str, str]]:
    algo, train = recipe.algorithm, recipe.training
    problems = []

    def check(ok: bool, path: str, message: str) -> None:
        if not ok:
            problems.append((path, message))

    k = algo.num_generations
    if problem := group_size_problem(k):
        problems.append(("algorithm.num_generations", problem))
    check(algo.beta >= 0, "algorithm.beta", f"must be >= 0, got {algo.beta}")
    check(algo.num_iterations >= 1, "algorithm.num_iterations", f"must be >= 1, got {algo.num_iterations}")
    problems.extend(_algorithm_checks(algo, explicit_algorithm_keys))
    if k >= 2 and (problem := whole_groups_problem(train.per_device_batch_size, k, "algorithm.num_generations")):
        problems.append(("training.per_device_batch_size", problem))
    if train.warmup_steps:
        check(
            train.warmup_steps < train.max_steps,
            "training.warmup_steps",
            f"must be below training.max_steps ({train.max_steps}) or the learning rate never reaches its value, "
            f"got {train.warmup_steps}",
        )
        check(
            train.lr_scheduler != "constant",
            "training.warmup_steps",
            "has no effect with lr_scheduler 'constant'; use 'constant_with_warmup' (or linear/cosine)",
        )
    url = recipe.generation.vllm_server_url
    if url is not None:
        check(
            url.startswith(("http://", "https://")) and len(url) > len("https://"),
            "generation.vllm_server_url",
            f"must be an http(s) URL, such as http://10.0.0.2:8000; got {url!r}",
        )
    check(
        recipe.lora.dropout == 0,
        "lora.dropout",
        f"must be 0, got {recipe.lora.dropout}: gnivo trains without dropout, so that the policy that learns "
        "is the one that sampled (with dropout, every log-ratio to the old policy is partly noise); remove the key",
    )
    if isinstance(recipe.lora.target_modules, list):
        check(
            all(isinstance(name, str) and name.strip() for name in recipe.lora.target_modules),
            "lora.target_modules",
            "module names must not be empty",
        )
    for index, spec in enumerate(recipe.rewards):
        check(spec.weight >= 0, f"rewards.{index}.weight", f"must be >= 0, got {spec.weight}")
    name = recipe.model.name.strip()
    if name.startswith((".", "/", "~")) and not Path(name).expanduser().exists():
        problems.append(("model.name", f"no such model directory: {name}"))
    if recipe.rewards and not any(spec.weight > 0 for spec in recipe.rewards):
        problems.append(("rewards", "no reward has a weight > 0, so every sample scores 0 and nothing is learned"))
    problems.extend(_tracker_checks(train.report_to))
    if train.eval is not None:
        from gnivo_cli.evaluation.during_training import held_out_problems

        problems.extend(held_out_problems(train.eval))
    from gnivo_cli.data.loading import data_problems, known_row_count, size_problem

    problems.extend(data_problems(recipe.data))
    rows = known_row_count(recipe.data)
    if not problems and rows is not None and (problem := size_problem(rows, recipe)):
        problems.append(("data.limit" if recipe.data.limit == rows else "data.source", problem))
    return problems


def _tracker_checks(report_to: str | list[str]) -> list[tuple[str, str]]:
    """`training.report_to`: tracker names as transformers knows them; "none" and "all" stand alone."""
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    problems = []
    for name in names:
        if name not in (*TRACKERS, "none", "all"):
            known = f" (known: none, all, {', '.join(TRACKERS)})"
            hint = did_you_mean(name, [*TRACKERS, "none"], otherwise=known)
            problems.append(("training.report_to", f"unknown tracker {name!r}{hint}"))
    if len(names) > 1 and {"none", "all"} & set(names):
        problems.append(("training.report_to", "'none' and 'all' stand alone, not in a list with other trackers"))
    return problems


def _algorithm_checks(algo: AlgorithmSection, explicit_keys: set[str]) -> list[tuple[str, str]]:
    """The name is in the table; keys the algorithm does not own or fixes are errors, not silently ignored."""
    spec = ALGORITHMS.get(algo.name)
    if spec is None:
        return [("algorithm.name", unknown_algorithm(algo.name))]
    problems = []
    for key in sorted(explicit_keys & set(OWNED_KEYS) - set(spec.owns)):
        users = ", ".join(name for name, other in ALGORITHMS.items() if key in other.owns)
        problems.append((f"algorithm.{key}", f"does not apply to algorithm {algo.name!r} (only {users})"))
    for key, value in spec.fixed.items():
        if key in explicit_keys and getattr(algo, key) != value:
            problems.append((f"algorithm.{key}", f"{algo.name} always uses {key} `{value}`; remove the key"))
    if "alpha" in spec.owns and (problem := alpha_problem(algo.alpha)):
        problems.append(("algorithm.alpha", problem))
    if "step_separator" in spec.owns and not algo.step_separator:
        problems.append(("algorithm.step_separator", "must not be empty"))
    return problems


def _reward_checks(recipe: Recipe) -> list[tuple[str, str]]:
    """Reward names must be registered and their parameters valid (plugins are imported, not run)."""
    from rewards.registry import reward_param_problems

    problems = []
    for index, spec in enumerate(recipe.rewards):
        for message in reward_param_problems(spec.name, spec.params):
            problems.append((f"rewards.{index}", message))
    return problems


def _unknown(key: Any, known: list[str]) -> str:
    listed = ", ".join(known)
    return "unknown key" + did_you_mean(str(key), known, otherwise=f" (known: {listed})")


def recorded_recipe(run_dir: Path, *, why: str = "") -> dict[str, Any] | None:
    """A run's recipe.yaml as this version reads it: keys added to the schema since the run was recorded
    take their defaults, so an unchanged experiment still matches. The raw data where it no longer loads;
    None where the run has no recipe."""
    stored = run_files.read_recipe(run_dir, why=why)
    if stored is None:
        return None
    try:
        return recipe_from_dict(stored).to_dict()
    except RecipeError:
        return stored


def recipe_error_at(recipe: Recipe, path: str, message: str) -> RecipeError:
    """A `RecipeError` for one key of an already validated recipe, located in its file like load errors."""
    lines: dict[str, int] = {}
    if recipe.source:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = key_lines(Path(recipe.source).read_text(encoding="utf-8"))
    return RecipeError([locate(path, message, recipe.source, lines, None)])
