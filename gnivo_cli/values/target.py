"""What `gnivo values MODEL_OR_RUN` reads: the policy, the reference it is compared against, and from a run's
recipe the scale (α), the step unit, the rewards and the generation settings.

- a gnivo run directory (it holds recipe.yaml): its `final/` model, or a `RUN/checkpoint-N` of it; the
  reference is the same loaded model with its LoRA adapter disabled, or the recipe's `model.name`;
- a LoRA adapter folder: the reference is its base model (the adapter disabled, one load);
- any other model: `--ref MODEL` names the reference, or there is none to compare against (an error).

Reads files only (no torch), so a bad target fails before any model loads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gnivo_cli.algorithms.table import ALGORITHMS
from gnivo_cli.errors import GnivoError
from gnivo_cli.recipe.sections import AlgorithmSection, DataSection, GenerationSection, ModelSection, RewardSpec
from gnivo_cli.training import run_files

#: The reference is the policy's own base: the same loaded model with the adapter disabled.
ADAPTER_DISABLED = "adapter-disabled"
Unit = Literal["step", "token"]


@dataclass(frozen=True)
class ValueTarget:
    """The policy and its reference, and how to read their log-ratio."""

    policy: str  # a model reference `load_causal_lm` accepts
    reference: str  # ADAPTER_DISABLED, or a model reference
    label: str  # MODEL_OR_RUN as given
    scale: float = 1.0  # values are scale · log π_θ/π_ref
    scale_note: str = "log π_θ/π_ref in nats (no α given)"
    unit: Unit = "step"
    separator: str = "\n\n"
    run_dir: Path | None = None
    algorithm: str | None = None
    rewards: list[RewardSpec] = field(default_factory=list)
    data: DataSection = field(default_factory=DataSection)
    generation: GenerationSection = field(default_factory=GenerationSection)

    @property
    def reference_label(self) -> str:
        return f"{self.policy} with its adapter disabled" if self.reference == ADAPTER_DISABLED else self.reference

    def describe(self) -> dict[str, Any]:
        """The target as plain data, for JSON and the page."""
        return {
            "model": self.label,
            "policy": self.policy,
            "reference": self.reference_label,
            "run": str(self.run_dir) if self.run_dir else None,
            "algorithm": self.algorithm,
            "scale": self.scale,
            "scale_note": self.scale_note,
            "unit": self.unit,
            "step_separator": self.separator,
            "rewards": [dataclasses.asdict(spec) for spec in self.rewards],
        }


def run_directory(path: Path) -> tuple[Path, Path | None] | None:
    """(run dir, checkpoint or None) when `path` is a gnivo run or one of its checkpoints, else None."""
    if (path / run_files.RECIPE_FILE).is_file():
        return path, None
    if run_files.checkpoint_step(path) is not None and (path.parent / run_files.RECIPE_FILE).is_file():
        return path.parent, path
    return None


def resolve_target(
    model: str,
    *,
    ref: str | None = None,
    unit: Unit | None = None,
    separator: str | None = None,
    alpha: float | None = None,
) -> ValueTarget:
    """Where the policy and its reference are, and how to read them; a `GnivoError` names what is missing."""
    from gnivo_cli.models.loading import is_adapter, resolve_model

    if alpha is not None and not alpha > 0:
        raise GnivoError(f"--alpha must be > 0, got {alpha}")
    if separator is not None and not separator:
        raise GnivoError("--separator must not be empty")
    path = Path(model).expanduser()
    found = run_directory(path) if path.is_dir() else None
    if found is None:
        policy = resolve_model(model)
        if ref is None and not is_adapter(policy):
            raise GnivoError(
                f"{model}: no reference to compare against: it is not a gnivo run or a LoRA adapter; "
                "pass --ref MODEL, the model it was trained from"
            )
        scale, note = _scale(alpha, None)
        return ValueTarget(
            policy=policy,
            reference=ref if ref is not None else ADAPTER_DISABLED,
            label=model,
            scale=scale,
            scale_note=note,
            unit=unit or "step",
            separator=separator or "\n\n",
        )
    run, checkpoint = found
    policy_dir = checkpoint or run / run_files.FINAL_DIR
    if not policy_dir.is_dir():
        saved = run_files.checkpoints(run)
        hint = f"; pass one of its checkpoints instead, e.g. {saved[-1]}" if saved else " and no checkpoint"
        raise GnivoError(f"{run}: the run has no final model ({run_files.FINAL_DIR}/): it has not finished{hint}")
    recipe = run_files.read_recipe(run, why="gnivo values reads the run's algorithm and rewards from it") or {}
    sections = _sections(recipe, run)
    algorithm: AlgorithmSection = sections["algorithm"]
    owns = ALGORITHMS[algorithm.name].owns if algorithm.name in ALGORITHMS else ()
    if ref is None and not is_adapter(str(policy_dir)):
        ref = sections["model"].name
        if ref.startswith((".", "/", "~")) and not Path(ref).expanduser().exists():
            raise GnivoError(
                f"{run}: its reference model {ref!r} (model.name in {run / run_files.RECIPE_FILE}) is not found "
                "from here; pass --ref MODEL"
            )
    scale, note = _scale(alpha, algorithm.alpha if "alpha" in owns else None)
    return ValueTarget(
        policy=str(policy_dir),
        reference=ref if ref is not None else ADAPTER_DISABLED,
        label=model,
        scale=scale,
        scale_note=note,
        unit=unit or (algorithm.unit if "unit" in owns else "step"),
        separator=separator or (algorithm.step_separator if "step_separator" in owns else "\n\n"),
        run_dir=run,
        algorithm=algorithm.name,
        rewards=sections["rewards"],
        data=sections["data"],
        generation=sections["generation"],
    )


def _scale(alpha: float | None, recipe_alpha: float | None) -> tuple[float, str]:
    if alpha is not None:
        return alpha, f"α·log π_θ/π_ref with α = {alpha:g} (--alpha), in reward units"
    if recipe_alpha is not None:
        return recipe_alpha, f"α·log π_θ/π_ref with the run's α = {recipe_alpha:g}, in reward units"
    return 1.0, "log π_θ/π_ref in nats (the algorithm has no α; --alpha sets one)"


_SECTIONS = {"model": ModelSection, "algorithm": AlgorithmSection, "data": DataSection, "generation": GenerationSection}


def _sections(recipe: dict[str, Any], run: Path) -> dict[str, Any]:
    """The recipe sections `gnivo values` reads, keys unknown to this version ignored (a run recorded by
    another version still reads), without the checks that need its data or model on this machine."""
    where = run / run_files.RECIPE_FILE
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        raw = recipe.get(name) or {}
        if not isinstance(raw, dict):
            raise GnivoError(f"{where}: {name} must be a mapping")
        known = {f.name for f in dataclasses.fields(cls)}
        sections[name] = cls(**{key: value for key, value in raw.items() if key in known})
    specs = []
    for index, item in enumerate(recipe.get("rewards") or []):
        item = {"name": item} if isinstance(item, str) else item
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise GnivoError(f"{where}: rewards.{index} must be a reward name or a mapping with a name")
        known = {f.name for f in dataclasses.fields(RewardSpec)}
        spec = RewardSpec(**{key: value for key, value in item.items() if key in known})
        specs.append(dataclasses.replace(spec, params=spec.params or {}))
    sections["rewards"] = specs
    return sections
