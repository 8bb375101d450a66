"""The dashboard on the side port: off without DASHBOARD_TOKEN, a session cookie for the right token,
401 for anything else, and a page that renders its charts in a real headless browser."""
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import communicate_params
from test_webhooks import listening, request, side_port

TOKEN = "dashboard-token-7f3a9c1e5b8d2a4c6e0f"


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_without_a_token_there_is_no_dashboard(start):
    sidecar = start(env=side_port())
    assert request(listening(sidecar), "GET", "/dashboard?token=anything")[0] == 404


def test_only_the_right_token_opens_a_session_and_the_token_is_never_logged(start, ids):
    sidecar = start(env={**side_port(), "DASHBOARD_TOKEN": TOKEN})
    base = listening(sidecar)
    sidecar.result("communicate", communicate_params(ids))

    assert request(base, "GET", "/dashboard")[0] == 401
    assert request(base, "GET", "/dashboard?token=wrong")[0] == 401
    assert request(base, "GET", "/dashboard", headers={"Cookie": "crm_dashboard=" + TOKEN})[0] == 401

    status, headers, _ = request(base, "GET", f"/dashboard?token={TOKEN}&days=7")
    assert status == 303 and headers["Location"] == "/dashboard?days=7"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    session = cookie.split(";")[0]
    assert TOKEN not in session

    status, headers, body = request(base, "GET", "/dashboard?days=7", headers={"Cookie": session})
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    assert page.count("<svg") >= 3 and TOKEN not in page
    # The period selector, with 7 days chosen.
    assert all(f"days={days}" in page for days in (7, 30, 90))
    # Nothing external: no scripts, no remote assets.
    assert "<script" not in page and not re.search(r"""(src|href)=["']https?://""", page)

    sidecar.stop()
    assert TOKEN not in sidecar.stderr()


def test_the_dashboard_renders_in_a_headless_browser_without_console_errors(start, ids, workdir):
    browser = chromium()
    if not browser:
        pytest.skip("chromium is not installed (script/bootstrap --python installs it)")
    sidecar = start(env={**side_port(), "DASHBOARD_TOKEN": TOKEN})
    base = listening(sidecar)
    for channel in ("email", "sms"):
        sidecar.result("communicate", communicate_params(
            ids, preferred_channel=channel, recipient={"email": "priya@example.com", "phone": "+14155550123"}))

    def run(*extra, url):
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={workdir / 'profile'}",
             "--enable-logging=stderr", "--v=0", *extra, url],
            capture_output=True, text=True, timeout=120,
        )

    # The token link: the browser follows the redirect with its new cookie to the page itself.
    dom = run("--dump-dom", url=f"{base}/dashboard?token={TOKEN}")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") >= 3 and "Delivery" in dom.stdout, dom.stdout[:500]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Refused to" in line]
    assert not console, console

    shot = workdir / "dashboard.png"
    picture = run("--screenshot=" + str(shot), "--window-size=1280,1600", "--hide-scrollbars", url=f"{base}/dashboard?token={TOKEN}")
    assert picture.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000, picture.stderr[-2000:]
    # A wrong token in the browser: the 401 page, no charts.
    refused = run("--dump-dom", url=f"{base}/dashboard?token=wrong")
    assert "<svg" not in refused.stdout and "Unauthorized" in refused.stdout
    keep = pathlib.Path(__file__).resolve().parents[2] / ".build" / "dashboard.png"
    if keep.parent.exists():
        shutil.copy(shot, keep)  # the latest screenshot, for the README's by hand


def test_a_guessable_token_is_refused_at_start_naming_the_setting(workdir):
    from sidecar import BINARY
    done = subprocess.run([BINARY, "validate-config"], cwd=workdir, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DASHBOARD_TOKEN": "short"})
    assert done.returncode != 0 and "DASHBOARD_TOKEN" in done.stdout + done.stderr
    assert "short" not in done.stdout + done.stderr
