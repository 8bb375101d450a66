"""Every implemented method, driven through the built binary."""
import datetime
import email
import email.policy
import json
import subprocess

import contract
from conftest import communicate_params
from sidecar import BINARY


def test_the_readme_pipe_answers_and_leaves_an_email_in_the_outbox(workdir):
    """The issue's own example: health, then a critical welcome email, piped in."""
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "health"},
        {"jsonrpc": "2.0", "id": 2, "method": "communicate", "params": {
            "plan_id": "550e8400-e29b-41d4-a716-446655440000", "client_id": "660e8400-e29b-41d4-a716-446655440001",
            "message_type": "welcome", "urgency": "critical", "recipient": {"email": "priya@example.com"},
            "context": {"client_name": "Priya Sharma"}}},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines).encode()
    done = subprocess.run([BINARY], cwd=workdir, input=stdin, capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr.decode()
    messages = [json.loads(line) for line in done.stdout.decode().splitlines()]
    responses = {m["id"]: m for m in messages if "id" in m}
    contract.check_response(responses[1], "health")
    contract.check_response(responses[2], "communicate")
    statuses = [m["params"]["status"] for m in messages if m.get("method") == "communication.status"]
    assert statuses == ["queued", "sent"]
    for message in messages:
        if "method" in message:
            contract.check_notification(message)
    files = list((workdir / "outbox" / "email").glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "priya@example.com"
    assert "Priya Sharma" in parsed["Subject"]
    assert parsed["X-CRM-Communication-ID"] == responses[2]["result"]["communication_id"]
    assert parsed.get_body(("plain",)).get_content().startswith("Welcome, Priya Sharma!")
    assert "<h1>Welcome, Priya Sharma!</h1>" in parsed.get_body(("html",)).get_content()


def test_health_reports_each_component(sidecar):
    health = sidecar.result("health")
    assert health["status"] == "ok"
    assert health["components"]["database"]["status"] == "ok"
    assert {health["components"][c]["provider"] for c in ("email", "sms", "whatsapp")} == {"outbox"}


def test_rpc_discover_returns_the_shipped_schema(sidecar):
    assert sidecar.result("rpc.discover") == contract.DOCUMENT


def test_every_schema_method_is_answered(sidecar):
    names = [m["name"] for m in contract.DOCUMENT["methods"]]
    for name in names:
        response = sidecar.call(name, {})
        assert response.get("error", {}).get("code") != -32601, (name, response)


def test_communicate_stores_sends_and_notifies(sidecar, ids):
    result = sidecar.result("communicate", communicate_params(ids))
    assert result["status"] == "sent" and result["channel_used"] == "email"
    assert result["attempts"][0]["provider"] == "outbox"
    assert "sms skipped: no phone number for the client" in result["decision"]["reasons"]
    sidecar.wait_for_notifications(lambda n: len(n) == 2)
    queued, sent = sidecar.notifications
    assert (queued["params"]["status"], sent["params"]["status"]) == ("queued", "sent")
    assert sent["params"]["previous_status"] == "queued"
    assert sent["params"]["provider_message_id"] == result["attempts"][0]["provider_message_id"]
    assert {queued["params"]["communication_id"], sent["params"]["communication_id"]} == {result["communication_id"]}


def test_critical_goes_by_sms_first_and_whatsapp_defaults_to_the_phone(sidecar, ids, workdir):
    params = communicate_params(ids, recipient={"email": "priya@example.com", "phone": "+919876543210"})
    result = sidecar.result("communicate", params)
    assert result["decision"]["channels"] == ["sms", "whatsapp", "email"]
    assert result["channel_used"] == "sms"
    message = json.loads(next((workdir / "outbox" / "sms").glob("*.json")).read_text())
    assert message["to"] == "+919876543210" and "Priya Sharma" in message["body"] and message["segments"] == 1
    record = sidecar.result("communications.get", {"communication_id": result["communication_id"]})
    assert record["recipient"]["whatsapp"] == "+919876543210"


def test_the_message_type_and_the_preferred_channel_set_the_order(sidecar, ids):
    both = {"email": "priya@example.com", "phone": "+919876543210"}
    budget = sidecar.result("communicate", communicate_params(ids, message_type="budget_summary", urgency="high", recipient=both))
    assert budget["decision"]["channels"] == ["email", "whatsapp", "sms"]
    preferred = sidecar.result("communicate", communicate_params(ids, recipient=both, preferred_channel="whatsapp"))
    assert preferred["decision"]["channels"][0] == "whatsapp" and preferred["channel_used"] == "whatsapp"
    assert "request asks for whatsapp first" in preferred["decision"]["reasons"]


def test_opt_outs_are_never_used_and_all_opted_out_is_32004(sidecar, ids):
    both = {"email": "priya@example.com", "phone": "+919876543210"}
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "opt_out_sms": True, "opt_out_whatsapp": True})
    result = sidecar.result("communicate", communicate_params(ids, recipient=both, preferred_channel="sms"))
    assert result["decision"]["channels"] == ["email"]
    assert "sms skipped: client opted out" in result["decision"]["reasons"]
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "opt_out_email": True})
    error = sidecar.error("communicate", communicate_params(ids, recipient=both))
    assert error["code"] == -32004
    assert "email skipped: client opted out" in error["data"]["reasons"]


def test_communications_get_reads_back_from_a_new_run(start, workdir, ids):
    first = start()
    result = first.result("communicate", communicate_params(ids))
    assert first.stop() == 0 and not first.violations
    second = start()
    record = second.result("communications.get", {"communication_id": result["communication_id"]})
    assert second.stop() == 0 and not second.violations
    assert record["status"] == "sent" and record["channel_used"] == "email"
    assert [e["status"] for e in record["events"]] == ["queued", "sent"]
    assert record["attempts"][0]["outcome"] == "sent"
    assert record["context"] == {"client_name": "Priya Sharma"}
    assert record["decision"] == result["decision"]


def test_communications_get_of_an_unknown_id_is_32002(sidecar):
    error = sidecar.error("communications.get", {"communication_id": "00000000-0000-4000-8000-000000000000"})
    assert error["code"] == -32002


def test_communications_list_pages_newest_first(sidecar, ids):
    made = [sidecar.result("communicate", communicate_params(ids))["communication_id"] for _ in range(5)]
    other = sidecar.result("communicate", communicate_params({**ids, "plan_id": "550e8400-e29b-41d4-a716-446655449999"}))
    seen, cursor = [], None
    while True:
        params = {"plan_id": ids["plan_id"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = sidecar.result("communications.list", params)
        seen += [c["communication_id"] for c in page["communications"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    assert other["communication_id"] not in seen
    by_client = sidecar.result("communications.list", {"client_id": ids["client_id"], "status": "sent"})
    assert len(by_client["communications"]) == 6


def test_communications_list_rejects_a_bad_limit_and_cursor(sidecar):
    assert sidecar.error("communications.list", {"limit": 0})["data"]["field"] == "limit"
    assert sidecar.error("communications.list", {"limit": 501})["data"]["field"] == "limit"
    assert sidecar.error("communications.list", {"cursor": "bm9wZQ=="})["data"]["field"] == "cursor"


def test_preferences_default_then_update_merges_and_persists(start, workdir, ids):
    process = start()
    defaults = process.result("preferences.get", {"client_id": ids["client_id"]})
    # The harness's policy has no default quiet hours (see sidecar.py).
    assert defaults["timezone"] == "UTC" and defaults["quiet_hours_start"] == defaults["quiet_hours_end"] == "00:00"
    assert "updated_at" not in defaults
    process.result("preferences.update", {"client_id": ids["client_id"], "timezone": "Asia/Kolkata", "preferred_channels": ["whatsapp"]})
    updated = process.result("preferences.update", {"client_id": ids["client_id"], "quiet_hours_start": "21:30"})
    assert updated["timezone"] == "Asia/Kolkata" and updated["preferred_channels"] == ["whatsapp"]
    assert updated["quiet_hours_start"] == "21:30" and "updated_at" in updated
    assert process.stop() == 0 and not process.violations
    again = start()
    assert again.result("preferences.get", {"client_id": ids["client_id"]}) == updated
    assert again.stop() == 0



def test_the_policy_sets_the_quiet_hours_of_clients_who_have_not_set_theirs(start, workdir, ids):
    """default_quiet_hours: here an hour either side of now (UTC, the default time zone), so a high
    urgency send is deferred to its end and a critical one is not."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start_at, end_at = (now - datetime.timedelta(hours=1)).strftime("%H:%M"), (now + datetime.timedelta(hours=1)).strftime("%H:%M")
    (workdir / "quiet.json").write_text(json.dumps({"default_quiet_hours": {"start": start_at, "end": end_at}}))
    process = start(env={"POLICY_FILE": str(workdir / "quiet.json")})
    defaults = process.result("preferences.get", {"client_id": ids["client_id"]})
    assert (defaults["quiet_hours_start"], defaults["quiet_hours_end"]) == (start_at, end_at)
    def reasons(urgency):
        return " | ".join(process.result("communicate", communicate_params(ids, urgency=urgency, dry_run=True))["decision"]["reasons"])

    assert f"quiet hours {start_at}-{end_at} UTC: deferred" in reasons("high")
    assert f"critical: sent during quiet hours {start_at}-{end_at}" in reasons("critical")
    # A client's own quiet hours replace the default.
    process.result("preferences.update", {"client_id": ids["client_id"], "quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
    assert "quiet hours" not in reasons("high")
    assert process.stop() == 0

def test_preferences_update_refuses_what_it_cannot_honour(sidecar, ids):
    client = {"client_id": ids["client_id"]}
    cases = [
        ({"timezone": "Mars/Phobos"}, "timezone", "IANA"),
        ({"timezone": "EST"}, "timezone", "IANA"),
        ({"quiet_hours_start": "25:00"}, "quiet_hours_start", "HH:MM"),
        ({"quiet_hours_end": "8:00"}, "quiet_hours_end", "HH:MM"),
        ({"preferred_channels": ["email", "email"]}, "preferred_channels", "twice"),
        ({"preferred_channels": ["fax"]}, "preferred_channels[0]", "email"),
        ({"opt_out_sms": "yes"}, "opt_out_sms", "boolean"),
        ({"language_preference": "english please"}, "language_preference", "BCP 47"),
        ({"favourite_colour": "blue"}, "favourite_colour", "accepted"),
    ]
    for change, field, words in cases:
        error = sidecar.error("preferences.update", {**client, **change})
        assert (error["code"], error["data"]["field"]) == (-32602, field), error
        assert words in error["data"]["reason"]
    assert "updated_at" not in sidecar.result("preferences.get", client)


def test_preferred_channels_from_preferences_come_first(sidecar, ids):
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "preferred_channels": ["whatsapp"]})
    result = sidecar.result("communicate", communicate_params(
        ids, urgency="normal", recipient={"email": "priya@example.com", "whatsapp": "+919876543210"}))
    assert result["decision"]["channels"] == ["whatsapp", "email"]
    assert "client prefers whatsapp" in result["decision"]["reasons"]


def test_dry_run_decides_and_stores_nothing(sidecar, ids, workdir):
    result = sidecar.result("communicate", communicate_params(ids, dry_run=True))
    assert result["dry_run"] is True and result["decision"]["channels"] == ["email"]
    assert sidecar.result("communications.list", {"plan_id": ids["plan_id"]})["communications"] == []
    assert not (workdir / "outbox").exists()
    assert not [n for n in sidecar.notifications if n["method"] == "communication.status"]


def test_an_idempotency_key_sends_once_across_restarts(start, workdir, ids):
    params = communicate_params(ids, idempotency_key="plan-1/node-welcome/run-1")
    first = start()
    original = first.result("communicate", params)
    assert first.stop() == 0
    second = start()
    repeated = second.result("communicate", params)
    assert repeated["communication_id"] == original["communication_id"]
    assert repeated["status"] == "sent" and repeated["attempts"] == original["attempts"]
    assert len(list((workdir / "outbox" / "email").glob("*.eml"))) == 1
    changed = second.error("communicate", {**params, "context": {"client_name": "Someone Else"}})
    assert changed["code"] == -32003 and "idempotency_key" in changed["data"]["reason"]
    assert second.error("communicate", {**params, "idempotency_key": ""})["data"]["field"] == "idempotency_key"


def test_normal_urgency_waits_for_business_hours_in_the_clients_time_zone(sidecar, ids):
    """With the real clock: a zone where it is now between 18:00 and 22:00 (after business hours,
    before quiet hours) sends at the next 09:00 there."""
    import datetime
    import zoneinfo
    zones = ["Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
             "America/New_York", "America/Halifax", "America/Sao_Paulo", "Atlantic/South_Georgia", "Atlantic/Azores",
             "Europe/London", "Europe/Paris", "Europe/Athens", "Europe/Moscow", "Asia/Dubai", "Asia/Karachi",
             "Asia/Dhaka", "Asia/Bangkok", "Asia/Shanghai", "Asia/Tokyo", "Australia/Brisbane", "Pacific/Noumea",
             "Pacific/Auckland"]
    now = datetime.datetime.now(datetime.timezone.utc)
    zone = next(z for z in zones if 18 <= now.astimezone(zoneinfo.ZoneInfo(z)).hour < 21)
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    nine = (local + datetime.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    sidecar.result("preferences.update", {"client_id": ids["client_id"], "timezone": zone})
    result = sidecar.result("communicate", communicate_params(ids, urgency="normal"))
    assert result["status"] == "scheduled" and result["attempts"] == []
    expected = nine.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert result["scheduled_for"] == expected
    assert any(r.startswith("normal urgency waits for business hours 09:00-18:00 " + zone) for r in result["decision"]["reasons"])


def test_cancel_stops_a_scheduled_communication_and_leaves_a_sent_one(start, ids, workdir):
    import datetime
    process = start(env={"SEND_POLL_MS": "100"})
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    scheduled = process.result("communicate", communicate_params(ids, send_at=soon))
    sent = process.result("communicate", communicate_params(ids))
    cancelled = process.result("communications.cancel", {"communication_id": scheduled["communication_id"]})
    assert cancelled == {"communication_id": scheduled["communication_id"], "status": "cancelled"}
    assert process.result("communications.cancel", {"communication_id": sent["communication_id"]})["status"] == "sent"
    assert process.call("communications.cancel", {"communication_id": str(__import__("uuid").uuid4())})["error"]["code"] == -32002
    import time
    time.sleep(3)
    record = process.result("communications.get", {"communication_id": scheduled["communication_id"]})
    assert record["status"] == "cancelled" and record["attempts"] == []
    assert len(list((workdir / "outbox" / "email").glob("*.eml"))) == 1


def test_templates_preview_renders_without_storing(sidecar, workdir):
    email = sidecar.result("templates.preview", {"message_type": "welcome", "channel": "email", "context": {"client_name": "Priya Sharma"}})
    assert "Priya Sharma" in email["subject"] and "<h1>Welcome, Priya Sharma!</h1>" in email["html"]
    assert email["text"].startswith("Welcome, Priya Sharma!") and "segments" not in email
    sms = sidecar.result("templates.preview", {"message_type": "reminder", "channel": "sms", "context": {"client_name": "प्रिया"}})
    assert "प्रिया" in sms["text"] and sms["segments"] >= 1
    missing = sidecar.result("templates.preview", {"message_type": "welcome", "channel": "whatsapp"})
    assert missing["text"]
    assert sidecar.error("templates.preview", {"message_type": "welcome", "channel": "fax"})["data"]["field"] == "channel"
    assert not (workdir / "outbox").exists()
