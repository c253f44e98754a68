"""The model registry: `{models_dir}/{model}/{version}/` holds the model file and metadata.json.

The version is a hash of what determines the fit (model, horizon, surface, parameters,
seed, training rows), so the same data and seed always give the same version, and training
twice rewrites the same folder.

Current model per horizon (the rule `cbi predict` and the dashboard follow):
  1. candidates: for each model name, its most recently trained entry for that horizon
     and surface (older entries were judged on older data);
  2. eligible: candidates whose walk-forward coverage is within `coverage_tolerance` of
     `interval_level`; the current model is the eligible one with the lowest MASE;
  3. fallback when none is eligible: the candidate whose coverage is closest to the level
     (then the lowest MASE), flagged `eligible: false` so it shows it missed the rule.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cbi.config import HORIZONS, Settings
from cbi.models.base import BASELINES, Model, ModelError, model_class

METADATA = "metadata.json"


def model_version(model: str, horizon: str, surface: str, params: dict[str, Any],
                  data_fingerprint: str) -> str:
    content = json.dumps({"model": model, "horizon": horizon, "surface": surface,
                          "params": params, "data": data_fingerprint}, sort_keys=True)
    return f"{model}-{surface}-{horizon}-{hashlib.sha256(content.encode()).hexdigest()[:12]}"


def save_entry(settings: Settings, model: Model, metadata: dict[str, Any]) -> Path:
    """Write the model file, then metadata.json (with the file's sha256) atomically."""
    folder = Path(settings.models_dir) / model.name / metadata["model_version"]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (model.file_name + ".tmp")
    model.save(tmp)
    os.replace(tmp, folder / model.file_name)
    meta = {**metadata, "model_file": model.file_name,
            "model_sha256": _sha256(folder / model.file_name)}
    _write_json(folder / METADATA, meta)
    return folder


def _write_json(path: Path, value: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def list_entries(settings: Settings) -> list[dict[str, Any]]:
    """Every entry's metadata (plus its folder as `path`), oldest first."""
    out = []
    for meta_file in sorted(Path(settings.models_dir).glob(f"*/*/{METADATA}")):
        try:
            meta = json.loads(meta_file.read_text())
        except ValueError as exc:
            raise ModelError(f"{meta_file}: unreadable registry metadata ({exc})") from None
        out.append({**meta, "path": str(meta_file.parent)})
    return sorted(out, key=lambda m: (m.get("created_at", ""), m.get("model_version", "")))


def current_entries(settings: Settings, surface: str = "prod") -> dict[str, dict[str, Any]]:
    """Horizon -> the current entry by the rule in this module's docstring."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for meta in list_entries(settings):
        if meta.get("surface") == surface:
            latest[(meta["horizon"], meta["model_name"])] = meta  # oldest first: last wins
    out = {}
    for horizon in HORIZONS:
        candidates = [m for (h, _), m in latest.items() if h == horizon]
        if candidates:
            out[horizon] = _pick(candidates, settings)
    return out


def _pick(candidates: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    def miss(m: dict[str, Any]) -> float:
        cov = m["metrics"].get("coverage")
        return abs(cov - settings.interval_level) if cov is not None else float("inf")

    def mase(m: dict[str, Any]) -> float:
        value = m["metrics"].get("mase")
        return value if value is not None else float("inf")

    eligible = [m for m in candidates if miss(m) <= settings.coverage_tolerance + 1e-12]
    if eligible:
        best = min(eligible, key=lambda m: (mase(m), m["model_name"]))
        return {**best, "eligible": True}
    best = min(candidates, key=lambda m: (miss(m), mase(m), m["model_name"]))
    return {**best, "eligible": False}


def load_model(entry: dict[str, Any]) -> Model:
    """The entry's fitted model; a missing, altered or unreadable file is a ModelError."""
    path = Path(entry["path"]) / entry["model_file"]
    if not path.exists():
        raise ModelError(f"{path}: model file missing for {entry['model_version']}; retrain with `cbi train`")
    if _sha256(path) != entry.get("model_sha256"):
        raise ModelError(f"{path}: model file is corrupt (sha256 differs from metadata.json); "
                         "retrain with `cbi train`")
    return model_class(entry["model_name"]).load(path, entry.get("parameters", {}))


METRIC_KEYS = ("mase", "mae", "rmse", "directional_accuracy", "coverage", "interval_width", "pinball")


def metrics_table(settings: Settings, surface: str = "prod") -> list[dict[str, Any]]:
    """Walk-forward metrics per horizon and model, baselines included (for /api/metrics)."""
    current = current_entries(settings, surface)
    rows = []
    for horizon, chosen in current.items():
        latest = {m["model_name"]: m for m in list_entries(settings)
                  if m.get("surface") == surface and m["horizon"] == horizon}
        for name, meta in sorted(latest.items()):
            rows.append(_metric_row(horizon, name, meta["metrics"],
                                    meta["model_version"] == chosen["model_version"]))
        for name in BASELINES:
            rows.append(_metric_row(horizon, name, chosen.get("baselines", {}).get(name, {}), False))
    return rows


def _metric_row(horizon: str, model: str, values: dict[str, Any], is_current: bool) -> dict[str, Any]:
    return {"horizon": horizon, "model": model, **{k: values.get(k) for k in METRIC_KEYS},
            "is_current": is_current}


#: The served forecaster's record per surface and horizon (what `cbi predict` serves now),
#: rewritten by every `cbi train`: `{models_dir}/_served/{surface}_{horizon}.json`.
SERVED_DIR = "_served"


def served_path(settings: Settings, surface: str, horizon: str) -> Path:
    return Path(settings.models_dir) / SERVED_DIR / f"{surface}_{horizon}.json"


def save_served(settings: Settings, record: dict[str, Any]) -> Path:
    path = served_path(settings, record["surface"], record["horizon"])
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, record)
    return path


def served_entries(settings: Settings, surface: str = "prod") -> dict[str, dict[str, Any]]:
    """Horizon -> the served record (absent for horizons never trained with served)."""
    out = {}
    for horizon in HORIZONS:
        path = served_path(settings, surface, horizon)
        if path.exists():
            try:
                out[horizon] = json.loads(path.read_text())
            except ValueError as exc:
                raise ModelError(f"{path}: unreadable served record ({exc})") from None
    return out


def entry_by_version(settings: Settings, version: str) -> dict[str, Any]:
    for meta in list_entries(settings):
        if meta.get("model_version") == version:
            return meta
    raise ModelError(f"registry {settings.models_dir}: no entry {version}; retrain with `cbi train`")
