"""The durable event log: every communication.status, client.opted_out and inbound.message
notification carries `seq`, its position in the database's event log, and `events.list` reads the log
back a page at a time, with exactly the params the live notification carried. Delivery is at least
once: a reader that follows the notifications and the log, deduplicating by seq, sees every event
exactly once, across restarts of the sidecar, with several sidecars writing at once (PostgreSQL's
commit order is not its sequence order), and for what arrived on a side port while nobody was attached
(receipts for a sidecar that is gone, replies, a provider's retries of one webhook)."""

import datetime
import json
import threading
import time
import uuid

import pytest

import procfs
from conftest import communicate_params
from test_persistence import rfc3339
from test_webhooks import (
    CLIENT_PHONE, CLIENT_WHATSAPP, inbound_whatsapp, listening, meta_payload, post_meta, post_twilio, provider_id,
    send_sms, side_port, twilio_inbound, twilio_status,
)

KINDS = ("communication.status", "client.opted_out", "inbound.message")
MAX_LIMIT = 1000


# Helpers


def canonical(value):
    """One spelling of a JSON value, so that equal values compare equal and 1 never equals 1.0 or true."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def live_events(sidecar):
    """The logged notifications a sidecar wrote, in the order it wrote them."""
    return [n for n in list(sidecar.notifications) if n["method"] in KINDS]


def as_event(note):
    """A live notification in the shape events.list gives it."""
    return {"seq": note["params"]["seq"], "method": note["method"], "params": note["params"]}


def assert_live_seqs_increase(sidecar):
    """Every live notification carries a seq of its own, and those about one communication come in
    seq order. Across communications stdout may be out of seq order: concurrent requests commit and
    announce independently (events.list is the place for the global order)."""
    seqs = [n["params"].get("seq") for n in live_events(sidecar)]
    for seq in seqs:
        assert type(seq) is int and seq >= 1, seqs
    assert len(set(seqs)) == len(seqs), "a seq was announced twice"
    by_communication = {}
    for note in live_events(sidecar):
        key = note["params"].get("communication_id")
        if key is not None:
            by_communication.setdefault(key, []).append(note["params"]["seq"])
    out_of_order = [(key, s) for key, s in by_communication.items() if s != sorted(s)]
    assert not out_of_order, f"one communication's notifications must come in seq order; {len(out_of_order)} do not, first {out_of_order[:3]}"
    return seqs


def page(sidecar, **params):
    """One events.list page, held to the contract: seq order, all after `after`, at most `limit`, the
    filters honoured, params.seq equal to seq, next_after the last seq (or `after` when empty)."""
    found = sidecar.result("events.list", params)
    after, limit = params.get("after", 0), params.get("limit", 100)
    events = found["events"]
    seqs = [e["seq"] for e in events]
    assert all(type(s) is int for s in seqs), seqs[:10]
    assert len(events) <= limit, (len(events), limit)
    assert all(s > after for s in seqs), (after, seqs[:10])
    assert all(b > a for a, b in zip(seqs, seqs[1:])), f"a page must be in seq order: {seqs[:20]}"
    assert all(e["params"]["seq"] == e["seq"] for e in events), [e for e in events if e["params"]["seq"] != e["seq"]][:3]
    assert found["next_after"] == (seqs[-1] if seqs else after), (found["next_after"], after, seqs[-3:])
    assert type(found["next_after"]) is int
    if "kinds" in params:
        assert {e["method"] for e in events} <= set(params["kinds"]), params
    for key in ("communication_id", "client_id"):
        if key in params:
            assert all(e["params"].get(key) == params[key] for e in events), params
    return found


def read_all(sidecar, after=0, limits=(MAX_LIMIT,), **filters):
    """Every event after `after`, paging with next_after until a page comes back empty; the limits are
    used in turn, the last one for the rest."""
    events, pages = [], 0
    while True:
        limit = limits[min(pages, len(limits) - 1)]
        found = page(sidecar, after=after, limit=limit, **filters)
        pages += 1
        if not found["events"]:
            return events
        events += found["events"]
        after = found["next_after"]


def assert_gapless(events):
    seqs = [e["seq"] for e in events]
    assert len(seqs) == len(set(seqs)), "a seq was listed twice"
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    assert not gaps, f"seq must have no gaps and no repeats across pages; {len(gaps)} breaks, first {gaps[:5]}"


def assert_live_matches_listing(listing, *sidecars):
    """Each live notification is listed under its seq with the same method and params, byte for byte
    once both are spelled canonically."""
    listed = {e["seq"]: e for e in listing}
    for sidecar in sidecars:
        for note in live_events(sidecar):
            seq = note["params"]["seq"]
            assert seq in listed, f"seq {seq} ({note['method']}) was announced live but is not listed"
            event = listed[seq]
            assert event["method"] == note["method"], (event, note)
            assert canonical(event["params"]) == canonical(note["params"]), f"listed {event['params']} but announced {note['params']}"


def statuses_of(events, communication_id):
    return [e["params"]["status"] for e in events
            if e["method"] == "communication.status" and e["params"]["communication_id"] == communication_id]


def days_ahead(days=3):
    return rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days))


def pipeline(sidecar, requests, window=48, prefix="r"):
    """Sends the requests with up to `window` unanswered at once and returns the responses in request
    order: many in flight, not one round trip at a time."""
    responses = []
    sent = 0
    for index in range(len(requests)):
        while sent < len(requests) and sent < index + window:
            sidecar.send({"jsonrpc": "2.0", "id": f"{prefix}{sent}", **requests[sent]})
            sent += 1
        responses.append(sidecar.response(f"{prefix}{index}", timeout=120))
    return responses


def schedule_many(sidecar, ids, count, prefix, window=48):
    """`count` communications scheduled days ahead: one `scheduled` event each, and nothing sent."""
    send_at = days_ahead()
    requests = [{"method": "communicate", "params": communicate_params(ids, send_at=send_at, wait=False)} for _ in range(count)]
    responses = pipeline(sidecar, requests, window, prefix)
    # -32001 (storage did not answer in time, nothing stored) is retried as a client would: on 2 cores
    # a few of 10,000 writes to one client's rows on PostgreSQL can take longer than its 5 s. A
    # refused one that was stored after all would show in the listing as a communication nobody
    # was given, and fail the test.
    for round in range(5):
        refused = [i for i, r in enumerate(responses) if r.get("error", {}).get("code") == -32001]
        if not refused:
            break
        print(f"{prefix}: {len(refused)} of {count} answered -32001; sent again")
        for i, response in zip(refused, pipeline(sidecar, [requests[i] for i in refused], window, f"{prefix}-again{round}-")):
            responses[i] = response
    failed = [r for r in responses if "result" not in r]
    assert not failed, f"{len(failed)} of {count} failed, first {failed[:3]}"
    assert {r["result"]["status"] for r in responses} == {"scheduled"}
    return [r["result"]["communication_id"] for r in responses]


def cpu_seconds(sidecar):
    """User and system CPU time a running sidecar has used so far (Linux)."""
    return procfs.cpu_seconds(sidecar.process.pid)


def wait_live(sidecar, count, timeout=60):
    deadline = time.monotonic() + timeout
    while len(sidecar.notifications) < count:
        assert time.monotonic() < deadline, f"{len(sidecar.notifications)} of {count} notifications arrived"
        time.sleep(0.05)


# Live notifications and the listing agree


def test_every_logged_notification_carries_seq_and_events_list_reads_back_the_same(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    assert "seq" not in sidecar.ready["params"]
    sms = send_sms(sidecar, ids)  # queued, sent
    sid = provider_id(sidecar, sms)
    assert post_twilio(base, twilio_status(sid, "delivered"))[0] == 200  # delivered
    sidecar.wait_for_notifications(lambda ns: "delivered" in statuses_of(ns, sms))
    assert post_twilio(base, twilio_inbound("option 2 please", sid="SM" + "a" * 32))[0] == 200  # inbound.message
    sidecar.wait_for_notifications(lambda ns: any(n["method"] == "inbound.message" for n in ns))
    assert post_twilio(base, twilio_inbound("STOP", sid="SM" + "b" * 32))[0] == 200  # client.opted_out
    sidecar.wait_for_notifications(lambda ns: any(n["method"] == "client.opted_out" for n in ns))
    mail = sidecar.result("communicate", communicate_params(ids))["communication_id"]  # queued, sent
    sidecar.wait_for_notifications(lambda ns: "sent" in statuses_of(ns, mail))

    seqs = assert_live_seqs_increase(sidecar)
    assert len(seqs) == 7 and {n["method"] for n in live_events(sidecar)} == set(KINDS)
    listing = read_all(sidecar)
    assert_gapless(listing)
    # A fresh database, one sidecar: the log holds exactly what it announced.
    assert [e["seq"] for e in listing] == sorted(seqs)
    assert_live_matches_listing(listing, sidecar)
    live = sorted((as_event(n) for n in live_events(sidecar)), key=lambda e: e["seq"])
    assert [canonical(e) for e in listing] == [canonical(e) for e in live]
    # The default page is the first 100 (here, all of them), from the start.
    assert page(sidecar)["events"] == listing


# Paging through many events, also while others write


def test_ten_thousand_events_page_without_gaps_or_repeats_while_two_sidecars_write(start, database_env):
    """10,000 scheduled communications written by two sidecars at once, while a third reads the log
    with next_after as fast as it can: the pages it got, put together, are the final log, with no seq
    handed out after a larger one (a transaction that took its seq earlier but committed later)."""
    total = 10_000
    began, cpu_began = time.monotonic(), time.process_time()
    writers = [start(env={"SIDECAR_INSTANCE": f"writer_{n}"}) for n in "ab"]
    reader = start(env={"SIDECAR_INSTANCE": "reader"})
    for process in (*writers, reader):
        assert process.ready, process.stderr()
    client = {"plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4())}
    results, errors = {}, []

    def write(process, count, prefix):
        try:
            results[prefix] = schedule_many(process, client, count, prefix)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w, total // 2, p)) for w, p in zip(writers, "ab")]
    for thread in threads:
        thread.start()
    seen, after, polls, limits = [], 0, 0, (337, MAX_LIMIT)
    while any(thread.is_alive() for thread in threads):
        found = page(reader, after=after, limit=limits[polls % 2])
        polls += 1
        seen += found["events"]
        after = found["next_after"]
        if len(found["events"]) < limits[(polls - 1) % 2]:
            time.sleep(0.05)  # caught up: let the writers have the CPU (a poll costs the reader's sidecar too)
    for thread in threads:
        thread.join()
    assert not errors, errors
    written = time.monotonic()
    seen += read_all(reader, after=after)
    drained = time.monotonic()

    created = results["a"] + results["b"]
    assert len(set(created)) == total
    # The reader's view, in the order it got it: strictly increasing, so nothing came after a larger seq.
    seen_seqs = [e["seq"] for e in seen]
    assert all(b > a for a, b in zip(seen_seqs, seen_seqs[1:])), "a seq was handed out after a larger one"

    # The whole log, from the start: 3 pages of an odd size, then pages of 1000.
    listing = read_all(reader, limits=(337, 337, 337, MAX_LIMIT))
    listed = time.monotonic()
    assert len(listing) == total
    assert_gapless(listing)
    assert {e["params"]["communication_id"] for e in listing} == set(created)
    assert {(e["method"], e["params"]["status"]) for e in listing} == {("communication.status", "scheduled")}
    missed = sorted({e["seq"] for e in listing} - set(seen_seqs))
    assert not missed, f"the reader that followed next_after never saw {len(missed)} events (first seqs {missed[:10]}): " \
                       f"they were committed after a larger seq had been listed"
    assert [canonical(e) for e in seen] == [canonical(e) for e in listing]

    # Each writer announced its own events as they are listed (checked last: the order of announcing).
    for writer in writers:
        wait_live(writer, total // 2)
    assert sorted(n["params"]["seq"] for w in writers for n in live_events(w)) == [e["seq"] for e in listing]
    assert_live_matches_listing(listing, *writers)

    # The defaults: after 0, limit 100.
    assert page(reader)["events"] == listing[:100]
    assert page(reader, after=listing[99]["seq"])["events"] == listing[100:200]
    end = listing[-1]["seq"]
    assert page(reader, after=end) == {"events": [], "next_after": end}
    assert page(reader, after=end + 1000) == {"events": [], "next_after": end + 1000}
    store = "postgres" if "DATABASE_URL" in database_env else "sqlite"
    print(f"\n{store}: {total} events written by 2 sidecars in {written - began:.1f} s (the reader polled {polls} times, "
          f"saw {len(seen)} by then and after), drained in {drained - written:.1f} s, listed again in {listed - drained:.1f} s, "
          f"{time.monotonic() - began:.1f} s in all; CPU seconds: writers {cpu_seconds(writers[0]):.1f} + {cpu_seconds(writers[1]):.1f}, "
          f"reader {cpu_seconds(reader):.1f}, this test process {time.process_time() - cpu_began:.1f}")
    # Each writer wrote each communication's notifications in seq order.
    for writer in writers:
        assert_live_seqs_increase(writer)


# Restarts


def test_a_reader_resumes_from_its_last_seq_across_a_restart_and_sees_every_event_once(start, ids):
    first = start()
    scheduled = schedule_many(first, ids, 3, "s")  # 3 scheduled
    first.result("communications.cancel", {"communication_id": scheduled[0]})  # cancelled
    seen = {}  # seq -> event: what the reader has handled, from the log and live

    def handle(events):
        for event in events:
            assert canonical(seen.setdefault(event["seq"], event)) == canonical(event), "one seq, two different events"

    handle(read_all(first, limits=(2,)))
    handle(as_event(n) for n in live_events(first))
    last = max(seen)
    assert len(seen) == 4
    assert first.stop() == 0

    second = start()
    second.result("communications.cancel", {"communication_id": scheduled[1]})  # cancelled
    mail = second.result("communicate", communicate_params(ids))["communication_id"]  # queued, sent
    second.wait_for_notifications(lambda ns: "sent" in statuses_of(ns, mail))
    handle(as_event(n) for n in live_events(second))  # live first: the reader was attached
    resumed = read_all(second, after=last, limits=(2,))
    assert [e["seq"] for e in resumed] == list(range(last + 1, last + 4)), "resuming must list exactly what came after"
    handle(resumed)

    everything = read_all(second)
    assert_gapless(everything)
    assert sorted(seen) == [e["seq"] for e in everything]
    assert [canonical(seen[e["seq"]]) for e in everything] == [canonical(e) for e in everything]
    assert statuses_of(everything, scheduled[0]) == ["scheduled", "cancelled"]
    assert statuses_of(everything, scheduled[1]) == ["scheduled", "cancelled"]
    assert statuses_of(everything, scheduled[2]) == ["scheduled"]
    assert statuses_of(everything, mail) == ["queued", "sent"]
    assert_live_matches_listing(everything, second)


# What the side port hears when the sidecar concerned is gone


def test_a_receipt_for_a_sidecar_that_is_gone_is_listed_by_a_later_process(start, twilio, ids):
    sender = start(env={**twilio.env(), **side_port(), "SIDECAR_INSTANCE": "sender"})
    listening(sender)
    communication_id = send_sms(sender, ids)
    sid = provider_id(sender, communication_id)
    assert sender.stop() == 0

    receiver = start(env={**twilio.env(), **side_port(), "SIDECAR_INSTANCE": "receiver"})
    base = listening(receiver)
    assert post_twilio(base, twilio_status(sid, "delivered"))[0] == 200
    time.sleep(0.3)
    assert receiver.stop() == 0

    later = start(env={"SIDECAR_INSTANCE": "later"})
    events = read_all(later, communication_id=communication_id)
    assert statuses_of(events, communication_id) == ["queued", "sent", "delivered"]
    delivered = events[-1]["params"]
    assert delivered["channel"] == "sms" and delivered["provider_message_id"] == sid
    assert delivered["previous_status"] == "sent" and delivered["client_id"] == ids["client_id"]
    assert_live_matches_listing(read_all(later), sender, receiver)


def test_an_inbound_sms_while_nobody_is_attached_is_listed_once_by_a_later_process(start, twilio, ids):
    sender = start(env={**twilio.env(), **side_port(), "SIDECAR_INSTANCE": "sender"})
    listening(sender)
    communication_id = send_sms(sender, ids)
    assert sender.stop() == 0

    receiver = start(env={**twilio.env(), **side_port(), "SIDECAR_INSTANCE": "receiver"})
    base = listening(receiver)
    reply = twilio_inbound("Yes, confirmed", sid="SM" + "c" * 32)
    assert post_twilio(base, reply)[0] == 200
    assert post_twilio(base, reply)[0] == 200  # Twilio retrying the same webhook
    time.sleep(0.3)
    assert receiver.stop() == 0
    assert len([n for n in receiver.notifications if n["method"] == "inbound.message"]) <= 1

    later = start()
    events = read_all(later, kinds=["inbound.message"])
    assert len(events) == 1, f"one reply, posted twice with one MessageSid, must be listed once: {events}"
    [message] = [e["params"] for e in events]
    assert message["text"] == "Yes, confirmed" and message["from"] == CLIENT_PHONE and message["channel"] == "sms"
    assert message["intent"] == "confirmation" and "selection" not in message
    assert message["client_id"] == ids["client_id"] and message["communication_id"] == communication_id
    assert_live_matches_listing(read_all(later), sender, receiver)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_a_provider_retrying_one_inbound_message_is_announced_and_listed_once(start, twilio, meta, ids, channel):
    sidecar = start(env={**twilio.env(), **meta.env(), **side_port()})
    base = listening(sidecar)
    if channel == "sms":
        communication_id = send_sms(sidecar, ids)
        first = lambda: post_twilio(base, twilio_inbound("Sounds good", sid="SM" + "d" * 32))
        other = lambda: post_twilio(base, twilio_inbound("Sounds good", sid="SM" + "e" * 32))
        sender = CLIENT_PHONE
    else:
        params = communicate_params(ids, urgency="high", recipient={"whatsapp": CLIENT_WHATSAPP})
        communication_id = sidecar.result("communicate", params)["communication_id"]
        moment = int(time.time())
        first = lambda: post_meta(base, meta_payload(messages=[inbound_whatsapp("Sounds good", moment)]))
        other = lambda: post_meta(base, meta_payload(messages=[inbound_whatsapp("Sounds good", moment + 1)]))
        sender = CLIENT_WHATSAPP
    for _ in range(3):
        assert first()[0] == 200
    # The same words under another message id are another message.
    assert other()[0] == 200
    sidecar.wait_for_notifications(lambda ns: len([n for n in ns if n["method"] == "inbound.message"]) >= 2)
    time.sleep(0.5)
    announced = [n["params"] for n in sidecar.notifications if n["method"] == "inbound.message"]
    assert len(announced) == 2, announced
    listed = read_all(sidecar, kinds=["inbound.message"])
    assert len(listed) == 2, listed
    for event in listed:
        message = event["params"]
        assert message["text"] == "Sounds good" and message["from"] == sender and message["channel"] == channel
        assert message["intent"] == "confirmation" and message["client_id"] == ids["client_id"]
        assert message["communication_id"] == communication_id
    assert_live_matches_listing(read_all(sidecar), sidecar)


def test_after_a_clients_erasure_its_replies_are_listed_without_sender_or_text(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    other = {"plan_id": ids["plan_id"], "client_id": str(uuid.uuid4())}
    other_phone = "+14155550199"
    send_sms(sidecar, ids)
    sidecar.result("communicate", communicate_params(other, urgency="critical", recipient={"phone": other_phone}))
    assert post_twilio(base, twilio_inbound("Yes, confirmed", sid="SM" + "7" * 32))[0] == 200
    assert post_twilio(base, {**twilio_inbound("No thanks", sid="SM" + "8" * 32), "From": other_phone})[0] == 200
    sidecar.wait_for_notifications(lambda ns: len([n for n in ns if n["method"] == "inbound.message"]) == 2)
    before = {e["seq"]: e for e in read_all(sidecar, kinds=["inbound.message"])}

    sidecar.result("clients.forget", {"client_id": ids["client_id"]})
    after = {e["seq"]: e for e in read_all(sidecar, kinds=["inbound.message"])}
    assert sorted(after) == sorted(before)
    for seq, event in after.items():
        was = before[seq]["params"]
        if was.get("client_id") == ids["client_id"]:
            assert was["from"] == CLIENT_PHONE and was["text"] == "Yes, confirmed"
            # Only the personal parts go; the rest still reads back as it was announced.
            assert event["params"] == {**was, "from": "", "text": ""}, event
        else:
            assert event == before[seq] and event["params"]["text"] == "No thanks" and event["params"]["from"] == other_phone


# Filters and invalid params


def test_filters_by_kind_communication_and_client_combine(start, twilio, ids):
    sidecar = start(env={**twilio.env(), **side_port()})
    base = listening(sidecar)
    other = {"plan_id": ids["plan_id"], "client_id": str(uuid.uuid4())}
    sms = send_sms(sidecar, ids)
    mail = sidecar.result("communicate", communicate_params(ids))["communication_id"]
    elsewhere = schedule_many(sidecar, other, 2, "o")
    assert post_twilio(base, twilio_inbound("#3", sid="SM" + "f" * 32))[0] == 200
    assert post_twilio(base, twilio_inbound("stop", sid="SM" + "9" * 32))[0] == 200
    sidecar.result("communications.cancel", {"communication_id": elsewhere[0]})
    sidecar.wait_for_notifications(lambda ns: {"client.opted_out", "inbound.message"} <= {n["method"] for n in ns}
                                   and "cancelled" in statuses_of(ns, elsewhere[0]))

    everything = read_all(sidecar)
    assert_gapless(everything)
    assert_live_matches_listing(everything, sidecar)
    assert {e["method"] for e in everything} == set(KINDS)

    def expect(predicate, **filters):
        wanted = [e for e in everything if predicate(e)]
        assert wanted, filters  # each filter must have something to find
        for limits in ((MAX_LIMIT,), (2,)):  # in one page, and a page of 2 at a time (next_after with a filter)
            got = read_all(sidecar, limits=limits, **filters)
            assert [canonical(e) for e in got] == [canonical(e) for e in wanted], (filters, limits)

    expect(lambda e: e["method"] == "client.opted_out", kinds=["client.opted_out"])
    expect(lambda e: e["method"] != "client.opted_out", kinds=["inbound.message", "communication.status"])
    expect(lambda e: e["method"] == "communication.status", kinds=["communication.status"])
    expect(lambda e: e["params"].get("communication_id") == sms, communication_id=sms)
    expect(lambda e: e["params"].get("communication_id") == mail, communication_id=mail)
    expect(lambda e: e["params"].get("client_id") == ids["client_id"], client_id=ids["client_id"])
    expect(lambda e: e["params"].get("client_id") == other["client_id"], client_id=other["client_id"])
    expect(lambda e: e["method"] == "inbound.message" and e["params"].get("client_id") == ids["client_id"],
           kinds=["inbound.message"], client_id=ids["client_id"])
    expect(lambda e: e["params"].get("communication_id") == elsewhere[0] and e["params"].get("client_id") == other["client_id"],
           communication_id=elsewhere[0], client_id=other["client_id"])
    [reply] = [e["params"] for e in everything if e["method"] == "inbound.message"]
    assert reply["communication_id"] in (sms, mail) and reply["intent"] == "selection" and reply["selection"] == {"number": 3}
    # Filters that match nothing: an empty page, and next_after stays where it was.
    assert page(sidecar, communication_id=elsewhere[0], client_id=ids["client_id"]) == {"events": [], "next_after": 0}
    assert page(sidecar, communication_id=str(uuid.uuid4()), after=2) == {"events": [], "next_after": 2}
    assert page(sidecar, kinds=["inbound.message"], client_id=other["client_id"])["events"] == []
    # The bounds are accepted.
    assert len(page(sidecar, limit=1)["events"]) == 1
    assert page(sidecar, limit=MAX_LIMIT)["events"] == everything


INVALID = [
    ({"after": -1}, "after"),
    ({"after": "3"}, "after"),
    ({"after": 1.5}, "after"),
    ({"limit": 0}, "limit"),
    ({"limit": MAX_LIMIT + 1}, "limit"),
    ({"limit": -5}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"kinds": []}, "kinds"),
    ({"kinds": ["sidecar.ready"]}, "kinds"),
    ({"kinds": ["communication.status", "opted_out"]}, "kinds"),
    ({"kinds": "inbound.message"}, "kinds"),
    ({"kinds": ["inbound.message", "inbound.message"]}, "kinds"),
    ({"communication_id": "not-a-uuid"}, "communication_id"),
    ({"client_id": 42}, "client_id"),
]


def test_invalid_params_are_32602_naming_the_field(sidecar):
    wrong = []
    for params, field in INVALID:
        response = sidecar.call("events.list", params)
        error = response.get("error", {})
        named = error.get("data", {}).get("field", "")
        if error.get("code") != -32602 or not (named == field or named.startswith(field + "[")):
            wrong.append(f"{json.dumps(params)}: expected -32602 naming {field}, got {json.dumps(response)}")
        elif any(token in json.dumps(error) for token in ("not-a-uuid", "sidecar.ready")):
            wrong.append(f"{json.dumps(params)}: the error repeats the rejected value: {json.dumps(error)}")
    assert not wrong, "\n".join(wrong)
    assert sidecar.result("health")["status"] == "ok"
