"""The operations pages in a real headless Chromium: log in, the dashboard draws its charts, the
pairing page shows a QR and its button reaches the control table, and the console stays clean.

Chromium and chromedriver come from Debian (`.ci/run` installs them); without them this test fails
rather than skips, so a CI machine that lost them cannot pass silently.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bot.models import BotStatus, ConnectionEvent, ControlCommand, MessageStat
from ops.stats_cache import stats_cache
from sessions_store.models import PairingCode, WhatsAppSession
from tests.support.events import reconnect_recorded
from tests.support.operators import operator

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1900",
]
MB = 1024 * 1024


def _find(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"none of {', '.join(names)} is installed: `apt-get install -y chromium chromium-driver`")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver")
    profile = tempfile.mkdtemp(prefix="blacksky-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _seed() -> None:
    now = timezone.now()
    this_minute = now.replace(second=0, microsecond=0)
    BotStatus.objects.create(
        session_name="default",
        state="connected",
        state_since=now - timedelta(hours=5),
        last_heartbeat_at=now,
        process_started_at=now - timedelta(hours=6),
        connected_since=now - timedelta(hours=5),
        host="worker.1",
        pid=4242,
        rss_bytes=180 * MB,
        messages_in=5000,
        messages_out=4100,
    )
    for i in range(1, 24 * 60, 7):  # a sample every 7 minutes over the last day
        MessageStat.objects.create(
            session_name="default",
            bucket=this_minute - timedelta(minutes=i),
            messages_in=5 + i % 13,
            messages_out=3 + i % 5,
            commands=2,
            by_command={"ping": 1, "hug": 1},
            rss_max_bytes=(150 + (24 * 60 - i) // 30) * MB,
        )
    for hours_ago in (1, 2, 2, 7, 13):
        reconnect_recorded(
            session_name="default",
            at=now - timedelta(hours=hours_ago, minutes=5),
            attempt=1,
            delay_seconds=2.0,
            reason="keepalive_timeout",
            outcome="succeeded",
        )
    ConnectionEvent.objects.create(
        session_name="default", from_state="reconnecting", to_state="connected", reason="reconnected <b>x</b>"
    )
    session = WhatsAppSession.objects.create(name="default", status="pairing")
    PairingCode.objects.create(
        session=session, kind="qr", code="2@browser-test-qr,payload,0123456789", expires_at=now + timedelta(minutes=5)
    )


def _console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_dashboard_and_pairing_page_in_headless_chromium(browser, live_server, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    stats_cache.clear()  # a copy cached by an earlier test holds another database's rows
    _seed()
    operator("ops", "sessions_store.pair_session", password="a-long-test-password")
    wait = WebDriverWait(browser, 20)

    browser.get(f"{live_server.url}/dashboard/")
    wait.until(ec.presence_of_element_located((By.ID, "id_username")))  # sent to the admin login
    browser.find_element(By.ID, "id_username").send_keys("ops")
    browser.find_element(By.ID, "id_password").send_keys("a-long-test-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(lambda d: d.execute_script("return (window.blackskyCharts || []).length") == 3)

    assert "CONNECTED" in browser.find_element(By.CSS_SELECTOR, ".banner .state").text.upper()
    assert not browser.find_element(By.ID, "no-sessions").is_displayed()
    charts = browser.execute_script(
        """
        return window.blackskyCharts.map(function (c) {
          var canvas = c.chart.root.querySelector('canvas');
          var ctx = canvas.getContext('2d');
          var px = ctx.getImageData(0, 0, canvas.width, canvas.height).data, painted = 0;
          for (var i = 3; i < px.length; i += 4) { if (px[i] > 0) painted++; }
          var values = c.chart.data.slice(1).reduce(function (a, s) { return a.concat(s); }, [])
            .filter(function (v) { return v !== null && v > 0; });
          return {name: c.name, points: c.chart.data[0].length, values: values.length, painted: painted,
                  width: canvas.width};
        });
        """
    )
    assert [c["name"] for c in charts] == ["rate", "memory", "reconnects"]
    for chart in charts:
        assert chart["points"] > 0 and chart["values"] > 0, chart
        assert chart["painted"] > 500, chart  # the canvas has ink on it, not just an empty frame
    # text from the database is shown as text, never as markup
    events = browser.find_element(By.CSS_SELECTOR, '[data-table="events"]').text
    assert "reconnected <b>x</b>" in events
    browser.save_screenshot(str(tmp_path / "dashboard.png"))
    assert _console_errors(browser) == []

    browser.find_element(By.LINK_TEXT, "pairing page").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#qr svg")))
    paths = [p.get_attribute("d") or "" for p in browser.find_elements(By.CSS_SELECTOR, "#qr svg path")]
    assert max(map(len, paths)) > 300  # the modules of a real QR, not an empty box
    browser.save_screenshot(str(tmp_path / "pair.png"))
    browser.find_element(By.ID, "refresh-qr").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".messages li")))
    assert "fresh QR" in browser.find_element(By.CSS_SELECTOR, ".messages li").text
    command = ControlCommand.objects.get()
    assert (command.action, command.state, command.requested_by.username) == ("refresh_qr", "pending", "ops")
    assert _console_errors(browser) == []

    for name in ("dashboard.png", "pair.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


PHONE_WIDTH = 390  # CSS pixels of a current phone held upright


def _phone_viewport(driver) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 3, "mobile": True},
    )


def _overflow(driver) -> dict:
    """How wide the page is against the viewport, and the widest elements that stick out (to say which)."""
    return driver.execute_script(
        """
        var vw = document.documentElement.clientWidth, wide = [];
        document.querySelectorAll('body *').forEach(function (el) {
          var r = el.getBoundingClientRect();
          if (r.right > vw + 0.5 && getComputedStyle(el).position !== 'fixed') {
            wide.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className) + ' ' + Math.round(r.right));
          }
        });
        return {scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, viewport: vw,
                wide: wide.slice(0, 8)};
        """
    )


def test_the_dashboard_and_the_pairing_page_fit_a_phone_and_pair_by_phone_number(
    browser, live_server, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    stats_cache.clear()
    _seed()
    operator("ops", "sessions_store.pair_session", password="a-long-test-password")
    wait = WebDriverWait(browser, 20)
    _phone_viewport(browser)

    browser.get(f"{live_server.url}/dashboard/")
    wait.until(ec.presence_of_element_located((By.ID, "id_username")))
    browser.find_element(By.ID, "id_username").send_keys("ops")
    browser.find_element(By.ID, "id_password").send_keys("a-long-test-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(lambda d: d.execute_script("return (window.blackskyCharts || []).length") == 3)
    dashboard = _overflow(browser)
    browser.save_screenshot(str(tmp_path / "dashboard-phone.png"))
    assert dashboard["viewport"] == PHONE_WIDTH
    assert dashboard["scroll"] <= PHONE_WIDTH and dashboard["body"] <= PHONE_WIDTH, dashboard

    browser.get(f"{live_server.url}/pair/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#qr svg")))
    qr_page = _overflow(browser)
    assert qr_page["scroll"] <= PHONE_WIDTH, qr_page

    # Someone who cannot scan: a wrong number first (a clear error, nothing queued), then the right one.
    phone = browser.find_element(By.ID, "pair-phone")
    phone.send_keys("0151 2345")
    browser.find_element(By.ID, "pair-phone-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "pair-phone-error")))
    assert "country code" in browser.find_element(By.ID, "pair-phone-error").text
    assert not ControlCommand.objects.exists()
    assert _overflow(browser)["scroll"] <= PHONE_WIDTH
    phone = browser.find_element(By.ID, "pair-phone")
    phone.clear()
    phone.send_keys("+49 151 23456789")
    browser.find_element(By.ID, "pair-phone-submit").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".messages li")))
    assert "ending 6789" in browser.find_element(By.CSS_SELECTOR, ".messages li").text
    command = ControlCommand.objects.get()
    assert (command.action, command.args, command.requested_by.username) == (
        "pair_phone",
        {"phone": "4915123456789"},
        "ops",
    )

    # What the worker's child then stores: the page shows the code, its expiry and the steps.
    session = WhatsAppSession.objects.get(name="default")
    PairingCode.objects.filter(session=session).delete()
    PairingCode.objects.create(
        session=session, kind="phone_code", code="WXYZ-1234", expires_at=timezone.now() + timedelta(minutes=3)
    )
    wait.until(lambda d: d.find_elements(By.ID, "phone-code"))  # the page reloads by itself
    assert browser.find_element(By.ID, "phone-code").text == "WXYZ-1234"
    assert "Link with phone number instead" in browser.find_element(By.ID, "phone-steps").text
    code_page = _overflow(browser)
    browser.save_screenshot(str(tmp_path / "pair-phone.png"))
    assert code_page["scroll"] <= PHONE_WIDTH, code_page
    print(
        f"page width at {PHONE_WIDTH} px: dashboard {dashboard['scroll']}, /pair/ with a QR {qr_page['scroll']}, "
        f"with a phone code {code_page['scroll']}"
    )
    assert _console_errors(browser) == []
