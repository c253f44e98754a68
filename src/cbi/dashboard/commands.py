"""`cbi dashboard`: serve the read-only dashboard (registered by `cbi.cli`)."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `cbi` app."""
    app.command("dashboard")(dashboard_cmd)


def dashboard_cmd(
    host: Optional[str] = typer.Option(None, "--host", help="Bind address (default: dashboard_host)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default: dashboard_port)."),
) -> None:
    """Serve the dashboard and its API, reading the warehouse read-only."""
    import uvicorn

    from cbi.config import get_settings
    from cbi.console import console
    from cbi.dashboard.app import create_app

    settings = get_settings()
    app = create_app(settings)  # a warehouse it cannot read: the CLI's handler says so (exit 2)
    host, port = host or settings.dashboard_host, port or settings.dashboard_port
    # Whether rows are simulated is the data's business (their `source`): the page says so.
    console.print(f"dashboard on http://{host}:{port}/ — API docs at /docs")
    # An open live stream (server-sent events) must not hold a shutdown for ever.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
