"""analytics.get and analytics.export over a month of 1,000,000 communications, on SQLite and on
PostgreSQL: the report's time against the database's own time to scan the same rows once (a
`count(*)` with one sum, run by the database's own client in the same script), and the export's time
and the sidecar's peak memory while it streams a million rows to a file.

The database is made by the sidecar itself (so its schema and key are real), then filled straight
through SQL: a million sends would take the sidecar a quarter of an hour.

    python3 Tests/bench/analytics_scale.py [--binary PATH] [--rows 1000000] [--postgres URL]

PostgreSQL runs when --postgres (or CRM_TEST_POSTGRES_URL) names a server; each run gets a new
database on it.
"""
import argparse
import json
import os
import pathlib
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000
TYPES = ["welcome", "reminder", "budget_summary", "vendor_options", "selection_confirmation", "blueprint_delivery"]

# Every row is a copy of one real communication with these columns made from its number g (0-based):
# accepted over the last 30 days, a spread of types, channels and outcomes, milestones after acceptance.
VARIED = {
    "id": None,  # set per backend
    "message_type": "CASE g % 6 " + " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(TYPES)) + " END",
    "channel_used": "CASE g % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'sms' ELSE 'whatsapp' END",
    "last_channel": "CASE g % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'sms' ELSE 'whatsapp' END",
    "first_channel": "CASE WHEN g % 50 = 0 THEN 'sms' WHEN g % 3 = 0 THEN 'email' WHEN g % 3 = 1 THEN 'sms' ELSE 'whatsapp' END",
    "provider": "CASE g % 3 WHEN 0 THEN 'smtp' WHEN 1 THEN 'twilio' ELSE 'whatsapp_cloud' END",
    "status": "CASE WHEN g % 40 = 0 THEN 'failed' WHEN g % 40 = 1 THEN 'bounced' WHEN g % 5 = 0 THEN 'clicked' "
              "WHEN g % 5 = 1 THEN 'opened' WHEN g % 5 = 2 THEN 'delivered' ELSE 'sent' END",
    "created_at": "{now} - (g * {span} / {rows})",
    "updated_at": "{now} - (g * {span} / {rows}) + 60000",
    "queued_at": "{now} - (g * {span} / {rows})",
    "sent_at": "{now} - (g * {span} / {rows}) + 200 + g % 1000",
    "delivered_at": "CASE WHEN g % 5 <= 2 AND g % 3 <> 0 THEN {now} - (g * {span} / {rows}) + 3000 + g % 7000 END",
    "opened_at": "CASE WHEN g % 5 <= 1 THEN {now} - (g * {span} / {rows}) + 60000 END",
    "clicked_at": "CASE WHEN g % 5 = 0 THEN {now} - (g * {span} / {rows}) + 90000 END",
    "attempt_count": "1 + (g % 50 = 0)::int",
    "retries": "0",
    "last_error": "CASE WHEN g % 40 = 0 THEN 'transient' END",
    "next_attempt_at": "NULL", "lease_owner": "NULL", "lease_expires_at": "NULL", "idempotency_key": "NULL",
}


def expressions(rows, now, sqlite):
    values = {}
    for column, expression in VARIED.items():
        if expression is None:
            continue
        expression = expression.format(now=now, span=30 * DAY_MS, rows=rows)
        if sqlite:
            expression = expression.replace("::int", "")
        values[column] = expression
    return values


def sidecar(binary, env, cwd):
    return subprocess.Popen([binary], cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def call(process, method, params, number):
    process.stdin.write((json.dumps({"jsonrpc": "2.0", "id": number, "method": method, "params": params}) + "\n").encode())
    process.stdin.flush()
    while True:
        message = json.loads(process.stdout.readline())
        if message.get("id") == number:
            assert "result" in message, message
            return message["result"]


def seed(binary, env, cwd):
    """One real communication, so the database has its schema, its key and a template row."""
    process = sidecar(binary, env, cwd)
    process.stdout.readline()  # sidecar.ready
    call(process, "communicate", {
        "plan_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()), "message_type": "reminder", "urgency": "high",
        "recipient": {"email": "bench@example.com"}, "context": {"event_name": "Gala"}, "wait": True,
    }, 1)
    process.stdin.close()
    process.wait(timeout=60)


def fill_sqlite(database, rows, now):
    with sqlite3.connect(database) as db:
        columns = [c[1] for c in db.execute("PRAGMA table_info(communications)")]
        values = expressions(rows, now, sqlite=True)
        values["id"] = "lower(hex(randomblob(16)))"
        select = ", ".join(values.get(c, c) for c in columns)
        db.execute(f"""
            INSERT INTO communications ({', '.join(columns)})
            WITH RECURSIVE n(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM n WHERE g + 1 < {rows})
            SELECT {select} FROM n, (SELECT * FROM communications LIMIT 1)""")
        db.execute("ANALYZE")


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, check=True).stdout


def fill_postgres(url, rows, now):
    columns = psql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'communications' ORDER BY ordinal_position").split()
    values = expressions(rows, now, sqlite=False)
    values["id"] = "md5(g::text || random()::text)"
    select = ", ".join(values.get(c, f"t.{c}") for c in columns)
    psql(url, f"INSERT INTO communications ({', '.join(columns)}) SELECT {select} FROM generate_series(0, {rows - 1}) g, "
              f"(SELECT * FROM communications LIMIT 1) t")
    psql(url, "VACUUM ANALYZE communications")


def timed(function, repeat=3):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(name, binary, env, cwd, scan, rows):
    now = int(time.time() * 1000)
    period = {"start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now / 1000 - 30 * 86400 - 3600)),
              "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now / 1000 + 3600))}
    process = sidecar(binary, env, cwd)
    process.stdout.readline()
    counter = iter(range(2, 1 << 30))
    # The first report folds the bulk load's million deltas into the tallies (a sidecar folds them
    # before each report and hourly, so in use there are only a few to fold).
    started = time.perf_counter()
    report = call(process, "analytics.get", period, next(counter))
    first = time.perf_counter() - started
    assert report["totals"]["communications"] >= rows, report["totals"]
    get = timed(lambda: call(process, "analytics.get", period, next(counter)))
    reference = timed(scan)
    before = peak_rss_mb(process.pid)
    target = pathlib.Path(cwd) / f"export-{uuid.uuid4()}.csv"
    started = time.perf_counter()
    exported = call(process, "analytics.export", {**period, "path": str(target)}, next(counter))
    export_seconds = time.perf_counter() - started
    peak = peak_rss_mb(process.pid)
    target.unlink()
    process.stdin.close()
    process.wait(timeout=120)
    print(f"{name:10} analytics.get {get * 1000:8.0f} ms (the first, folding a million deltas, {first:5.1f} s)   "
          f"one scan by the database {reference * 1000:6.0f} ms   "
          f"ratio {get / reference:5.1f}   export {exported['row_count']} rows in {export_seconds:5.1f} s, "
          f"peak RSS {peak:5.0f} MB (before the export {before:.0f} MB)")


def main():
    parser = argparse.ArgumentParser()
    default = ROOT / ".build-release" / "release" / "crm-sidecar"
    parser.add_argument("--binary", default=str(default if default.exists() else ROOT / ".build" / "debug" / "crm-sidecar"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("CRM_TEST_POSTGRES_URL"))
    arguments = parser.parse_args()
    print(f"{arguments.rows} communications over 30 days, {arguments.binary}")
    now = int(time.time() * 1000)
    base = {**os.environ, "WEBHOOK_PORT": "0", "LOG_LEVEL": "error", "DB_ENCRYPTION_KEY": "q7m3Xk0dV9b2Lr8pT1yW4zC6nF5hJ0sA2eG9uK3iR8o="}

    with tempfile.TemporaryDirectory() as folder:
        env = {**base, "DATABASE_URL": f"sqlite:{folder}/crm.sqlite", "OUTBOX_DIR": f"{folder}/outbox"}
        seed(arguments.binary, env, folder)
        fill_sqlite(f"{folder}/crm.sqlite", arguments.rows, now)

        def scan_sqlite():
            with sqlite3.connect(f"{folder}/crm.sqlite") as db:
                db.execute("SELECT count(*), sum(sent_at IS NOT NULL) FROM communications").fetchone()
        measure("sqlite", arguments.binary, env, folder, scan_sqlite, arguments.rows)

    if arguments.postgres:
        name = "crm_bench_" + uuid.uuid4().hex
        psql(arguments.postgres, f"CREATE DATABASE {name}")
        url = arguments.postgres.replace("/postgres?", f"/{name}?")
        try:
            with tempfile.TemporaryDirectory() as folder:
                env = {**base, "DATABASE_URL": url, "OUTBOX_DIR": f"{folder}/outbox"}
                seed(arguments.binary, env, folder)
                fill_postgres(url, arguments.rows, now)
                measure("postgres", arguments.binary, env, folder,
                        lambda: psql(url, "SELECT count(*), count(sent_at) FROM communications"), arguments.rows)
        finally:
            psql(arguments.postgres, f"DROP DATABASE {name}")


if __name__ == "__main__":
    main()
