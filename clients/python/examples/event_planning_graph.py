"""The seed's event-planning flow as a LangGraph graph that talks to crm-sidecar.

    welcome -> budget_summary -> (interrupt: the client's choice) -> confirm_selection
            -> schedule_reminder (send_at) -> await_reminder (wait_for its send) -> END

What it shows:
- one sidecar for the graph's life, in LangGraph's runtime context (`PlanContext`), never in state;
- every send keyed with `idempotency_key(runtime, ...)`: `budget_summary` sends the options and then
  calls `interrupt()`, so LangGraph runs it again from the top on resume, and the key turns that
  second `communicate` into a no-op (also when the sidecar was restarted in between);
- requests that are the same on every run: the reminder's time comes from the input, not from
  `now()`, since the same key with a different request is refused (-32003);
- `wait_for` with `after_seq`, which reads the sidecar's event log, so the wait resumes after a
  restart of the workflow or of the sidecar.

Run it (from the repository, with the sidecar built):

    CRM_SIDECAR_BIN=.build/debug/crm-sidecar python clients/python/examples/event_planning_graph.py

It works in a scratch folder (the sidecar's SQLite database and its outbox folder, where messages
are written instead of sent), stops at the interrupt, asks for the choice (or takes `--choice`),
resumes, and lists what was sent. `--restart-sidecar` replaces the sidecar between the interrupt
and the resume. The checkpointer here is in memory; a real workflow uses a durable one
(langgraph-checkpoint-sqlite or -postgres) so that a thread can also resume in a new process.
"""
from __future__ import annotations

import argparse
import asyncio
import operator
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from crm_sidecar import Sidecar
from crm_sidecar.langgraph import SidecarContext, idempotency_key
from crm_sidecar.schema import CommunicateResult, CommunicationStatus, MessageType, Urgency

# What ends the wait for the reminder: its send (email has no later receipt; with Twilio or WhatsApp
# one could wait on for "delivered") or a final failure.
OUTCOMES: frozenset[CommunicationStatus] = frozenset({"sent", "delivered", "opened", "clicked", "failed", "bounced",
                                                      "cancelled"})
ANY_STATUS: frozenset[CommunicationStatus] = OUTCOMES | {"pending", "queued", "scheduled"}


class Client(TypedDict):
    client_id: str
    name: str
    email: str
    phone: str


class BudgetStrategy(TypedDict):
    name: str
    total_cost: str


class _PlanInput(TypedDict):
    plan_id: str
    client: Client
    event_type: str
    budget_strategies: list[BudgetStrategy]
    reminder_at: str  # RFC 3339; part of the input so that a re-run sends the same request


class PlanUpdate(TypedDict, total=False):
    """What the nodes write."""

    # message type -> communication id; each node adds its own.
    sent: Annotated[dict[str, str], operator.or_]
    choice: int
    reminder_seq: int
    reminder_status: CommunicationStatus


class PlanState(_PlanInput, PlanUpdate, total=False):
    # Preferences to store for the client before the first message (preferences.update params).
    preferences: dict[str, Any]


@dataclass(frozen=True)
class PlanContext(SidecarContext):
    """The runtime context: the sidecar (from SidecarContext) and how long to wait for a send."""

    wait_timeout: float = 120.0


async def send(state: PlanState, runtime: Runtime[PlanContext], message_type: MessageType, urgency: Urgency,
               context: dict[str, Any], *, send_at: str | None = None) -> CommunicateResult:
    client = state["client"]
    return await runtime.context.sidecar.communicate(
        plan_id=state["plan_id"],
        client_id=client["client_id"],
        message_type=message_type,
        urgency=urgency,
        recipient={"email": client["email"], "phone": client["phone"], "name": client["name"]},
        context={"client_name": client["name"], "event_type": state["event_type"], **context},
        send_at=send_at,
        idempotency_key=idempotency_key(runtime, message_type),
    )


async def welcome(state: PlanState, runtime: Runtime[PlanContext]) -> PlanUpdate:
    if state.get("preferences"):  # storing the same preferences twice changes nothing
        await runtime.context.sidecar.update_preferences(client_id=state["client"]["client_id"], **state["preferences"])
    result = await send(state, runtime, "welcome", "high", {})
    return {"sent": {"welcome": result["communication_id"]}}


async def budget_summary(state: PlanState, runtime: Runtime[PlanContext]) -> PlanUpdate:
    strategies = state["budget_strategies"]
    result = await send(state, runtime, "budget_summary", "high", {"budget_strategies": strategies})
    # LangGraph runs this node again from its first line when the thread resumes: the send above is
    # repeated with the same idempotency key, and the sidecar answers it without sending.
    choice = interrupt({
        "question": "Which budget strategy did the client choose?",
        "options": [f"{number}. {strategy['name']} ({strategy['total_cost']})"
                    for number, strategy in enumerate(strategies, start=1)],
        "communication_id": result["communication_id"],
    })
    if not isinstance(choice, int) or not 1 <= choice <= len(strategies):
        raise ValueError(f"resume with an option number from 1 to {len(strategies)}, not {choice!r}")
    return {"sent": {"budget_summary": result["communication_id"]}, "choice": choice}


async def confirm_selection(state: PlanState, runtime: Runtime[PlanContext]) -> PlanUpdate:
    chosen = state["budget_strategies"][state["choice"] - 1]
    result = await send(state, runtime, "selection_confirmation", "high",
                        {"selected_vendors": [chosen["name"]], "total_cost": chosen["total_cost"]})
    return {"sent": {"selection_confirmation": result["communication_id"]}}


async def schedule_reminder(state: PlanState, runtime: Runtime[PlanContext]) -> PlanUpdate:
    result = await send(state, runtime, "reminder", "normal",
                        {"pending_items": ["the final guest list"], "deadline": "Friday"}, send_at=state["reminder_at"])
    # The seq just before the reminder's first event (`scheduled`, or `queued` if the time has passed):
    # await_reminder reads the event log from there, so it finds the send whenever it happened,
    # even while no one was listening. On a re-run the first event comes from the log itself.
    first = await runtime.context.sidecar.wait_for(result["communication_id"], ANY_STATUS, after_seq=0,
                                                   timeout=runtime.context.wait_timeout)
    return {"sent": {"reminder": result["communication_id"]}, "reminder_seq": first["seq"] - 1}


async def await_reminder(state: PlanState, runtime: Runtime[PlanContext]) -> PlanUpdate:
    change = await runtime.context.sidecar.wait_for(state["sent"]["reminder"], OUTCOMES,
                                                    after_seq=state["reminder_seq"],
                                                    timeout=runtime.context.wait_timeout)
    return {"reminder_status": change["status"]}


def build_graph(checkpointer: BaseCheckpointSaver[Any]) -> CompiledStateGraph[PlanState, PlanContext, Any, Any]:
    builder = StateGraph(PlanState, context_schema=PlanContext)
    builder.add_node("welcome", welcome)
    builder.add_node("budget_summary", budget_summary)
    builder.add_node("confirm_selection", confirm_selection)
    builder.add_node("schedule_reminder", schedule_reminder)
    builder.add_node("await_reminder", await_reminder)
    builder.add_edge(START, "welcome")
    builder.add_edge("welcome", "budget_summary")
    builder.add_edge("budget_summary", "confirm_selection")
    builder.add_edge("confirm_selection", "schedule_reminder")
    builder.add_edge("schedule_reminder", "await_reminder")
    builder.add_edge("await_reminder", END)
    return builder.compile(checkpointer=checkpointer)


def sample_plan(reminder_in: timedelta) -> PlanState:
    """A plan as the workflow's earlier steps would have made it."""
    return {
        "plan_id": str(uuid.uuid4()),
        "client": {"client_id": str(uuid.uuid4()), "name": "Priya Sharma", "email": "priya@example.com",
                   "phone": "+919876543210"},
        "event_type": "wedding",
        "budget_strategies": [{"name": "Essential", "total_cost": "₹8,00,000"},
                              {"name": "Signature", "total_cost": "₹12,50,000"},
                              {"name": "Grand", "total_cost": "₹18,00,000"}],
        "reminder_at": (datetime.now(timezone.utc) + reminder_in).isoformat(timespec="milliseconds"),
        # No quiet hours, so that the demo sends at any hour (the default holds messages 22:00-08:00).
        "preferences": {"timezone": "Asia/Kolkata", "quiet_hours_start": "00:00", "quiet_hours_end": "00:00"},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description="Runs the event-planning graph against crm-sidecar.")
    parser.add_argument("--workdir", type=Path, help="the sidecar's folder (database, outbox); default: a new one")
    parser.add_argument("--choice", type=int, help="the client's option; default: asked on stdin")
    parser.add_argument("--reminder-in", type=float, default=3.0, help="seconds until the reminder goes out")
    parser.add_argument("--restart-sidecar", action="store_true", help="a new sidecar for the resume")
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="event-planning-"))
    env = {"WEBHOOK_PORT": "0", "SEND_POLL_MS": "200"}  # a free side port; due sends noticed quickly

    graph = build_graph(InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
    async with Sidecar.spawn(env=env, cwd=workdir) as sidecar:
        paused = await graph.ainvoke(sample_plan(timedelta(seconds=options.reminder_in)), config,
                                     context=PlanContext(sidecar))
        question = paused["__interrupt__"][0].value
        print(question["question"], *question["options"], sep="\n  ")
        choice = options.choice if options.choice is not None else int(input("option: "))
        if not options.restart_sidecar:
            final = await graph.ainvoke(Command(resume=choice), config, context=PlanContext(sidecar))
    if options.restart_sidecar:
        async with Sidecar.spawn(env=env, cwd=workdir) as sidecar:
            final = await graph.ainvoke(Command(resume=choice), config, context=PlanContext(sidecar))
    print(f"reminder {final['reminder_status']}; sent: {final['sent']}")
    for path in sorted((workdir / "outbox").rglob("*.*")):
        print(" ", path.relative_to(workdir))


if __name__ == "__main__":
    asyncio.run(main())
