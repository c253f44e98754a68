"""`cbi train`, `cbi predict`, `cbi models list` and `cbi models report`, registered by `cbi.cli`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import typer

from cbi.errors import EXIT_SKIPPED

if TYPE_CHECKING:
    from cbi.config import Settings

models_app = typer.Typer(help="The model registry.", no_args_is_help=True)

HORIZON_HELP = "Horizon(s): 1w, 1m, 3m, 6m, 12m, or all (repeatable)."
#: Exit status of `cbi train` / `cbi predict` when some horizons were skipped (too little
#: history, or no model) and the others succeeded.
SKIPPED_EXIT = EXIT_SKIPPED


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `cbi` app."""
    app.command("train")(train_cmd)
    app.command("predict")(predict_cmd)
    models_app.command("list")(list_cmd)
    models_app.command("report")(report_cmd)
    app.add_typer(models_app, name="models")


def train_cmd(
    model: str = typer.Option("all", "--model", help="tree | neural | all"),
    horizon: list[str] = typer.Option(["all"], "--horizon", help=HORIZON_HELP),
    surface: str = typer.Option("prod", "--surface", help="prod | full"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
) -> None:
    """Walk-forward evaluate and train models per horizon; register them; backtest to the warehouse."""
    from cbi.config import get_settings
    from cbi.console import check_format, console, open_warehouse, print_json, print_records
    from cbi.models.train import train_job

    fmt = check_format(fmt)
    settings = get_settings()
    with open_warehouse() as wh, _train_progress(model, horizon, settings) as on_fold:
        result = train_job(wh, settings, model=model, horizons=horizon, surface=surface,
                           progress=on_fold)
    if fmt == "json":
        print_json({**result, "results": result_rows(result)})
    elif fmt == "csv":
        print_records(result_rows(result), "csv")
    else:
        console.print(results_table(result, settings.interval_level))
        for horizon, served in result.get("served", {}).items():
            console.print(f"{horizon}: serves {served['served_by']} ({served['model_version']})")
        for message in result.get("skipped", {}).values():
            console.print(f"[yellow]{message}[/yellow]")
        console.print(f"{result['rows_written']} backtest and report row(s) merged; "
                      f"registry: {settings.models_dir}")
    if result.get("skipped"):
        if fmt != "table":  # the table says it above; with records, stderr says it
            from cbi.console import info

            for message in result["skipped"].values():
                info(message)
        raise typer.Exit(SKIPPED_EXIT)


@contextmanager
def _train_progress(model: str, horizon: list[str], settings: Settings) -> Iterator[Any]:
    """Progress on stderr: models trained of all (horizon × model), and per model its
    walk-forward folds. Yields train_job's `progress(task, done, total)`. Bad --model or
    --horizon values pass through: train_job refuses them, naming the value."""
    from cbi.console import progress
    from cbi.models.base import ModelError, model_names
    from cbi.models.train import pick_horizons

    try:  # kept: only to size the bar; train_job itself refuses a bad value, naming it
        total = len(pick_horizons(horizon, settings)) * len(model_names(model))
    except (ValueError, ModelError):
        total = None
    tasks: dict[str, Any] = {}
    with progress("train", total=total) as bar:
        def on_fold(task: str, done: int, folds: int) -> None:
            if task not in tasks:
                tasks[task] = bar.sub(f"  walk-forward {task}", folds)
            tasks[task].update(done, total=folds)
            if done >= folds:
                bar.step(f"{task} done")

        yield on_fold


def result_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The results table as records: one row per horizon × model, baselines included."""
    rows = [{"horizon": m["horizon"], "model": m["model"], **_metrics(m["metrics"]),
             "version": m["model_version"]} for m in result["models"]]
    rows += [{"horizon": b["horizon"], "model": b["model"], **_metrics(b), "version": "baseline"}
             for b in result["baselines"]]
    order = {h: i for i, h in enumerate(dict.fromkeys(r["horizon"] for r in rows))}
    return sorted(rows, key=lambda r: order[r["horizon"]])


def _metrics(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m.get(k) for k in ("mase", "mae", "rmse", "directional_accuracy", "coverage",
                                  "interval_width")}


def results_table(result: dict[str, Any], level: float):
    from rich.table import Table

    table = Table("horizon", "model", "MASE", "MAE", "RMSE", "direction", f"coverage ({level:.0%})",
                  "width", "version", title="walk-forward: models against baselines")
    rows = [(m["horizon"], m["model"], m["metrics"], m["model_version"]) for m in result["models"]]
    rows += [(b["horizon"], b["model"], b, "baseline") for b in result["baselines"]]
    order = {h: i for i, h in enumerate(dict.fromkeys(r[0] for r in rows))}
    for horizon, name, m, version in sorted(rows, key=lambda r: order[r[0]]):
        table.add_row(horizon, name, _fmt(m.get("mase")), _fmt(m.get("mae")), _fmt(m.get("rmse")),
                      _fmt(m.get("directional_accuracy"), "{:.1%}"), _fmt(m.get("coverage"), "{:.1%}"),
                      _fmt(m.get("interval_width")), version)
    return table


def _fmt(value: float | None, pattern: str = "{:.3f}") -> str:
    return "—" if value is None else pattern.format(value)


def predict_cmd(
    horizon: list[str] = typer.Option(["all"], "--horizon", help=HORIZON_HELP),
    surface: str = typer.Option("prod", "--surface", help="prod | full"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
) -> None:
    """Forecast with the current model per horizon and MERGE into the predictions tables."""
    from cbi.config import get_settings
    from cbi.console import check_format, console, info, open_warehouse, print_json, print_records
    from cbi.predict import predict_job

    fmt = check_format(fmt)
    with open_warehouse() as wh:
        result = predict_job(wh, get_settings(), horizons=horizon, surface=surface)
    if fmt == "json":
        print_json(result)
    elif fmt == "csv":
        print_records([{"horizon": h, "model_version": v} for h, v in result["models"].items()],
                      "csv", columns=["horizon", "model_version"])
    else:
        for h, version in result["models"].items():
            console.print(f"{h}: {version}")
        for message in result.get("skipped", {}).values():
            console.print(f"[yellow]{message}[/yellow]")
        console.print(f"{result['rows_written']} prediction row(s) merged")
    if result.get("skipped"):
        for message in result["skipped"].values() if fmt != "table" else ():
            info(message)
        raise typer.Exit(SKIPPED_EXIT)


def list_cmd(
    surface: str = typer.Option("prod", "--surface", help="prod | full"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
) -> None:
    """Every registered model version, its walk-forward metrics, and which is current."""
    from rich.table import Table

    from cbi.config import SURFACES, get_settings
    from cbi.console import check_format, console, fail, print_records

    fmt = check_format(fmt)
    if surface not in SURFACES:
        fail(f"unknown surface {surface!r}; choose {' or '.join(SURFACES)}")
    from cbi.models.registry import current_entries, list_entries, served_entries

    settings = get_settings()
    entries = [m for m in list_entries(settings) if m.get("surface", "prod") == surface]
    current = {m["model_version"] for m in current_entries(settings, surface).values()}
    served = served_entries(settings, surface)
    if fmt != "table":
        print_records([{"version": m["model_version"], "model": m["model_name"],
                        "horizon": m["horizon"], "surface": m.get("surface", "prod"),
                        "trained_from": (m.get("training_range") or [None])[0],
                        "trained_to": (m.get("training_range") or [None])[-1],
                        "mase": m.get("metrics", {}).get("mase"),
                        "coverage": m.get("metrics", {}).get("coverage"),
                        "shrink": m.get("shrink"), "current": m["model_version"] in current,
                        "created_at": m.get("created_at")} for m in entries], fmt,
                      columns=["version", "model", "horizon", "surface", "trained_from",
                               "trained_to", "mase", "coverage", "shrink", "current",
                               "created_at"])
        return
    table = Table("version", "model", "horizon", "surface", "trained on", "MASE", "coverage",
                  "shrink", "current", "created", title=f"registry {settings.models_dir}")
    for m in entries:
        met = m.get("metrics", {})
        table.add_row(m["model_version"], m["model_name"], m["horizon"], m.get("surface", ""),
                      " → ".join(m.get("training_range", [])), _fmt(met.get("mase")),
                      _fmt(met.get("coverage"), "{:.1%}"), _fmt(m.get("shrink"), "{:.2f}"),
                      "✓" if m["model_version"] in current else "",
                      str(m.get("created_at", ""))[:19])
    console.print(table)
    if not entries:
        console.print("no models yet: run `cbi train`")
    # What the product serves: the skill gate's choice, not the learner with the best MASE.
    for horizon, rec in served.items():
        gate = ", ".join(f"{n} DM p={_fmt(g.get('dm_pvalue'))}" for n, g in rec["gate"]["learners"].items())
        console.print(f"{horizon}: serves {rec['served_by']} (weight {rec['shrink']:.2f}; gate: {gate})")


def report_cmd(
    surface: str = typer.Option("prod", "--surface", help="prod | full"),
    output: str = typer.Option("table", "--format", "-f", help="table | json"),
) -> None:
    """The model report per horizon × forecaster (served, tree, neural, random_walk, drift)."""
    import json

    from rich.table import Table

    from cbi.console import console, fail, open_warehouse
    from cbi.models.report import as_json, read_report

    if output not in ("table", "json"):
        fail(f"--format {output!r}: choose table or json", code=2)
    with open_warehouse(read_only=True) as wh:
        rows = read_report(wh, surface)
    if output == "json":
        typer.echo(json.dumps(as_json(rows), indent=2))
        return
    if not rows:
        console.print(f"no model report for surface {surface}: run `cbi train`")
        return
    table = Table("horizon", "forecaster", "rows", "periods", "MASE", "DM stat", "DM p",
                  "coverage", "worst year", "width", "Winkler/RW", "pinball", "direction",
                  "non-zero", "serves", title=f"model report ({surface}, walk-forward)")
    for r in rows:
        worst = (f"{_fmt(r['coverage_worst_year'], '{:.1%}')} ({r['worst_year']})"
                 if r.get("worst_year") else "—")
        table.add_row(r["horizon"], r["forecaster"], str(r["rows"]), str(r["periods"]), _fmt(r["mase"]),
                      _fmt(r["dm_stat"], "{:.2f}"), _fmt(r["dm_pvalue"]), _fmt(r["coverage"], "{:.1%}"),
                      worst, _fmt(r["mean_width"], "{:.2f}"), _fmt(r["winkler_rel_rw"]),
                      _fmt(r["pinball"]), _fmt(r["directional_accuracy"], "{:.1%}"),
                      _fmt(r["nonzero_share"], "{:.0%}"), r.get("served_by") or "")
    console.print(table)
