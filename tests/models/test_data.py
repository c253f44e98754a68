"""Reading training exports: metadata tolerated when absent, bad input named by file/row/field."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cbi.models.base import ModelError
from cbi.models.data import read_training
from tests.builders import FEATURE_HASH, real_bars, synthetic_bars, write_exports


def test_real_export_reads_with_metadata_and_null_targets_last(real_data, tmp_path):
    write_exports(real_bars(real_data / "ZL_daily_2004_2021.csv"), tmp_path, ["1m"])
    frame = read_training(tmp_path, "prod", "1m")
    assert frame.feature_hash == FEATURE_HASH and frame.meta["row_count"] == str(len(frame.rows))
    assert len(frame.unlabelled) == 21 and frame.unlabelled.index[0] == len(frame.rows) - 21
    assert "f_rsi_14" in frame.feature_columns and "f_macd_rel" in frame.feature_columns
    # Only allow-listed, stationary features: no price, volume or rate levels, no raw MACD.
    for level in ("databento_close", "databento_volume", "macd", "fred_fed_funds_rate", "f_macd"):
        assert level not in frame.feature_columns


def test_missing_metadata_is_tolerated(tmp_path):
    path = write_exports(synthetic_bars(300), tmp_path, ["1w"])["1w"]
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({}), path)
    assert read_training(tmp_path, "prod", "1w").feature_hash == FEATURE_HASH  # from the column


def test_bad_inputs_name_the_file_and_row(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        read_training(tmp_path, "prod", "1w")
    path = write_exports(synthetic_bars(300), tmp_path, ["1w"])["1w"]
    table = pq.read_table(path)
    closes = table.column("databento_close").to_pylist()
    closes[17] = -1.0
    i = table.schema.get_field_index("databento_close")
    pq.write_table(table.set_column(i, "databento_close", pa.array(closes)), path)
    with pytest.raises(ModelError, match=r"row 17 .*databento_close") as info:
        read_training(tmp_path, "prod", "1w")
    assert str(path) in str(info.value)
    path.write_bytes(b"not parquet")
    with pytest.raises(ModelError, match="not a readable Parquet"):
        read_training(tmp_path, "prod", "1w")
