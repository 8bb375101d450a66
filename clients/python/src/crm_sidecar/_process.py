"""Finding, configuring and stopping the sidecar's process."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Mapping

logger = logging.getLogger("crm_sidecar")

# After stdin is closed and the grace has passed: SIGTERM, and this long after it SIGKILL.
TERMINATE_SECONDS = 5.0


def find_binary(binary: str | os.PathLike[str] | None) -> str:
    """The executable: `binary`, else $CRM_SIDECAR_BIN, else crm-sidecar on PATH."""
    chosen = os.fspath(binary) if binary is not None else os.environ.get("CRM_SIDECAR_BIN")
    if chosen:
        return chosen
    found = shutil.which("crm-sidecar")
    if found is None:
        raise FileNotFoundError("crm-sidecar: pass the binary, set CRM_SIDECAR_BIN, or put crm-sidecar on PATH")
    return found


def setting(environment: Mapping[str, str], name: str, default: float) -> float:
    """A number the sidecar will read from its environment; the default where it is unset or not a
    number (the sidecar refuses to start then, and says so)."""
    try:
        return float(environment.get(name) or default)
    except ValueError:
        return default


async def stop_process(process: asyncio.subprocess.Process, timeout: float) -> None:
    """Waits `timeout` seconds for the process to end by itself (its stdin is closed), then sends
    SIGTERM, then SIGKILL."""
    for step, wait in ((None, timeout), (process.terminate, TERMINATE_SECONDS), (process.kill, None)):
        if process.returncode is not None:
            return
        if step is not None:
            with contextlib.suppress(ProcessLookupError):
                step()
        try:
            await asyncio.wait_for(process.wait(), wait)
            return
        except asyncio.TimeoutError:
            logger.warning("crm-sidecar (pid %s) did not stop within %s s", process.pid, wait)
