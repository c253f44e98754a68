"""Training exports built from synthetic bars (known truth) and from the real ZL bars."""

from __future__ import annotations

import pytest

from cbi.config import Settings
from tests.builders import synthetic_bars, write_exports

#: Small walk-forward for tests: a short first window, few refits.
FAST = {"min_train_rows": 250}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(export_dir=tmp_path / "exports", models_dir=tmp_path / "Models" / "local",
                    warehouse=f"duckdb:///{tmp_path}/train.duckdb", retrain_every_days=126,
                    horizons=["1w", "1m"])


@pytest.fixture
def synthetic_exports(settings):
    """~4 years of a random walk (unpredictable returns, known 90% quantiles), 1w and 1m."""
    return write_exports(synthetic_bars(1000, seed=3), settings.export_dir, ["1w", "1m"])
