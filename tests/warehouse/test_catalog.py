"""The catalogue owns the names: templates expand per surface and horizon, accessors name
the tables and exports, retention rules come from the DDL headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbi.config import HORIZONS, NEVER_EXPIRE, SURFACES
from cbi.warehouse import catalog


def test_one_template_file_gives_every_surface_and_horizon():
    for kind, named in (("predictions", catalog.predictions_table), ("backtest", catalog.backtest_table)):
        sources = {catalog.table(named(s, h)).source for s in SURFACES for h in HORIZONS}
        assert sources == {f"predictions/zl_{kind}_allhistory.sql"}
    spec = catalog.table(catalog.backtest_table("full", "1w"))
    assert "full surface, horizon 1w" in spec.description and "{" not in spec.ddl


def test_accessors_name_the_catalogued_tables_and_exports():
    assert catalog.training_table("prod", "12m") == "training.zl_training_prod_allhistory_12m"
    assert catalog.predictions_table("full", "3m") == "predictions.zl_predictions_full_allhistory_3m"
    assert catalog.export_path("/x", "prod", "1w") == Path("/x/zl_training_prod_allhistory_1w.parquet")
    with pytest.raises(KeyError, match="unknown table 'predictions.zl_backtest_beta_allhistory_1w'"):
        catalog.backtest_table("beta", "1w")


def test_retention_rules_come_from_the_headers():
    never = catalog.never_expire()
    assert NEVER_EXPIRE <= never  # the settings' early refusal agrees with the DDL
    assert {s.fqn for s in catalog.all_tables() if s.dataset in ("training", "predictions")
            and not s.is_view} <= never
    minutes = catalog.table("market_data.databento_futures_ohlcv_1m")
    assert (minutes.retention, minutes.rolled_up_into) == ("after roll-up", "market_data.futures_ohlcv_1d")
    assert catalog.table("ops.alerts").retention == ""


def test_an_unknown_retention_rule_is_refused():
    ddl = "-- key: a\n-- retention: someday\nCREATE TABLE ops.x (a STRING)"
    with pytest.raises(ValueError, match="ops/x.sql: unknown retention rule 'someday'"):
        catalog._parse(ddl, "ops/x.sql")
