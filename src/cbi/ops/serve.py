"""`cbi serve`: one process owns the warehouse and runs everything against it.

The scheduler (feeds, features, export, training, predictions, retention), the Databento
Live stream, the job API for other `cbi` commands and the dashboard share one Warehouse
object (DuckDB allows one process; its threads each get a cursor). SIGTERM or Ctrl-C: new
jobs are refused, the job in progress finishes its batch (or its transaction rolls back), the
Live stream flushes its buffer, then the endpoint files are removed.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any, Callable

from cbi.ops.runs import STOPPING, run_job

if TYPE_CHECKING:
    import uvicorn

    from cbi.config import Settings
    from cbi.ops.owner import OwnerService
    from cbi.ops.scheduler import PipelineScheduler
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)


class Server:
    """The owner's parts, started and stopped in order; `run()` blocks until asked to stop."""

    def __init__(self, settings: Settings, *, wh: Warehouse | None = None, dashboard: bool = True,
                 live: bool | None = None, speed: float = 1.0,
                 on_ready: Callable[[str | None], None] | None = None, commands: Any = None) -> None:
        self.settings, self.wh, self.dashboard = settings, wh, dashboard
        self.commands = commands  # the `cbi` click command: forwarded commands run it here
        self.live = settings.live if live is None else live
        self.speed, self.on_ready = speed, on_ready
        self.stop_event = threading.Event()
        self.sandbox = contextlib.ExitStack()  # the sandbox session, when one is started
        self.owns_wh = wh is None
        self.service: OwnerService | None = None
        self.scheduler: PipelineScheduler | None = None
        self.live_thread: threading.Thread | None = None
        self.uvicorn: uvicorn.Server | None = None
        self.opened = False  # False: refused before it held anything (nothing to stop)
        self._by_role: dict[str, Warehouse] = {}

    @property
    def owned(self) -> Warehouse:
        """The warehouse once `_open` has run: the one passed in, or the one it connected."""
        assert self.wh is not None, "the server's warehouse is opened by start()"
        return self.wh

    # ---- start --------------------------------------------------------------------------------
    def _open(self) -> None:
        from cbi.ops.owner import OwnerError, find_owner
        from cbi.sandbox.session import sandbox_session
        from cbi.warehouse import connect

        existing = find_owner(self.settings, on_stale=log.info)
        if existing is not None:  # say so before DuckDB refuses the file with a lock error
            raise OwnerError(f"a cbi serve (pid {existing.pid}) already owns this warehouse; "
                             "stop it first (or use it: other commands go to it)")
        self.settings = self.sandbox.enter_context(sandbox_session(self.settings))
        self.opened = True
        if self.wh is None:
            self.wh = connect(settings=self.settings)
            self.wh.init()
        from cbi.ops.runs import mark_abandoned

        mark_abandoned(self.wh, self.settings)  # runs of a killed owner end here

    def _start_job_api(self) -> None:
        from cbi.ops.owner import OwnerService, owner_files
        from cbi.ops.runs import job_names
        from cbi.ops.status import cost_report, status_report

        if owner_files(self.settings) is None:
            log.info("no owner in BigQuery mode: other commands run directly")
            return
        self.service = OwnerService(
            self.settings, run=lambda job, opts: run_job(self.owned, self.settings, job, **opts),
            reads={"status": lambda: status_report(self.owned, self.settings),
                   "status/alert": lambda: status_report(self.owned, self.settings, raise_alerts=True),
                   "cost": lambda: cost_report(self.owned, self.settings)},
            warehouse=self.wh, commands=self.commands,
            job_names=lambda: job_names(self.settings)).start()

    def _start_live(self) -> None:
        if not self.live:
            return

        def stream() -> None:
            try:
                from cbi.feeds.databento import run_live

                run_live(self.owned, self.settings, self.stop_event)
            except Exception:  # noqa: BLE001 - the poll job is the fallback; alert and log
                log.exception("the Databento Live stream stopped")
                from cbi.ops.alerts import raise_alert

                raise_alert(self.owned, self.settings, "job_failed", "live",
                            "the Databento Live stream stopped; see the serve log")

        self.live_thread = thread = threading.Thread(target=stream, name="databento-live", daemon=True)
        thread.start()

    def start(self) -> Server:
        from cbi.ops.scheduler import PipelineScheduler

        STOPPING.clear()
        self._open()
        self._start_job_api()
        self.scheduler = scheduler = PipelineScheduler(self.owned, self.settings, live=self.live,
                                                       speed=self.speed, runner=self._run_job)
        scheduler.start()
        self._start_live()
        return self

    def _run_job(self, wh: Warehouse, settings: Settings, job: str, **options: Any) -> dict[str, Any]:
        return run_job(self._warehouse_for(job), settings, job, **options)

    def _warehouse_for(self, job: str) -> Warehouse:
        """BigQuery: each role its own credentials (training jobs as `training`)."""
        from cbi.ops.runs import role_for
        from cbi.warehouse import connect

        role = role_for(job)
        if self.owned.engine != "bigquery" or role == "collector":
            return self.owned
        if role not in self._by_role:
            self._by_role[role] = connect(settings=self.settings, role=role)
        return self._by_role[role]

    # ---- run and stop -------------------------------------------------------------------------
    def run(self) -> None:
        self._install_signals()
        if self.dashboard:
            self._serve_dashboard()
        else:
            if self.on_ready:
                self.on_ready(None)
            while not self.stop_event.wait(0.5):
                pass

    def _serve_dashboard(self) -> None:
        import uvicorn

        from cbi.dashboard.app import create_app

        app = create_app(self.settings, warehouse=self.wh)
        host, port = self.settings.dashboard_host, self.settings.dashboard_port
        # an open live stream (SSE) must not hold a shutdown for long
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                timeout_graceful_shutdown=5)
        self.uvicorn = server = uvicorn.Server(config)
        if self.on_ready:
            self.on_ready(f"http://{host}:{port}/")
        server.run()  # returns on SIGTERM/SIGINT (uvicorn catches them)

    def _install_signals(self) -> None:
        # uvicorn re-raises a captured signal after it exits: with our handler in place that
        # lands here instead of killing the process before the shutdown below has run.
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.request_stop())

    def request_stop(self) -> None:
        self.stop_event.set()
        if self.uvicorn is not None:
            self.uvicorn.should_exit = True

    def shutdown(self) -> None:
        if not self.opened:
            return
        STOPPING.set()
        self.stop_event.set()
        if self.service:
            self.service.stop()  # waits for API jobs to finish their batch
        if self.scheduler:
            self.scheduler.shutdown(wait=True)
        if self.live_thread:
            self.live_thread.join(timeout=60)  # run_live flushes its buffer on stop
        for wh in self._by_role.values():
            wh.close()
        if self.owns_wh and self.wh is not None:
            self.wh.close()
        self.sandbox.close()
        log.info("cbi serve stopped cleanly")


def serve(settings: Settings, **kwargs: Any) -> None:
    server = Server(settings, **kwargs)
    try:
        server.start()
        server.run()
    finally:
        server.shutdown()
