"""YAML recipes -> a typed, validated `Recipe`.

Everything is checked before any model loads: unknown keys, wrong types, impossible combinations.
Each problem becomes one line naming the file, its line and the dotted key path, e.g.
`recipes/math.yaml:14: algorithm.alpha: must be > 0, got 0`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gnivo_cli.algorithms import ALGORITHMS, OWNED_KEYS, unknown_algorithm
from gnivo_cli.errors import RecipeError
from gnivo_cli.recipe_yaml import RecipeLoader, StrictYAMLError, key_lines, parse_yaml
from gnivo_cli.schema import bounds, matches_type, type_problem, value_problem


@dataclass(frozen=True)
class ModelSection:
    # hub id, local directory, or the embedded SmolLM2-135M-Instruct
    name: str = field(default="embedded", metadata=bounds(nonempty=True))
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    trust_remote_code: bool = False


@dataclass(frozen=True)
class LoraSection:
    enabled: bool = False
    r: int = field(default=16, metadata=bounds(ge=1))
    alpha: int = field(default=32, metadata=bounds(ge=1))  # LoRA's scale is alpha / r: 0 would train nothing
    dropout: float = field(default=0.05, metadata=bounds(ge=0, lt=1))
    target_modules: str | list[str] = field(default="all-linear", metadata=bounds(nonempty=True))


@dataclass(frozen=True)
class DataSection:
    # synthetic:NAME, a .jsonl/.json path, or a Hugging Face dataset id
    source: str = field(default="synthetic:arithmetic", metadata=bounds(nonempty=True))
    split: str = field(default="train", metadata=bounds(nonempty=True))
    config: str | None = None  # the Hugging Face dataset config name, where it has several
    prompt_column: str = field(default="problem", metadata=bounds(nonempty=True))
    # `{prompt}` is the prompt column; other `{column}` names also work
    prompt_template: str = field(default="{prompt}", metadata=bounds(nonempty=True))
    system_prompt: str | None = None
    limit: int | None = field(default=None, metadata=bounds(ge=1))
    synthetic: dict[str, Any] = field(default_factory=dict)  # parameters of a synthetic task


@dataclass(frozen=True)
class RewardSpec:
    name: str
    weight: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    on_error: Literal["raise", "skip"] = "raise"  # "skip": a sample whose scoring raises gets None, counted


@dataclass(frozen=True)
class AlgorithmSection:
    name: str = "gnivo"  # a key of gnivo_cli.algorithms.ALGORITHMS
    num_generations: int = 4  # K responses per prompt
    beta: float = 0.0  # KL penalty to the initial model; 0 loads no reference model
    num_iterations: int = 1  # optimizer passes per generation batch (pi_old fixed across them)
    alpha: float = 0.2
    prefix: Literal["final", "sample", "all"] = "all"
    unit: Literal["token", "step"] = "token"
    step_separator: str = "\n\n"
    weights: Literal["normalized", "exp"] = "normalized"


@dataclass(frozen=True)
class GenerationSection:
    max_new_tokens: int = field(default=128, metadata=bounds(ge=1))
    temperature: float = field(default=1.0, metadata=bounds(gt=0))
    top_p: float = field(default=1.0, metadata=bounds(gt=0, le=1))
    top_k: int = field(default=0, metadata=bounds(ge=0))  # 0 keeps every token
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"


@dataclass(frozen=True)
class TrainingSection:
    learning_rate: float = field(default=1.0e-5, metadata=bounds(gt=0))
    max_steps: int = field(default=100, metadata=bounds(ge=1))
    per_device_batch_size: int = field(default=8, metadata=bounds(ge=1))  # completions per micro-batch: a multiple of K
    gradient_accumulation_steps: int = field(default=1, metadata=bounds(ge=1))
    seed: int = field(default=0, metadata=bounds(ge=0, lt=2**32))  # numpy's seeds are 32-bit unsigned
    output_dir: str = field(default="runs/gnivo", metadata=bounds(nonempty=True))
    save_steps: int = field(default=50, metadata=bounds(ge=1))
    lr_scheduler: Literal["constant", "linear", "cosine", "constant_with_warmup"] = "constant"
    warmup_steps: int = field(default=0, metadata=bounds(ge=0))
    weight_decay: float = field(default=0.0, metadata=bounds(ge=0))
    # transformers silently turns clipping off at <= 0
    max_grad_norm: float = field(default=1.0, metadata=bounds(gt=0))
    bf16: bool = False
    gradient_checkpointing: bool = False
    log_completions: bool = False


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
        data = path.read_bytes()
    except OSError as error:
        raise RecipeError([f"cannot read recipe: {error.strerror or error}"], source=str(path)) from None
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
    return recipe_from_dict(raw, source=str(path), lines=lines, overridden=_override_keys(overrides or []))


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
    if problems:
        raise RecipeError([_locate(path, message, source, lines, overridden) for path, message in problems])
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
        elif not matches_type(item, hints[key]):
            problems.append((key_path, type_problem(item, hints[key])))
        elif (problem := value_problem(item, hints[key], fields[key])) is not None:
            problems.append((key_path, problem))
        else:
            kwargs[key] = item
    return cls(**kwargs)


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
    check(k >= 2, "algorithm.num_generations", f"must be >= 2 (a group needs two responses to compare), got {k}")
    check(algo.beta >= 0, "algorithm.beta", f"must be >= 0, got {algo.beta}")
    check(algo.num_iterations >= 1, "algorithm.num_iterations", f"must be >= 1, got {algo.num_iterations}")
    problems.extend(_algorithm_checks(algo, explicit_algorithm_keys))
    batch = train.per_device_batch_size
    if k >= 2:
        check(
            batch % k == 0,
            "training.per_device_batch_size",
            f"must be a multiple of algorithm.num_generations ({k}) so every group meets in one loss call, got {batch}",
        )
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
    from gnivo_cli.data import data_problems, known_row_count, size_problem

    problems.extend(data_problems(recipe.data))
    rows = known_row_count(recipe.data)
    if not problems and rows is not None and (problem := size_problem(rows, recipe)):
        problems.append(("data.limit" if recipe.data.limit == rows else "data.source", problem))
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
    if "alpha" in spec.owns and algo.alpha <= 0:
        problems.append(("algorithm.alpha", f"must be > 0, got {algo.alpha}"))
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


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides; values are parsed as YAML (`0.1`, `true`, `[1, 2]`, `null`)."""
    import copy

    result = copy.deepcopy(raw)
    for override in overrides:
        key, sep, text = override.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError([f"--set {override!r}: expected key.path=value"])
        try:
            value = yaml.load(text, Loader=RecipeLoader)  # a SafeLoader
        except StrictYAMLError as error:
            raise RecipeError([f"--set {override!r}: {error.problem}"]) from None
        except yaml.YAMLError:
            value = text  # an unparsable value is taken as a plain string; type checks follow
        _set_path(result, key, value, override)
    return result


def _set_path(tree: dict[str, Any], key: str, value: Any, override: str) -> None:
    parts = key.split(".")
    node: Any = tree
    for depth, part in enumerate(parts[:-1]):
        child = _child(node, part)
        if child is None:
            child = {}
            _assign(node, part, child, override)
        elif not isinstance(child, dict | list):
            where = ".".join(parts[: depth + 1])
            raise RecipeError([f"--set {override!r}: {where} is a value, not a section"])
        node = child
    _assign(node, parts[-1], value, override)


def _child(node: Any, part: str) -> Any:
    if isinstance(node, list):
        return node[int(part)] if part.isdigit() and int(part) < len(node) else None
    return node.get(part)


def _assign(node: Any, part: str, value: Any, override: str) -> None:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise RecipeError([f"--set {override!r}: no list item {part!r}"])
        node[int(part)] = value
    else:
        node[part] = value


def _override_keys(overrides: list[str]) -> set[str]:
    return {o.partition("=")[0].strip() for o in overrides}


def _unknown(key: Any, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
    return f"unknown key{hint}"


def recipe_error_at(recipe: Recipe, path: str, message: str) -> RecipeError:
    """A `RecipeError` for one key of an already validated recipe, located in its file like load errors."""
    lines: dict[str, int] = {}
    if recipe.source:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = key_lines(Path(recipe.source).read_text(encoding="utf-8"))
    return RecipeError([_locate(path, message, recipe.source, lines, None)])


def _locate(
    path: str, message: str, source: str | None, lines: dict[str, int] | None, overridden: set[str] | None
) -> str:
    if overridden and any(path == key or path.startswith(key + ".") for key in overridden):
        return f"--set {path}: {message}"
    line = _nearest_line(path, lines or {})
    where = f"{source}:{line}" if source and line else source
    return f"{where}: {path}: {message}" if where else f"{path}: {message}"


def _nearest_line(path: str, lines: dict[str, int]) -> int | None:
    parts = path.split(".")
    while parts:
        line = lines.get(".".join(parts))
        if line:
            return line
        parts.pop()
    return None
