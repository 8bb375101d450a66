"""Calls, answers, errors and notifications against the real sidecar."""
from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import time
import uuid

import pytest

from crm_sidecar import (
    IdempotencyConflict,
    InvalidParams,
    MethodNotFound,
    NoDeliverableChannel,
    NotFound,
    Notification,
    Overloaded,
    RetryPolicy,
    Sidecar,
)
from helpers import BINARY, SIDECAR_ENV, outbox_files, send_email, spawn


def test_a_200_kb_context_goes_there_and_back(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    """Lines far over asyncio's 64 KiB readline limit, both ways."""
    notes = "Mehndi on Friday, sangeet on Saturday; ग्राहक की टिप्पणी. " * 3500
    assert len(notes.encode()) > 200_000

    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            sent = await send_email(sidecar, ids, context={"client_name": "Priya Sharma", "notes": notes})
            stored = await sidecar.get_communication(communication_id=sent["communication_id"])
            assert stored["context"] == {"client_name": "Priya Sharma", "notes": notes}
            assert stored["status"] == "sent"

    asyncio.run(scenario())


def test_5000_requests_with_debug_logging_do_not_stall(workdir: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    """At LOG_LEVEL=debug the sidecar logs a line per request; a stderr nobody read would fill its
    pipe after about 1,000 of them and stop the sidecar."""
    caplog.set_level(logging.DEBUG, logger="crm_sidecar.sidecar")
    client_id = str(uuid.uuid4())

    async def scenario() -> float:
        async with spawn(workdir, {"LOG_LEVEL": "debug"}) as sidecar:
            started = time.monotonic()
            answers = await asyncio.wait_for(asyncio.gather(*[
                sidecar.get_preferences(client_id=client_id) if number % 2 else sidecar.health()
                for number in range(5000)
            ]), timeout=90)
            elapsed = time.monotonic() - started
            assert len(answers) == 5000
            assert all(answer.get("client_id", client_id) == client_id for answer in answers)
            return elapsed

    elapsed = asyncio.run(scenario())
    handled = [record for record in caplog.records if record.getMessage().startswith("request handled")]
    assert len(handled) >= 5000, "the sidecar's debug lines reach logging"
    assert all(record.levelno == logging.DEBUG for record in handled)
    print(f"5,000 requests in {elapsed:.1f} s")


def test_stderr_lines_become_log_records_at_their_level(workdir: pathlib.Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crm_sidecar.sidecar")

    async def scenario() -> None:
        async with spawn(workdir):
            pass

    asyncio.run(scenario())
    records = {record.getMessage().split(" (")[0]: record for record in caplog.records}
    # No DB_ENCRYPTION_KEY: SQLite makes a key and warns.
    warning = next(record for message, record in records.items() if message.startswith("DB_ENCRYPTION_KEY"))
    assert warning.levelno == logging.WARNING
    assert records["crm-sidecar ready"].levelno == logging.INFO
    assert getattr(records["crm-sidecar ready"], "sidecar")["level"] == "info"


def test_notifications_that_precede_the_response_reach_wait_for(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            stream = sidecar.notifications()
            sent = await send_email(sidecar, ids)  # answers once sent: queued and sent came before
            assert sent["status"] == "sent"
            queued = await sidecar.wait_for(sent["communication_id"], "queued", timeout=1)
            delivered = await sidecar.wait_for(sent["communication_id"], {"sent", "delivered"}, timeout=1)
            assert queued["communication_id"] == sent["communication_id"]
            assert (queued["status"], delivered["status"]) == ("queued", "sent")
            assert 0 < queued["seq"] < delivered["seq"] == sidecar.last_seq
            # The stream opened before the call has both, in order, as {method, params}.
            first, second = await anext(stream), await anext(stream)
            assert [first["method"], second["method"]] == ["communication.status"] * 2
            assert [first["params"], second["params"]] == [queued, delivered]
            await stream.aclose()

    asyncio.run(scenario())


def test_wait_for_waits_for_a_change_to_come(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            send_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))  # 1 to 2 s ahead
            scheduled = await send_email(sidecar, ids, send_at=send_at, urgency="high")
            assert scheduled["status"] == "scheduled"
            sent = await sidecar.wait_for(scheduled["communication_id"], "sent", timeout=15)
            assert sent["status"] == "sent" and sent["channel"] == "email"
            with pytest.raises(TimeoutError):
                await sidecar.wait_for(scheduled["communication_id"], "delivered", timeout=0.3)

    asyncio.run(scenario())


def test_notifications_stream_every_notification_in_order(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    async def scenario() -> list[Notification]:
        async with spawn(workdir) as sidecar:
            stream = sidecar.notifications()
            results = await asyncio.gather(*[send_email(sidecar, ids, wait=False) for _ in range(20)])
            for result in results:
                await sidecar.wait_for(result["communication_id"], "sent", timeout=15)
        # After the sidecar is closed the stream gives what it holds, then ends.
        return [notification async for notification in stream]

    notifications = asyncio.run(scenario())
    # All 40 (queued and sent of each), none twice, each communication's in the order they happened.
    # Their order across communications is the sidecar's to keep (Tests/contract/test_events.py
    # holds it to seq order), not the client's.
    seqs = sorted(notification["params"]["seq"] for notification in notifications)
    assert seqs == list(range(seqs[0], seqs[0] + 40))
    statuses: dict[str, list[str]] = {}
    for notification in notifications:
        statuses.setdefault(notification["params"]["communication_id"], []).append(notification["params"]["status"])
    assert len(statuses) == 20 and all(order == ["queued", "sent"] for order in statuses.values())


def test_errors_are_exceptions_with_code_and_data(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            with pytest.raises(InvalidParams) as invalid:
                await send_email(sidecar, ids, recipient={"email": "not an address"})
            assert invalid.value.code == -32602
            assert invalid.value.field == "recipient.email" and invalid.value.reason
            with pytest.raises(NotFound) as missing:
                await sidecar.get_communication(communication_id=str(uuid.uuid4()))
            assert missing.value.code == -32002 and missing.value.data["reason"]
            with pytest.raises(MethodNotFound):
                await sidecar.call("analytics.forecast", {"start": "2026-01-01T00:00:00Z"})
            await send_email(sidecar, ids, idempotency_key="welcome-1")
            with pytest.raises(IdempotencyConflict):
                await send_email(sidecar, ids, idempotency_key="welcome-1", urgency="high")
            await sidecar.update_preferences(client_id=ids["client_id"], opt_out_email=True)
            with pytest.raises(NoDeliverableChannel) as nowhere:
                await send_email(sidecar, ids)
            assert any("email" in reason for reason in nowhere.value.reasons)

    asyncio.run(scenario())


def test_overloaded_answers_are_retried(workdir: pathlib.Path, ids: dict[str, str],
                                        caplog: pytest.LogCaptureFixture) -> None:
    """With the client's own limit lifted, 40 sends at once meet MAX_IN_FLIGHT=2: the -32005 answers
    are retried until every send has gone, once each."""
    caplog.set_level(logging.DEBUG, logger="crm_sidecar")

    async def scenario() -> None:
        async with spawn(workdir, {"MAX_IN_FLIGHT": "2"}, max_in_flight=1000,
                         retry=RetryPolicy(attempts=100, first_delay=0.01, max_delay=0.2)) as sidecar:
            results = await asyncio.gather(*[send_email(sidecar, ids) for _ in range(40)])
            assert {result["status"] for result in results} == {"sent"}
        async with spawn(workdir, {"MAX_IN_FLIGHT": "1"}, max_in_flight=1000,
                         retry=RetryPolicy(attempts=1)) as sidecar:
            outcomes = await asyncio.gather(*[sidecar.health() for _ in range(40)], return_exceptions=True)
            assert any(isinstance(outcome, Overloaded) for outcome in outcomes), "without retries -32005 surfaces"

    asyncio.run(scenario())
    retried = [record for record in caplog.records if "refused as overloaded" in record.getMessage()]
    assert retried, "the sidecar did answer -32005, and the client retried"
    assert len(outbox_files(workdir)) == 40


def test_the_client_keeps_to_max_in_flight_by_itself(workdir: pathlib.Path) -> None:
    async def scenario() -> None:
        async with spawn(workdir, {"MAX_IN_FLIGHT": "2"}, retry=RetryPolicy(attempts=1)) as sidecar:
            await asyncio.gather(*[sidecar.health() for _ in range(200)])  # no Overloaded raised

    asyncio.run(scenario())


def test_a_call_given_up_on_keeps_its_place_until_answered(workdir: pathlib.Path) -> None:
    """A call that times out or is cancelled is still running in the sidecar: the client counts it
    against MAX_IN_FLIGHT until its answer comes, or the next call would be refused."""

    async def scenario() -> None:
        async with spawn(workdir, {"MAX_IN_FLIGHT": "1"}, retry=RetryPolicy(attempts=1)) as sidecar:
            for _ in range(10):
                with pytest.raises(TimeoutError):
                    await sidecar.call("health", timeout=1e-6)
                await sidecar.health()
                cancelled = asyncio.ensure_future(sidecar.health())
                await asyncio.sleep(0)  # written
                cancelled.cancel()
                await sidecar.health()

    asyncio.run(scenario())


def test_attach_to_a_process_started_elsewhere(workdir: pathlib.Path) -> None:
    async def scenario() -> None:
        process = await asyncio.create_subprocess_exec(
            BINARY, cwd=workdir, env={"PATH": "/usr/bin:/bin", **SIDECAR_ENV},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert process.stdout is not None and process.stdin is not None
        async with Sidecar.attach(process.stdout, process.stdin) as sidecar:
            health = await sidecar.health()
            assert health["status"] == "ok"
            assert sidecar.ready is not None and sidecar.ready["store"] == "sqlite"
        assert await asyncio.wait_for(process.wait(), 10) == 0  # closing the client ended its input

    asyncio.run(scenario())


def test_requests_are_single_lines_of_json(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    """A context with newlines and every kind of JSON value travels intact."""
    context = {"client_name": "Priya Sharma", "notes": "line one\nline two", "guest_count": 250, "ratio": 0.5, "vip": True, "note": None,
               "items": ["a\u2028b", {"nested": "\"quoted\""}]}

    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            sent = await send_email(sidecar, ids, context=context)
            stored = await sidecar.get_communication(communication_id=sent["communication_id"])
            assert json.dumps(stored["context"], sort_keys=True) == json.dumps(context, sort_keys=True)

    asyncio.run(scenario())
