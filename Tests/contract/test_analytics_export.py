"""analytics.export through the built binary: communications as CSV and JSON without personal data,
the summary as JSON, CSV and PDF, inline or written to a private file that never replaces another."""
import base64
import csv
import datetime
import hashlib
import io
import json
import os
import shutil
import subprocess

import pytest

from conftest import communicate_params

PERSONAL = ["priya@example.com", "Priya", "Sharma", "+14155550123"]


def window():
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"start": start, "end": end}


def send_some(sidecar, ids, count=3):
    sent = []
    for _ in range(count):
        params = communicate_params(ids, recipient={"email": "priya@example.com", "phone": "+14155550123", "name": "Priya Sharma"})
        sent.append(sidecar.result("communicate", params)["communication_id"])
    return sent


def content_of(result):
    raw = result["content"].encode() if result["content_encoding"] == "utf-8" else base64.b64decode(result["content"])
    assert len(raw) == result["bytes"] and hashlib.sha256(raw).hexdigest() == result["sha256"]
    return raw


def test_communications_csv_has_one_row_each_and_no_personal_data(sidecar, ids):
    sent = send_some(sidecar, ids)
    result = sidecar.result("analytics.export", {**window(), "plan_id": ids["plan_id"]})
    assert (result["format"], result["kind"], result["row_count"]) == ("csv", "communications", 3)
    text = content_of(result).decode()
    assert text.endswith("\r\n") and "\r\n" in text.split("\n", 1)[0] + "\n"
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["communication_id"] for row in rows] == sent
    assert all(row["status"] == "sent" and row["channel"] == "sms" and row["provider"] == "outbox" for row in rows)
    assert all(row["attempts"] == "1" and row["sent_at"] and row["delivered_at"] == "" for row in rows)
    for word in PERSONAL:
        assert word not in text


def test_communications_json_to_a_file_is_private_and_never_replaces_one(sidecar, ids, workdir):
    send_some(sidecar, ids, count=2)
    target = workdir / "exports" / "communications.json"
    target.parent.mkdir()
    result = sidecar.result("analytics.export", {**window(), "format": "json", "path": str(target)})
    assert result["path"] == str(target) and result["row_count"] == 2 and "content" not in result
    data = target.read_bytes()
    assert len(data) == result["bytes"] and hashlib.sha256(data).hexdigest() == result["sha256"]
    assert os.stat(target).st_mode & 0o777 == 0o600
    records = json.loads(data)
    assert len(records) == 2 and records[0]["delivered_at"] is None and records[0]["attempts"] == 1
    for word in PERSONAL:
        assert word not in data.decode()
    # The same path again: refused, and the first file is untouched; no partial file is left.
    error = sidecar.error("analytics.export", {**window(), "path": str(target)})
    assert error["code"] == -32602 and error["data"]["field"] == "path"
    assert target.read_bytes() == data and sorted(p.name for p in target.parent.iterdir()) == ["communications.json"]


def test_an_empty_period_is_a_header_or_an_empty_array(sidecar):
    empty = {"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}
    text = content_of(sidecar.result("analytics.export", empty)).decode()
    assert text.count("\r\n") == 1 and text.startswith("communication_id,plan_id,client_id,")
    assert json.loads(content_of(sidecar.result("analytics.export", {**empty, "format": "json"}))) == []


def test_the_summary_is_the_report_as_json_and_as_csv_tables(sidecar, ids):
    send_some(sidecar, ids, count=2)
    params = {**window(), "plan_id": ids["plan_id"], "interval": "hour"}
    report = sidecar.result("analytics.get", params)
    summary = sidecar.result("analytics.export", {**params, "kind": "summary", "format": "json"})
    assert summary["row_count"] == 2
    exported = json.loads(content_of(summary))
    for key in ("generated_at",):
        exported.pop(key), report.pop(key)
    assert exported == report

    tables = content_of(sidecar.result("analytics.export", {**params, "kind": "summary"})).decode().split("\r\n\r\n")
    parsed = {rows[0][0]: rows for rows in (list(csv.reader(io.StringIO(t, newline=""))) for t in tables)}
    assert parsed["totals"][1][:3] == ["all", "2", "2"]
    assert parsed["channel"][1][0] == "sms" and parsed["status"][0] == ["status", "communications"]
    assert sum(int(row[1]) for row in parsed["series_start"][1:]) == 2


def test_the_summary_as_pdf_opens_and_shows_the_totals(sidecar, ids, workdir):
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed (script/bootstrap installs it)")
    send_some(sidecar, ids, count=2)
    params = {**window(), "plan_id": ids["plan_id"], "kind": "summary", "format": "pdf"}
    inline = sidecar.result("analytics.export", params)
    assert inline["content_encoding"] == "base64" and content_of(inline).startswith(b"%PDF-")
    target = workdir / "report.pdf"
    written = sidecar.result("analytics.export", {**params, "path": str(target)})
    info = subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True, check=True).stdout
    assert "Pages:" in info and written["bytes"] == target.stat().st_size
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True).stdout
    report = sidecar.result("analytics.get", {k: v for k, v in params.items() if k not in ("kind", "format")})
    assert "Delivery rate" in text and f"{report['delivery_rate'] * 100:.1f}%" in text
    assert "Communications" in text and str(report["totals"]["communications"]) in text
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(target), str(workdir / "page")], check=True)
    assert len(list(workdir.glob("page*.png"))) == pages


@pytest.mark.parametrize("params, field", [
    ({"format": "pdf"}, "format"),
    ({"format": "xlsx"}, "format"),
    ({"kind": "everything"}, "kind"),
    ({"path": ""}, "path"),
    ({"path": "/no/such/folder/out.csv"}, "path"),
    ({"kind": "summary", "interval": "minute"}, "interval"),
])
def test_invalid_params_are_32602_naming_the_field(sidecar, params, field):
    error = sidecar.error("analytics.export", {**window(), **params})
    assert error["code"] == -32602 and error["data"]["field"] == field, error
