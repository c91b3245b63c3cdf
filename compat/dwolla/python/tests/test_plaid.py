"""Dwolla's Plaid flow (dwolla-wire.md §8, Plaid column) with dwollav2 2.3.0, unchanged except for
its URLs: customer → partner "Plaid" by case-insensitive name → exchange session →
externalProviderSessionToken → Link completed as the end user in Chromium (node
compat/plaid/complete_link.mjs, react-plaid-link host page) → exchange with plaid.publicToken →
verified funding source → its two events; the spent public token is then InvalidExchangeToken."""

import json
import secrets
import subprocess

import dwollav2
import pytest

from conftest import BASE, DWOLLA_DIR, DWOLLA_SANDBOX, FUNDING_SOURCE_TOPICS, MX_BASE, SCREENSHOT_ROOT

PLAID_HELPER = DWOLLA_DIR.parent / "plaid" / "complete_link.mjs"


def complete_link(link_token, screenshot_dir):
    """Runs `node compat/plaid/complete_link.mjs <token> --mx-base … --screenshots …`; returns its JSON."""
    proc = subprocess.run(
        ["node", str(PLAID_HELPER), link_token, "--mx-base", MX_BASE, "--screenshots", str(screenshot_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(PLAID_HELPER.parent),
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    result = json.loads(lines[-1]) if lines else {}
    if proc.returncode != 0 or not result.get("ok"):
        pytest.fail(f"Link helper exited {proc.returncode}: {result.get('error') or proc.stdout[-2000:]}\n{proc.stderr[-2000:]}", pytrace=False)
    return result


def test_plaid_flow_makes_a_verified_funding_source(client):
    token = client.Auth.client()
    res = token.post("customers", {"firstName": "Pat", "lastName": "Plaid", "email": f"compat-python-plaid-{secrets.token_hex(6)}@example.com"})
    customer = res.headers["location"]
    assert customer.startswith(f"{BASE}/customers/")
    partners = token.get("exchange-partners").body["_embedded"]["exchange-partners"]
    plaid = next(p for p in partners if p["name"].lower() == "plaid")
    partner = {"exchange-partner": {"href": f"{DWOLLA_SANDBOX}/exchange-partners/{plaid['id']}"}}
    res = token.post(f"{customer}/exchange-sessions", {"_links": partner})
    session = token.get(res.headers["location"]).body
    link_token = session["externalProviderSessionToken"]
    assert link_token.startswith("link-sandbox-")

    result = complete_link(link_token, SCREENSHOT_ROOT / "python-plaid")
    public_token = result["publicToken"]
    assert result["metadata"]["institution"] == {"name": "First Platypus Bank", "institution_id": "ins_109508"}

    res = token.post(f"{customer}/exchanges", {"_links": partner, "plaid": {"publicToken": public_token}})
    exchange = res.headers["location"]
    assert exchange.startswith(f"{BASE}/exchanges/")
    res = token.post(
        f"{customer}/funding-sources",
        {"_links": {"exchange": {"href": exchange}}, "bankAccountType": "checking", "name": "Pat Plaid Checking"},
    )
    fs_id = res.headers["location"].rsplit("/", 1)[1]
    source = token.get(f"funding-sources/{fs_id}").body
    assert source["status"] == "verified"
    assert source["bankName"] == "First Platypus Bank"
    events = token.get("events", {"limit": 200}).body["_embedded"]["events"]
    for topic in FUNDING_SOURCE_TOPICS:
        assert any(e["topic"] == topic and e["resourceId"] == fs_id for e in events), topic

    with pytest.raises(dwollav2.Error) as spent:
        token.post(f"{customer}/exchanges", {"_links": partner, "plaid": {"publicToken": public_token}})
    assert spent.value.status == 401
    assert spent.value.body["code"] == "InvalidExchangeToken"
