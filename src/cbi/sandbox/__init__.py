"""Local stand-ins for Databento (Historical HTTP and Live TCP), FRED and NewsAPI.

They serve generated, SIMULATED data on 127.0.0.1 and are driven through the real client
libraries. Which of them run, and when, is decided in one place: `cbi.sandbox.session`
(`sandbox_session(settings)`, entered by the CLI, `cbi serve`, `cbi demo` and `cbi run`).
Production code (feeds, transform, warehouse, dashboard) never imports this package.
"""

from __future__ import annotations

from cbi.sandbox.session import SIMULATED, sandbox_session  # noqa: F401
