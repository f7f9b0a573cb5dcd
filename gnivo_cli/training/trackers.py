"""Experiment trackers (`training.report_to`): transformers' integration callbacks, checked before the model
loads and guarded so that a tracker that fails (its server unreachable, its disk full) never loses the run.

gnivo's own numbers reach them through `MetricsWriter`, which adds them to each step's logs before the
trackers see them; the held-out evaluation adds its scores the same way (`gnivo_cli.training.held_out`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gnivo_cli.training import run_files

#: The pip package of each tracker, for the line that refuses a tracker that is not installed.
PIP_NAMES = {
    "azure_ml": "azureml-core",
    "comet_ml": "comet_ml",
    "dagshub": "dagshub mlflow",
    "flyte": "flytekit",
    "kubeflow": "kubeflow",
    "mlflow": "mlflow",
    "tensorboard": "tensorboard",
    "trackio": "trackio",
    "wandb": "wandb",
}
#: The trackers `pip install -e ".[tracking]"` brings.
EXTRA = ("tensorboard", "trackio")


def tracker_names(report_to: str | list[str]) -> list[str]:
    """The trackers a recipe names ("none": none; "all": every installed one)."""
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    if names == ["none"]:
        return []
    if names == ["all"]:
        from transformers.integrations.integration_utils import get_available_reporting_integrations

        return list(get_available_reporting_integrations())
    return names


def missing_trackers(names: list[str]) -> list[str]:
    """The named trackers whose package is not installed, as transformers checks them."""
    from transformers.integrations import integration_utils as integrations

    checks: dict[str, Callable[[], Any]] = {
        "azure_ml": integrations.is_azureml_available,
        "clearml": integrations.is_clearml_available,
        "codecarbon": integrations.is_codecarbon_available,
        "comet_ml": integrations.is_comet_available,
        "dagshub": integrations.is_dagshub_available,
        "dvclive": integrations.is_dvclive_available,
        "flyte": integrations.is_flytekit_available,
        "kubeflow": integrations.is_kubeflow_available,
        "mlflow": integrations.is_mlflow_available,
        "neptune": integrations.is_neptune_available,
        "swanlab": integrations.is_swanlab_available,
        "tensorboard": integrations.is_tensorboard_available,
        "trackio": integrations.is_trackio_available,
        "wandb": integrations.is_wandb_available,
    }
    return [name for name in names if name in checks and not checks[name]()]


def check_trackers(recipe: Any) -> None:
    """Refuse, before anything loads, a tracker that is named but not installed: one line with the pip command."""
    missing = missing_trackers(tracker_names(recipe.training.report_to))
    if not missing:
        return
    from gnivo_cli.recipe.loader import recipe_error_at

    packages = " ".join(PIP_NAMES.get(name, name) for name in missing)
    extra = ' (or pip install -e ".[tracking]")' if set(missing) <= set(EXTRA) else ""
    listed = ", ".join(missing)
    raise recipe_error_at(
        recipe,
        "training.report_to",
        f"{listed} {'is' if len(missing) == 1 else 'are'} not installed: pip install {packages}{extra}",
    )


def set_tracker_defaults(recipe: Any) -> None:
    """Name the project where a tracker reads it from the environment only (the user's setting wins)."""
    os.environ.setdefault("WANDB_PROJECT", recipe.training.project)
    os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", recipe.training.project)


class GuardedTracker(TrainerCallback):
    """One tracker's callback; the first error it raises switches it off, with one warning, and training goes on."""

    def __init__(self, inner: TrainerCallback, name: str, warn: Callable[[str], None]):
        self.inner = inner
        self.name = name
        self.warn = warn
        self.failed = False


def _guarded(event: str) -> Callable[..., Any]:
    def call(self: GuardedTracker, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.failed:
            return None
        try:
            return getattr(self.inner, event)(args, state, control, **kwargs)
        except Exception as error:
            self.failed = True
            detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            self.warn(
                f"tracker {self.name} failed ({type(error).__name__}: {detail}): it is switched off and training "
                f"goes on; {run_files.METRICS_FILE} keeps every value"
            )
            return None

    call.__name__ = event
    return call


for _event in [name for name in vars(TrainerCallback) if name.startswith("on_")]:
    setattr(GuardedTracker, _event, _guarded(_event))


def guard_trackers(trainer: Any, output_dir: Path, warn: Callable[[str], None] | None = None) -> list[GuardedTracker]:
    """Wrap the trainer's tracker callbacks in `GuardedTracker`, in place; TensorBoard writes to RUN/tensorboard
    (where a resumed run goes on in the same folder) unless TENSORBOARD_LOGGING_DIR says otherwise."""
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK, TensorBoardCallback

    by_class = {cls: name for name, cls in INTEGRATION_TO_CALLBACK.items()}
    callbacks = trainer.callback_handler.callbacks
    guarded = []
    for index, callback in enumerate(callbacks):
        name = by_class.get(type(callback))
        if name is None:
            continue
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(output_dir / run_files.TENSORBOARD_DIR)
        callbacks[index] = GuardedTracker(callback, name, warn or warn_user)
        guarded.append(callbacks[index])
    return guarded


def first_tracker_index(trainer: Any) -> int:
    """Where the first tracker sits in the callback list (the end when there is none): callbacks that add
    values to the logs go before it."""
    callbacks = trainer.callback_handler.callbacks
    return next((i for i, c in enumerate(callbacks) if isinstance(c, GuardedTracker)), len(callbacks))


def warn_user(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=2)
