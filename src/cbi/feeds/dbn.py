"""Databento's binary record layout, as the feed reads it (and the sandbox writes it)."""

from __future__ import annotations

import numpy as np

#: The DBN v2/v3 OHLCV record layout (56 bytes, little-endian), as `to_ndarray` gives it.
OHLCV_DTYPE = np.dtype([
    ("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"),
    ("ts_event", "<u8"), ("open", "<i8"), ("high", "<i8"), ("low", "<i8"), ("close", "<i8"),
    ("volume", "<u8"),
])
#: The record type of each OHLCV schema.
RTYPE = {"ohlcv-1m": 0x21, "ohlcv-1h": 0x22, "ohlcv-1d": 0x23}
