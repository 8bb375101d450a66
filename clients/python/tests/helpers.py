"""What the client's tests share: the binary they drive, how they start it, and the outbox they count."""
from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Mapping
from typing import Any, cast

from crm_sidecar import RetryPolicy, Sidecar
from crm_sidecar.schema import CommunicateResult

ROOT = pathlib.Path(__file__).resolve().parents[3]
BINARY = os.environ.get("CRM_SIDECAR_BIN") or str(ROOT / ".build" / "debug" / "crm-sidecar")

# What every test sidecar runs with: a free side port each, due sends noticed within 0.1 s, leases
# of a killed sidecar free after 2 s, stops within 5 s.
SIDECAR_ENV = {"WEBHOOK_PORT": "0", "SEND_POLL_MS": "100", "WORK_LEASE_SECONDS": "2", "SHUTDOWN_GRACE_SECONDS": "5"}


def spawn(workdir: pathlib.Path, env: Mapping[str, str] | None = None, *, retry: RetryPolicy | None = None,
          max_in_flight: int | None = None) -> contextlib.AbstractAsyncContextManager[Sidecar]:
    """A sidecar working in `workdir` (its SQLite database and outbox are there)."""
    return Sidecar.spawn(BINARY, env={**SIDECAR_ENV, **(env or {})}, cwd=workdir, retry=retry,
                         max_in_flight=max_in_flight)


def outbox_files(workdir: pathlib.Path) -> list[pathlib.Path]:
    """Every message the outbox provider wrote: `<channel>/<communication id>-<attempt>.<ext>`."""
    return sorted(path for path in (workdir / "outbox").rglob("*") if path.is_file())


async def send_email(sidecar: Sidecar, ids: Mapping[str, str], **overrides: Any) -> CommunicateResult:
    """A communicate of an email to the test's client, sent now (critical ignores quiet hours)."""
    params = {
        "plan_id": ids["plan_id"],
        "client_id": ids["client_id"],
        "message_type": "welcome",
        "urgency": "critical",
        "recipient": {"email": "priya@example.com"},
        "context": {"client_name": "Priya Sharma"},
        **overrides,
    }
    return cast(CommunicateResult, await sidecar.call("communicate", params))
