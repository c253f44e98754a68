"""Freezes the clock of a `cbi` subprocess a test starts, as the test's own clock is frozen.

`tests/conftest.py` puts this folder first on PYTHONPATH and names the instant in
CBI_TEST_NOW; Python imports `sitecustomize` at start-up. A process without time-machine
(the BigQuery emulator's own venv) runs on the real clock: it never decides on dates.
"""

import os

if os.environ.get("CBI_TEST_NOW"):
    try:
        import time_machine
    except ImportError:
        pass
    else:
        time_machine.travel(os.environ["CBI_TEST_NOW"], tick=True).start()
