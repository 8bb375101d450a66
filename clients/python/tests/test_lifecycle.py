"""Starting, stopping, crashing and restarting: what a workflow sees of the sidecar's life."""
from __future__ import annotations

import asyncio
import datetime
import os
import pathlib
import signal
import time

import pytest

from crm_sidecar import Sidecar, SidecarExited, SyncSidecar
from crm_sidecar.schema import StatusChange
from helpers import BINARY, SIDECAR_ENV, outbox_files, send_email, spawn


async def stopped(pid: int) -> None:
    """SIGSTOP, and wait until every thread of the process has stopped: the signal takes effect
    when each thread is next scheduled, which a busy machine can delay past the next request."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while True:
        try:
            states = [(task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                      for task in pathlib.Path(f"/proc/{pid}/task").iterdir()]
        except FileNotFoundError:  # a thread ended while we looked
            states = ["?"]
        if all(state in "tT" for state in states):
            return
        assert time.monotonic() < deadline, f"the sidecar's threads did not stop: {states}"
        await asyncio.sleep(0.01)


def in_seconds(seconds: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


def test_sigkill_fails_pending_calls_and_a_new_sidecar_resumes_wait_for(workdir: pathlib.Path,
                                                                        ids: dict[str, str]) -> None:
    async def scenario() -> tuple[StatusChange, StatusChange]:
        async with spawn(workdir) as first:
            # Due once the first sidecar is long dead, even on a busy machine.
            scheduled = await send_email(first, ids, urgency="high", send_at=in_seconds(3))
            communication_id = scheduled["communication_id"]
            # What a workflow keeps (in its checkpoint) to pick the wait up again later.
            kept_seq = (await first.wait_for(communication_id, "scheduled", timeout=1))["seq"]
            waiting = asyncio.ensure_future(first.wait_for(communication_id, "sent"))
            # Stopped, the sidecar reads nothing: these calls are certainly pending at the kill.
            assert first.pid is not None
            try:
                await stopped(first.pid)
                pending = [asyncio.ensure_future(first.health()) for _ in range(3)]
                await asyncio.sleep(0.2)
                assert not any(call.done() for call in pending)
            finally:
                os.kill(first.pid, signal.SIGKILL)
            for call in [*pending, waiting]:
                with pytest.raises(SidecarExited) as exited:
                    await asyncio.wait_for(call, 10)
                assert exited.value.returncode == -signal.SIGKILL
            with pytest.raises(SidecarExited) as later:
                await first.health()
            assert later.value.returncode == -signal.SIGKILL
            assert any("crm-sidecar ready" in line for line in later.value.stderr_tail)
            assert outbox_files(workdir) == []

        # A new sidecar on the same database sends the scheduled email once it is due (the dead
        # one's lease runs out) and the wait resumes from the kept seq.
        async with spawn(workdir) as second:
            sent = await second.wait_for(communication_id, "sent", after_seq=kept_seq, timeout=20)
            assert sent["seq"] > kept_seq

        # A third finds it in the event log alone: nothing is announced to it, and its own history
        # is empty, so without after_seq it would wait in vain.
        async with spawn(workdir) as third:
            with pytest.raises(TimeoutError):
                await third.wait_for(communication_id, "sent", timeout=0.5)
            from_log = await third.wait_for(communication_id, "sent", after_seq=kept_seq, timeout=5)
        return sent, from_log

    sent, from_log = asyncio.run(scenario())
    assert from_log == sent
    assert [path.name for path in outbox_files(workdir)] == [f"{sent['communication_id']}-1.eml"]


def test_a_sidecar_that_cannot_start_says_why(workdir: pathlib.Path) -> None:
    async def scenario() -> None:
        with pytest.raises(SidecarExited) as exited:
            async with spawn(workdir, {"MAX_IN_FLIGHT": "many"}):
                pass
        assert exited.value.returncode == 78
        assert any("MAX_IN_FLIGHT" in line for line in exited.value.stderr_tail)

    asyncio.run(scenario())


def test_no_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_SIDECAR_BIN", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")

    async def scenario() -> None:
        with pytest.raises(FileNotFoundError, match="CRM_SIDECAR_BIN"):
            await Sidecar.start()

    asyncio.run(scenario())


def test_closing_finishes_what_was_asked(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    """close() ends the sidecar's input: requests in flight are answered and the sends they started
    are reported before it exits 0."""

    async def scenario() -> None:
        sidecar = await Sidecar.start(BINARY, env=SIDECAR_ENV, cwd=workdir)
        stream = sidecar.notifications()
        calls = [asyncio.ensure_future(send_email(sidecar, ids, wait=False)) for _ in range(5)]
        await asyncio.sleep(0)  # the requests are written
        await sidecar.close()
        assert sidecar.returncode == 0
        results = await asyncio.gather(*calls)
        statuses = [notification["params"]["status"] async for notification in stream]
        assert sorted(statuses) == ["queued"] * 5 + ["sent"] * 5
        assert len(outbox_files(workdir)) == len(results) == 5
        with pytest.raises(SidecarExited) as after:
            await sidecar.health()
        assert after.value.returncode == 0
        await sidecar.close()  # again: nothing happens

    asyncio.run(scenario())


def test_a_stream_of_a_crashed_sidecar_raises(workdir: pathlib.Path) -> None:
    async def scenario() -> None:
        async with spawn(workdir) as sidecar:
            stream = sidecar.notifications()
            assert sidecar.pid is not None
            os.kill(sidecar.pid, signal.SIGKILL)
            with pytest.raises(SidecarExited):
                await asyncio.wait_for(anext(stream), 10)

    asyncio.run(scenario())


def test_sync_sidecar(workdir: pathlib.Path, ids: dict[str, str]) -> None:
    with SyncSidecar.spawn(BINARY, env=SIDECAR_ENV, cwd=workdir) as sidecar:
        assert sidecar.ready is not None and sidecar.health()["status"] == "ok"
        with sidecar.notifications() as stream:
            sent = sidecar.communicate(plan_id=ids["plan_id"], client_id=ids["client_id"], message_type="welcome",
                                       urgency="critical", recipient={"email": "priya@example.com"}, wait=False)
            assert sidecar.wait_for(sent["communication_id"], "sent", timeout=10)["status"] == "sent"
            assert [next(stream)["params"]["status"], next(stream)["params"]["status"]] == ["queued", "sent"]
        decision = sidecar.communicate(plan_id=ids["plan_id"], client_id=ids["client_id"], message_type="welcome",
                                       urgency="critical", recipient={"email": "priya@example.com"}, dry_run=True)
        assert decision["dry_run"] is True and decision["decision"]["channels"] == ["email"]
    assert sidecar.returncode == 0
    assert len(outbox_files(workdir)) == 1
