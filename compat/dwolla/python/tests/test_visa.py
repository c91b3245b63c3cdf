"""The Visa open-banking flow (Dwolla's open-banking/visa guide; dwolla-wire.md §8) with dwollav2 2.3.0,
against the second server run.sh starts with --visa-partner (run.sh runs this file there only):

customer → GET /exchange-partners, pick "Visa" (case-insensitive) → POST exchange-sessions with
redirect-url → GET the session → the browser (node browser/visa_bank.mjs) opens
external-provider-session, signs in as u51613239 / cty440, picks an account → lands on the host's
/create-funding-source?exchange=<id> → POST funding-sources {_links.exchange} → verified, with its
two events. Then the authentication-error user and Cancel.
"""

import json
import os
import subprocess
from urllib.parse import parse_qsl, urlsplit

import dwollav2
import pytest

from conftest import BASE, DWOLLA_DIR, DWOLLA_SANDBOX, FUNDING_SOURCE_TOPICS, MX_BASE, SCREENSHOT_ROOT

SUITE = "visa-python"
VISA_HELPER = DWOLLA_DIR / "browser" / "visa_bank.mjs"
REDIRECT_URL = os.environ.get("VISA_REDIRECT_URL", "")
STATE = {}


def need(key):
    if STATE.get(key) is None:
        pytest.fail(f"blocked: an earlier step did not produce {key}", pytrace=False)
    return STATE[key]


def call(token, method, path, body=None):
    try:
        if method == "GET":
            return token.get(path, body or {})
        return token.post(path, body if body is not None else {})
    except dwollav2.Error as e:
        pytest.fail(f"{method} {path} {body or ''} → {type(e).__name__} {getattr(e, 'status', '?')} {getattr(e, 'body', e)}", pytrace=False)


def complete_visa(url, *args):
    """Runs `node compat/dwolla/browser/visa_bank.mjs <url> …`; returns its JSON."""
    proc = subprocess.run(
        ["node", str(VISA_HELPER), url, *args], capture_output=True, text=True, timeout=90, cwd=str(DWOLLA_DIR)
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    if proc.returncode != 0 or not result.get("ok"):
        pytest.fail(f"visa helper exited {proc.returncode}: {result.get('error') or proc.stdout[-2000:]}\n{proc.stderr[-2000:]}", pytrace=False)
    return result


def visa_session(token):
    """POST customers/{id}/exchange-sessions with Visa and the redirect URL; returns the bank page URL."""
    res = call(
        token,
        "POST",
        f"{need('customer_url')}/exchange-sessions",
        {
            "_links": {
                "exchange-partner": {"href": f"{DWOLLA_SANDBOX}/exchange-partners/{need('visa')['id']}"},
                "redirect-url": {"href": REDIRECT_URL},
            }
        },
    )
    assert res.status == 201
    session = call(token, "GET", res.headers["location"])
    link = session.body["_links"].get("external-provider-session")
    assert link and link["resource-type"] == "text/html", session.body
    return link["href"]


def test_a_token_and_visa_partner(client):
    """(a) A token; GET /exchange-partners lists Visa (case-insensitive name)."""
    assert REDIRECT_URL, "VISA_REDIRECT_URL is set by run.sh"
    token = STATE.setdefault("token", client.Auth.client())
    partners = call(token, "GET", "exchange-partners").body["_embedded"]["exchange-partners"]
    visa = next((p for p in partners if p["name"].lower() == "visa"), None)
    assert visa, [p["name"] for p in partners]
    STATE["visa"] = visa


def test_b_customer():
    res = call(need("token"), "POST", "customers", {"firstName": "Vic", "lastName": "Visa", "email": f"compat-visa-python-{os.getpid()}@example.com"})
    STATE["customer_url"] = res.headers["location"]
    assert STATE["customer_url"].startswith(f"{BASE}/customers/")


def test_c_session_hands_over_the_bank_page():
    href = visa_session(need("token"))
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}" == MX_BASE and parts.path == "/1.0/account-check/connect"
    query = dict(parse_qsl(parts.query))
    assert list(query) == ["client_id", "redirect_uri", "authorization_code", "market", "locale", "state", "session_id"]
    assert query["redirect_uri"] == f"{BASE}/redirect/tink"
    STATE["page_url"] = href


def test_d_browser_signs_in_and_lands_with_an_exchange():
    result = complete_visa(
        need("page_url"), "--username", "u51613239", "--password", "cty440", "--account", "High Yield Savings",
        "--screenshots", str(SCREENSHOT_ROOT / SUITE),
    )
    assert result["landed"].startswith(f"{REDIRECT_URL}?exchange="), result
    STATE["exchange"] = result["exchange"]


def test_e_funding_source_is_verified_with_its_events():
    token = need("token")
    exchange = need("exchange")
    assert call(token, "GET", f"exchanges/{exchange}").body["status"] == "active"
    res = call(
        token,
        "POST",
        f"{need('customer_url')}/funding-sources",
        {"_links": {"exchange": {"href": f"{DWOLLA_SANDBOX}/exchanges/{exchange}"}}, "bankAccountType": "savings", "name": "Visa Savings"},
    )
    location = res.headers["location"]
    fs = call(token, "GET", location).body
    assert fs["status"] == "verified" and fs["bankName"] == "Visa Demo Bank" and fs["bankAccountType"] == "savings", fs
    fs_id = location.rsplit("/", 1)[-1]
    events = call(token, "GET", "events", {"limit": 200}).body["_embedded"]["events"]
    topics = [e["topic"] for e in events if e["resourceId"] == fs_id][::-1]
    assert topics == list(FUNDING_SOURCE_TOPICS)


def test_f_authentication_error_user_lands_with_the_error():
    result = complete_visa(visa_session(need("token")), "--username", "u92721594", "--password", "nbs589")
    assert result["landed"] == f"{REDIRECT_URL}?error=AUTHENTICATION_ERROR", result


def test_g_cancel_lands_with_user_cancelled():
    result = complete_visa(visa_session(need("token")), "--cancel-at", "login")
    assert result["landed"] == f"{REDIRECT_URL}?error=USER_CANCELLED", result
    exchanges = call(need("token"), "GET", f"{need('customer_url')}/exchanges").body
    assert exchanges["total"] == 1
