"""`tree`: LightGBM gradient boosting on the feature rows.

Few, shallow trees on one thread: walk-forward refits hundreds of times, and daily
returns hold little signal, so a small, strongly regularised ensemble is both fast and
less prone to chasing noise. One thread, because on ~4,000 rows a second OpenMP thread
saves little, and on a shared machine it spin-waits for a busy core: measured on the
2-core bench machine under load, a fit took 64–780 ms on two threads, 27–41 ms on one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np

from cbi.models.base import ModelError

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "l2",
    "learning_rate": 0.03,
    "num_boost_round": 60,
    "num_leaves": 7,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "num_threads": 1,
    # Start from a forecast of no change, not the training mean: the historical drift is
    # a worse forecast than no change (see the baselines), so the trees shrink toward 0.
    "boost_from_average": False,
}


class TreeModel:
    name: ClassVar[str] = "tree"
    file_name: ClassVar[str] = "model.lgb.txt"

    def __init__(self, seed: int = 42, params: dict[str, Any] | None = None) -> None:
        self.params = {**DEFAULT_PARAMS, **(params or {}), "seed": seed}
        self.booster: lgb.Booster | None = None

    def _train_params(self) -> dict[str, Any]:
        # deterministic + force_col_wise: same data and seed give the same trees on any run.
        extra = {"verbose": -1, "deterministic": True, "force_col_wise": True}
        return {k: v for k, v in self.params.items() if k != "num_boost_round"} | extra

    def fit(self, features: np.ndarray, target: np.ndarray) -> TreeModel:
        params = self._train_params()
        data = lgb.Dataset(features, target, params={"max_bin": params["max_bin"], "verbose": -1})
        self.booster = lgb.train(params, data, num_boost_round=int(self.params["num_boost_round"]))
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.booster is None:
            raise ModelError("tree model is not fitted")
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=float)

    def save(self, path: Path) -> None:
        if self.booster is None:
            raise ModelError("tree model is not fitted")
        self.booster.save_model(str(path))

    @classmethod
    def load(cls, path: Path, params: dict[str, Any]) -> TreeModel:
        model = cls(seed=int(params.get("seed", 42)), params=params)
        try:
            model.booster = lgb.Booster(model_file=str(path))
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"{path}: not a readable LightGBM model ({exc})") from None
        return model
