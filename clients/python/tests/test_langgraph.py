"""crm_sidecar.langgraph and the example graph: each message goes out exactly once, however often
LangGraph runs a node again, and whichever sidecar is there when the thread resumes."""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import event_planning_graph as example
from crm_sidecar import Sidecar
from crm_sidecar.langgraph import idempotency_key
from helpers import BINARY, ROOT, SIDECAR_ENV, outbox_files, spawn

EXAMPLE = ROOT / "clients" / "python" / "examples" / "event_planning_graph.py"


# idempotency_key


def node_config(thread_id: str = "thread-1", namespace: str = "budget_summary:6f1c") -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": namespace}}


@dataclass(frozen=True)
class FakeExecutionInfo:
    thread_id: str | None
    checkpoint_ns: str


@dataclass(frozen=True)
class FakeRuntime:
    execution_info: FakeExecutionInfo | None


def test_the_key_is_the_same_for_the_same_task_and_send() -> None:
    key = idempotency_key(node_config(), "budget_summary")
    assert key == idempotency_key(node_config(), "budget_summary")
    assert key == idempotency_key(FakeRuntime(FakeExecutionInfo("thread-1", "budget_summary:6f1c")), "budget_summary")
    assert key.startswith("lg:budget_summary:")


def test_the_key_differs_for_another_thread_task_send_or_part() -> None:
    keys = {
        idempotency_key(node_config(), "welcome"),
        idempotency_key(node_config(thread_id="thread-2"), "welcome"),
        idempotency_key(node_config(namespace="budget_summary:7a2d"), "welcome"),
        idempotency_key(node_config(), "reminder"),
        idempotency_key(node_config(), "welcome", "vendor-1"),
        idempotency_key(node_config(), "welcome", "vendor-2"),
        idempotency_key(node_config(), "welcome", {"vendor": 1}),
    }
    assert len(keys) == 7


def test_the_key_fits_the_sidecar_whatever_the_depth() -> None:
    deep = "|".join(f"subgraph{level}:{uuid.uuid4()}" for level in range(50))
    assert len(idempotency_key(node_config(namespace=deep), "n" * 500)) <= 255


def test_no_thread_no_key() -> None:
    with pytest.raises(ValueError, match="thread id"):
        idempotency_key({"configurable": {}}, "welcome")
    with pytest.raises(ValueError):
        idempotency_key(FakeRuntime(None), "welcome")


# The example graph


def count_requests(sidecar: Sidecar, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The message types of every communicate this sidecar is asked for, repeats included."""
    requested: list[str] = []
    call = sidecar.call

    async def counting(method: str, params: Any = None, **options: Any) -> Any:
        if method == "communicate":
            requested.append(params["message_type"])
        return await call(method, params, **options)

    monkeypatch.setattr(sidecar, "call", counting)
    return requested


def assert_sent_once_each(workdir: pathlib.Path, final: example.PlanState) -> None:
    """Four messages, each written to the outbox once, and they are the graph's four."""
    files = outbox_files(workdir)
    sent_ids = [path.name.rsplit("-", 1)[0] for path in files]
    assert sorted(sent_ids) == sorted(final["sent"].values()), [str(path) for path in files]
    assert sorted(final["sent"]) == ["budget_summary", "reminder", "selection_confirmation", "welcome"]
    assert [path.name.rsplit("-", 1)[1].split(".")[0] for path in files] == ["1"] * 4  # first attempts only


def context(sidecar: Sidecar) -> example.PlanContext:
    return example.PlanContext(sidecar, wait_timeout=30)


def test_the_example_runs_end_to_end_and_a_resume_sends_nothing_twice(workdir: pathlib.Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    graph = example.build_graph(InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}

    async def scenario() -> tuple[example.PlanState, list[str]]:
        async with spawn(workdir) as sidecar:
            requested = count_requests(sidecar, monkeypatch)
            paused = await graph.ainvoke(example.sample_plan(timedelta(seconds=1)), config, context=context(sidecar))
            question = paused["__interrupt__"][0].value
            assert question["options"][1].startswith("2. Signature")
            assert len(outbox_files(workdir)) == 2  # welcome and the budget summary
            final = await graph.ainvoke(Command(resume=2), config, context=context(sidecar))
            return cast(example.PlanState, final), requested

    final, requested = asyncio.run(scenario())
    # LangGraph did run budget_summary again on resume: its communicate was asked for twice...
    assert requested == ["welcome", "budget_summary", "budget_summary", "selection_confirmation", "reminder"]
    # ...and sent once.
    assert_sent_once_each(workdir, final)
    assert final["choice"] == 2 and final["reminder_status"] == "sent"
    confirmation = next(path for path in outbox_files(workdir)
                        if path.name.startswith(final["sent"]["selection_confirmation"]))
    assert "₹12,50,000" in json.loads(confirmation.read_text(encoding="utf-8"))["body"]


def test_a_resume_on_a_restarted_sidecar_sends_nothing_twice(workdir: pathlib.Path) -> None:
    graph = example.build_graph(InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}

    async def scenario() -> example.PlanState:
        async with spawn(workdir) as first:
            await graph.ainvoke(example.sample_plan(timedelta(seconds=1)), config, context=context(first))
            assert first.pid is not None
            os.kill(first.pid, signal.SIGKILL)  # a crash, not a clean stop, between interrupt and resume
        async with spawn(workdir) as second:
            return cast(example.PlanState, await graph.ainvoke(Command(resume=3), config, context=context(second)))

    final = asyncio.run(scenario())
    assert_sent_once_each(workdir, final)
    assert final["choice"] == 3 and final["reminder_status"] == "sent"


def test_the_example_script_runs(workdir: pathlib.Path) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--workdir", str(workdir), "--choice", "1", "--reminder-in", "1",
         "--restart-sidecar"],
        env={**os.environ, "CRM_SIDECAR_BIN": BINARY, **SIDECAR_ENV}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "1. Essential" in run.stdout and "reminder sent" in run.stdout
    assert len(outbox_files(workdir)) == 4
