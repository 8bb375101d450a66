"""An asyncio client for crm-sidecar: spawn it, call it, follow its notifications.

    async with Sidecar.spawn() as sc:
        sent = await sc.communicate(plan_id=..., client_id=..., message_type="welcome",
                                    urgency="high", recipient={"email": "priya@example.com"})
        await sc.wait_for(sent["communication_id"], {"delivered", "failed"})

`SyncSidecar` is the same for code that is not async; `crm_sidecar.langgraph` holds the LangGraph
helpers. The types of every param, result and notification are in `crm_sidecar.schema`, generated
from the sidecar's schemas/openrpc.json.
"""
from ._notifications import NotificationStream
from .client import RetryPolicy, Sidecar, StartOptions
from .errors import (
    IdempotencyConflict,
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    NoDeliverableChannel,
    NotFound,
    Overloaded,
    ParseError,
    ShuttingDown,
    SidecarError,
    SidecarExited,
    StorageUnavailable,
)
from .schema import Notification, StatusChange
from .sync import SyncNotifications, SyncSidecar

__version__ = "0.1.0"

__all__ = [
    "IdempotencyConflict",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "MethodNotFound",
    "NoDeliverableChannel",
    "NotFound",
    "Notification",
    "NotificationStream",
    "Overloaded",
    "ParseError",
    "RetryPolicy",
    "ShuttingDown",
    "Sidecar",
    "SidecarError",
    "SidecarExited",
    "StartOptions",
    "StatusChange",
    "StorageUnavailable",
    "SyncNotifications",
    "SyncSidecar",
]
