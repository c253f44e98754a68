"""Databento's binary records (DBN): the OHLCV layout (which the sandbox also writes), the
decoder (optionally zstd), the symbol mappings, and records -> Arrow rows. Prices are
int64 x 1e-9; an undefined price is int64's maximum."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Mapping

import databento_dbn as dbn
import numpy as np
import pyarrow as pa
import zstandard

from cbi.feeds.validate import _CONTRACT, BarError, root_of

UTC = dt.timezone.utc
UNDEF_PRICE = 2**63 - 1  # DBN's undefined price
UNDEF_TS = 2**64 - 1  # DBN's undefined timestamp
OHLCV_RTYPES = (0x20, 0x21, 0x22, 0x23)

#: The DBN v2/v3 OHLCV record layout (56 bytes, little-endian), as `to_ndarray` gives it.
OHLCV_DTYPE = np.dtype([
    ("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"),
    ("ts_event", "<u8"), ("open", "<i8"), ("high", "<i8"), ("low", "<i8"), ("close", "<i8"),
    ("volume", "<u8"),
])
#: The record type of each OHLCV schema.
RTYPE = {"ohlcv-1m": 0x21, "ohlcv-1h": 0x22, "ohlcv-1d": 0x23}

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def decode_dbn(raw: bytes, source: str = "DBN data") -> tuple[dbn.Metadata, np.ndarray]:
    """DBN (optionally zstd) -> (metadata, OHLCV records). Fast path: the records are read
    in place as a numpy view; anything but a pure OHLCV stream goes through the decoder.
    A stream that ends mid-record (or mid-frame), or a corrupt frame, is refused whole."""
    if raw[:4] == ZSTD_MAGIC:  # zstd frame magic; batch files may hold several frames
        raw = unzstd(raw, source)
    if raw[:3] != b"DBN":
        raise BarError(f"{source}: byte 0, field header: not DBN data (rule: a DBN stream starts "
                       "with 'DBN'); refused whole, nothing written")
    header_end = 8 + int.from_bytes(raw[4:8], "little") if len(raw) >= 8 else len(raw) + 1
    if header_end > len(raw):
        raise BarError(f"{source}: byte {len(raw)}, field metadata: the stream ends inside its "
                       "metadata (rule: whole records only); refused whole, nothing written")
    try:
        metadata = dbn.Metadata.decode(raw[:header_end], dbn.VersionUpgradePolicy.UPGRADE_TO_V3)
    except Exception as exc:  # noqa: BLE001 - the decoder's errors are not typed
        raise BarError(f"{source}: byte 8, field metadata: not decodable ({_first_line(exc)}); "
                       "refused whole, nothing written") from None
    body = memoryview(raw)[header_end:]
    if len(body) % OHLCV_DTYPE.itemsize == 0:
        records = np.frombuffer(body, OHLCV_DTYPE)
        if np.all(records["length"] == 14) and np.isin(records["rtype"], OHLCV_RTYPES).all():
            return metadata, records
    _whole_records(body, header_end, source)
    try:
        return metadata, _decode_slow(raw)
    except Exception as exc:  # noqa: BLE001
        raise BarError(f"{source}: field record: not decodable ({_first_line(exc)}); refused "
                       "whole, nothing written") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def unzstd(raw: bytes, source: str) -> bytes:
    """Every zstd frame of `raw`, decompressed; a frame cut short or corrupt is refused."""
    return ZstdReader(io.BytesIO(raw), source, chunk=max(len(raw), 1)).read()


class ZstdReader:
    """A file-like reader of every zstd frame of `fh`, decompressed as it is read. A frame
    cut short or corrupt raises BarError naming `source` and the frame (zstandard's own
    `stream_reader` stops silently at a truncated frame: part of a file would pass)."""

    def __init__(self, fh: Any, source: str, chunk: int = 1 << 20) -> None:
        self.fh, self.source, self.chunk = fh, source, chunk
        self.buffer, self.pending, self.frame = bytearray(), b"", 1
        self.decoder = zstandard.ZstdDecompressor().decompressobj()
        self.in_frame = self.done = False

    def _fill(self) -> None:
        data, self.pending = self.pending or self.fh.read(self.chunk), b""
        if not data:
            if self.in_frame:
                raise BarError(f"{self.source}: zstd frame {self.frame}, field data: the stream ends "
                               "mid-frame (rule: whole zstd frames); refused whole, nothing written")
            self.done = True
            return
        try:
            self.buffer += self.decoder.decompress(data)
        except zstandard.ZstdError as exc:
            raise BarError(f"{self.source}: zstd frame {self.frame}, field data: corrupt "
                           f"({_first_line(exc)}; rule: whole zstd frames); refused whole, "
                           "nothing written") from None
        self.in_frame = not self.decoder.eof
        if self.decoder.eof:
            self.pending = self.decoder.unused_data
            self.decoder = zstandard.ZstdDecompressor().decompressobj()
            self.frame += 1

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self.buffer) < n) and not self.done:
            self._fill()
        if n < 0:
            n = len(self.buffer)
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out


def _whole_records(body: memoryview, header_end: int, source: str) -> None:
    """Walk the records by their length byte: the last must end where the stream ends."""
    data, offset, n = bytes(body), 0, 0
    while offset < len(data):
        n += 1
        length = data[offset] * 4
        if length == 0 or offset + length > len(data):
            raise BarError(f"{source}: record {n} (byte {header_end + offset}), field length: the "
                           f"stream ends mid-record ({len(data) - offset} of {length} bytes; rule: "
                           "whole records only); refused whole, nothing written")
        offset += length


def _decode_slow(raw: bytes) -> np.ndarray:
    decoder = dbn.DBNDecoder(upgrade_policy=dbn.VersionUpgradePolicy.UPGRADE_TO_V3)
    decoder.write(raw)
    return records_array([r for r in decoder.decode() if isinstance(r, dbn.OHLCVMsg)])


def records_array(records: list[Any]) -> np.ndarray:
    out = np.zeros(len(records), OHLCV_DTYPE)
    for name in ("instrument_id", "ts_event", "open", "high", "low", "close", "volume"):
        out[name] = [getattr(r, name) for r in records]
    return out


def symbol_map(metadata: dbn.Metadata, default_root: str | None = None) -> dict[int, tuple[str, str | None]]:
    """instrument_id -> (raw symbol, root) from the metadata's mappings (keyed by raw symbol)."""
    out: dict[int, tuple[str, str | None]] = {}
    for raw_symbol, intervals in metadata.mappings.items():
        for interval in intervals:
            if interval["symbol"].isdigit():
                out[int(interval["symbol"])] = (raw_symbol, default_root or _root_or_none(raw_symbol))
    return out


def _root_or_none(symbol: str) -> str | None:
    """The root of a mapped symbol; None when it does not parse (validation then names it)."""
    try:
        return root_of(symbol)
    except BarError:
        return None


def is_contract(symbol: str) -> bool:
    """True for one contract month (ZLH5), False for a root alone (a vendor continuous series)."""
    return bool(_CONTRACT.match(symbol.strip().upper().split("-")[0]))



def to_arrow(records: np.ndarray, symbols: Mapping[int, tuple[str, str | None]],
             source: str = "databento") -> pa.Table:
    """OHLCV records -> rows of databento_futures_ohlcv_1m (UTC, float prices, int volume);
    `source` says where they came from ('databento', 'sandbox' or 'file')."""
    ids = records["instrument_id"].astype(np.int64)
    known = np.array(sorted(symbols), dtype=np.int64)
    pos = np.searchsorted(known, ids)
    pos_ok = pos < len(known)
    found = pos_ok & (known[np.minimum(pos, max(len(known) - 1, 0))] == ids) if len(known) else pos_ok
    index = pa.array(np.where(found, pos, 0), mask=~found)
    names = pa.array([symbols[i][0] for i in known], pa.string())
    roots = pa.array([symbols[i][1] for i in known], pa.string())
    ts = records["ts_event"]
    undefined_ts = ts == np.iinfo(np.uint64).max
    now = dt.datetime.now(UTC)
    columns = {
        "ts_event": pa.array((ts // 1000).astype(np.int64), pa.int64(), mask=undefined_ts)
        .cast(pa.timestamp("us", tz="UTC")),
        "root": roots.take(index), "symbol": names.take(index),
        "instrument_id": pa.array(ids),
    }
    for name in ("open", "high", "low", "close"):
        raw = records[name]
        columns[name] = pa.array(np.where(raw == np.iinfo(np.int64).max, np.nan, raw * 1e-9))
    columns["volume"] = pa.array(records["volume"].astype(np.int64))
    columns["source"] = pa.array([source] * len(records), pa.string())
    columns["ingest_timestamp"] = pa.array(np.full(len(records), np.datetime64(now.replace(tzinfo=None), "us")),
                                           pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    return pa.table(columns)

