"""Using the sidecar from a LangGraph graph: exactly-once sends across resumes, and one sidecar per
graph run. Nothing here imports langgraph; install it with the `langgraph` extra
(`pip install "crm-sidecar[langgraph]"`).

**Idempotency.** LangGraph runs a node again from its start when a thread resumes after
`interrupt()`, and after a failure or a restart of the workflow. A `communicate` in such a node must
carry an `idempotency_key` that is the same on every run of that node's task and different
everywhere else; the sidecar then answers a repeat with the first communication and sends nothing
again, also across sidecar restarts. `idempotency_key(runtime, "welcome")` builds it from the node's
`runtime` (or from its `config`: the same key either way):

    async def welcome(state: State, runtime: Runtime[SidecarContext]) -> Update:
        result = await runtime.context.sidecar.communicate(
            ..., idempotency_key=idempotency_key(runtime, "welcome"))

**One sidecar for the graph's life.** A process cannot live in graph state (state is checkpointed),
so the sidecar goes in LangGraph's runtime context, which is given to each run and never stored:
declare `context_schema=SidecarContext` (or a dataclass of your own with a `sidecar` field), start
the sidecar around the runs, and pass it to each:

    graph = StateGraph(State, context_schema=SidecarContext)...compile(checkpointer=saver)
    async with Sidecar.spawn() as sidecar:
        await graph.ainvoke(inputs, config, context=SidecarContext(sidecar))
        ...  # later runs and resumes, Command(resume=...), take the same context

A resume may be given a different sidecar (a restarted one, on the same database): the keys make
its repeats harmless.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Union

from .client import Sidecar

__all__ = ["SidecarContext", "idempotency_key"]


class HasExecutionInfo(Protocol):
    """LangGraph's `Runtime` as `idempotency_key` reads it: its `execution_info` (langgraph 1.2 has it)."""

    @property
    def execution_info(self) -> Any: ...


ConfigOrRuntime = Union[Mapping[str, Any], HasExecutionInfo]


@dataclass(frozen=True)
class SidecarContext:
    """A LangGraph runtime context holding the sidecar: `context_schema=SidecarContext`, then
    `runtime.context.sidecar` in a node that takes `runtime: Runtime[SidecarContext]`."""

    sidecar: Sidecar


def idempotency_key(config: ConfigOrRuntime, node: str, *parts: object) -> str:
    """An idempotency key for a send made by a LangGraph node, stable across re-runs of the node's
    task and distinct otherwise.

    `config` is the node's `Runtime` (a `runtime: Runtime[...]` parameter) or the `RunnableConfig`
    it was given (a `config: RunnableConfig` parameter). Its thread id names the run's thread, and
    its checkpoint namespace the node's task within it (`node:task-id`, with each parent graph's before it): a
    task keeps its id when it runs again after `interrupt()`, a failure or a restart, while a
    later step (a loop coming round, a new input on the thread) is a new task. `node` names the
    send (the node's name, or more if the node sends several messages); `parts` tell apart
    sends repeated within one task (a vendor id in a loop over vendors), in JSON form.

    Raises ValueError without a thread id: without a checkpointer nothing resumes, and a key
    would only make unrelated runs collide.
    """
    thread_id, namespace = _thread_and_namespace(config)
    if thread_id is None or thread_id == "":
        raise ValueError("idempotency_key needs a thread id: run the graph with a checkpointer and a thread id, "
                         "and pass the runtime or config the node was given")
    identity = json.dumps([str(thread_id), namespace, node, list(parts)], default=str, sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(identity.encode()).hexdigest()
    # The node's name keeps the key readable in communications.get; the digest keeps it unique and
    # within the sidecar's 255 characters whatever the namespace's depth.
    return f"lg:{node[:80]}:{digest}"


def _thread_and_namespace(config: ConfigOrRuntime) -> tuple[object, str]:
    if isinstance(config, Mapping):
        configurable = config.get("configurable") or {}
        return configurable.get("thread_id"), str(configurable.get("checkpoint_ns", ""))
    info = config.execution_info  # None outside a node's task
    if info is None:
        return None, ""
    return getattr(info, "thread_id", None), str(getattr(info, "checkpoint_ns", ""))
