"""`cbi features build` and `cbi export`, registered by `cbi.cli`."""

from __future__ import annotations

from typing import Optional

import typer

from cbi.config import HORIZONS, SURFACES

features_app = typer.Typer(help="Curated features and training tables (SQL in the warehouse).",
                           no_args_is_help=True)


@features_app.command("build")
def build_cmd(
    full: bool = typer.Option(False, "--full", help="Rebuild every date, not only those touched."),
    start: Optional[str] = typer.Option(None, "--start", help="First date to rebuild (YYYY-MM-DD)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last date to rebuild (YYYY-MM-DD)."),
) -> None:
    """Build features.curated_features_daily for every root, then the training tables."""
    from cbi.config import get_settings
    from cbi.console import console, open_warehouse, progress
    from cbi.jobs import features_job
    from cbi.transform.features import STEPS

    with open_warehouse() as wh, progress("features build", total=len(STEPS)) as bar:
        result = features_job(wh, get_settings(), full=full, start=start, end=end,
                              progress=bar.step)
    if result.get("up_to_date"):
        console.print("features are up to date: no input changed since the last build")
        return
    console.print(f"features from {result['write_from']}: {result['rows_read']} feature rows, "
                  f"{result['rows_written']} rows merged (feature_hash {result['feature_hash']})")


def export_cmd(
    surface: str = typer.Option("prod", "--surface", help="prod | full"),
    horizon: str = typer.Option("all", "--horizon", help="1w | 1m | 3m | 6m | 12m | all"),
    start: Optional[str] = typer.Option(None, "--start", help="First date (YYYY-MM-DD)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last date (YYYY-MM-DD)."),
) -> None:
    """Export training tables to Parquet, after the data-quality gates pass."""
    from cbi.config import get_settings
    from cbi.console import console, fail, open_warehouse, progress
    from cbi.export import QualityGateError, export_job
    from cbi.quality import print_report

    if surface not in SURFACES:
        fail(f"unknown surface {surface!r}; choose {' or '.join(SURFACES)}")
    if horizon != "all" and horizon not in HORIZONS:
        fail(f"unknown horizon {horizon!r}; choose from {', '.join(HORIZONS)} or all")
    settings = get_settings()
    horizons = settings.horizons if horizon == "all" else [horizon]
    # Steps: the gates, then one file per horizon.
    with open_warehouse(read_only=True, role="training") as wh, \
            progress("export", total=1 + len(horizons)) as bar:
        try:
            result = export_job(wh, settings, surfaces=[surface], horizons=horizons,
                                start=start, end=end, progress=bar.step)
        except QualityGateError as exc:
            # Kept: the operator needs the whole gate report (a table), not only its summary.
            print_report(exc.report, console)
            fail(str(exc), code=1)
    for f in result["files"]:
        console.print(f"{f['path']}: {f['rows_written']} rows ({f.get('mode')})")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `cbi` app."""
    app.add_typer(features_app, name="features")
    app.command("export")(export_cmd)
