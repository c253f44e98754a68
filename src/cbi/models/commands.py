"""`cbi train`, `cbi predict` and `cbi models list`, registered by `cbi.cli`."""

from __future__ import annotations

from typing import Any

import typer

models_app = typer.Typer(help="The model registry.", no_args_is_help=True)

HORIZON_HELP = "Horizon(s): 1w, 1m, 3m, 6m, 12m, or all (repeatable)."


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `cbi` app."""
    app.command("train")(train_cmd)
    app.command("predict")(predict_cmd)
    models_app.command("list")(list_cmd)
    app.add_typer(models_app, name="models")


def train_cmd(
    model: str = typer.Option("all", "--model", help="tree | neural | all"),
    horizon: list[str] = typer.Option(["all"], "--horizon", help=HORIZON_HELP),
    surface: str = typer.Option("prod", "--surface", help="prod | full"),
) -> None:
    """Walk-forward evaluate and train models per horizon; register them; backtest to the warehouse."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cbi.cli import console, fail, open_warehouse
    from cbi.config import get_settings
    from cbi.models.base import ModelError
    from cbi.models.train import train_job

    settings = get_settings()
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)
    tasks: dict[str, Any] = {}

    def progress(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = bars.add_task(f"walk-forward {task}", total=total)
        bars.update(tasks[task], completed=done)

    with open_warehouse() as wh, bars:
        try:
            result = train_job(wh, settings, model=model, horizons=horizon, surface=surface,
                               progress=progress)
        except (ModelError, ValueError) as exc:
            fail(str(exc))
    console.print(results_table(result, settings.interval_level))
    console.print(f"{result['rows_written']} backtest row(s) merged; registry: {settings.models_dir}")


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
) -> None:
    """Forecast with the current model per horizon and MERGE into the predictions tables."""
    from cbi.cli import console, fail, open_warehouse
    from cbi.config import get_settings
    from cbi.models.base import ModelError
    from cbi.predict import predict_job

    with open_warehouse() as wh:
        try:
            result = predict_job(wh, get_settings(), horizons=horizon, surface=surface)
        except (ModelError, ValueError) as exc:
            fail(str(exc))
    for h, version in result["models"].items():
        console.print(f"{h}: {version}")
    console.print(f"{result['rows_written']} prediction row(s) merged")


def list_cmd(surface: str = typer.Option("prod", "--surface", help="prod | full")) -> None:
    """Every registered model version, its walk-forward metrics, and which is current."""
    from rich.table import Table

    from cbi.cli import console, fail
    from cbi.config import get_settings
    from cbi.models.base import ModelError
    from cbi.models.registry import current_entries, list_entries

    settings = get_settings()
    try:
        entries = list_entries(settings)
        current = {m["model_version"] for m in current_entries(settings, surface).values()}
    except ModelError as exc:
        fail(str(exc))
    table = Table("version", "model", "horizon", "surface", "trained on", "MASE", "coverage",
                  "current", "created", title=f"registry {settings.models_dir}")
    for m in entries:
        met = m.get("metrics", {})
        table.add_row(m["model_version"], m["model_name"], m["horizon"], m.get("surface", ""),
                      " → ".join(m.get("training_range", [])), _fmt(met.get("mase")),
                      _fmt(met.get("coverage"), "{:.1%}"), "✓" if m["model_version"] in current else "",
                      str(m.get("created_at", ""))[:19])
    console.print(table)
    if not entries:
        console.print("no models yet: run `cbi train`")
