"""`mobius serve --workers N`: N uvicorn worker processes sharing one listening socket.

Each worker re-reads the settings from the same file and overrides (passed to it through one
environment variable), so secrets never travel between processes. Their metrics meet in one
directory (``mobius.telemetry.multiprocess``), so any worker's ``/metrics`` shows them all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from mobius.app import create_app
from mobius.logging import configure_logging
from mobius.settings import Settings, load_settings
from mobius.telemetry.multiprocess import shared_metrics_dir

WORKER_ARGS_ENV = "_MOBIUS_SERVE_ARGS"


def run_workers(settings: Settings, *, config: Path | None, overrides: dict[str, Any], workers: int) -> None:
    os.environ[WORKER_ARGS_ENV] = json.dumps(
        {"config": None if config is None else str(config), "overrides": overrides}
    )
    with shared_metrics_dir(settings.telemetry.metrics.multiprocess_dir):
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **uvicorn_options(settings))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the gateway, one process or many."""
    server = settings.server
    return {
        "host": server.host,
        "port": server.port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": server.drain_s,
        "timeout_keep_alive": server.keep_alive_s,
    }


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory)."""
    args = json.loads(os.environ[WORKER_ARGS_ENV])
    settings = load_settings(None if args["config"] is None else Path(args["config"]), **args["overrides"])
    configure_logging(settings.server.log_format, settings.telemetry.logs)
    return create_app(settings)
