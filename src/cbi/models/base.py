"""The Model seam: a learner of `target_log_return` from feature rows.

A model is fit on a float matrix (NaN allowed: missing features), predicts log returns, and
saves to / loads from one file. Prices come from the origin close, never from the model.
Adding a learner is one module and one line in `MODELS`.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np


class ModelError(RuntimeError):
    """A model cannot be trained, found or loaded; the message says which file and why."""


class Model(Protocol):
    name: ClassVar[str]
    file_name: ClassVar[str]  # the model file inside a registry version folder
    params: dict[str, Any]

    def __init__(self, seed: int = ..., params: dict[str, Any] | None = None) -> None: ...

    def fit(self, features: np.ndarray, target: np.ndarray) -> Model: ...

    def predict(self, features: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path, params: dict[str, Any]) -> Model: ...


#: model name -> "module:class". One registration line per learner.
MODELS: dict[str, str] = {
    "tree": "cbi.models.tree:TreeModel",
    "neural": "cbi.models.neural:NeuralModel",
}
#: Reference forecasts reported beside the models (computed in `evaluate`, never saved).
BASELINES: tuple[str, ...] = ("random_walk", "drift")


def model_class(name: str) -> type[Model]:
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}; models: {', '.join(MODELS)}")
    module, cls = MODELS[name].split(":")
    return getattr(import_module(module), cls)


def make_model(name: str, seed: int) -> Model:
    """A fresh, unfitted model with its default parameters and `seed`."""
    return model_class(name)(seed=seed)


def model_names(choice: str | None) -> list[str]:
    """`all`/None -> every registered model; otherwise the one named (checked)."""
    if choice is None or choice == "all":
        return list(MODELS)
    model_class(choice)
    return [choice]
