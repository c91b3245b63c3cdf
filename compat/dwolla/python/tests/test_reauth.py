"""Open-banking re-authentication of an MX exchange with dwollav2 2.3.0, unchanged except for its
URLs: the MX flow to a verified funding source whose balance reads; the sandbox simulation

    app_token.post('sandbox-simulations', {'_links': {'exchange': {'href': …}}, 'simulate': 'reauth-required'})

after which the balance raises dwollav2's UpdateCredentials error (400, `_links.about` at the
re-authentication exchange sessions), the customer_exchange_reauth_required webhook arrives, the
re-auth session's widget opens at the member's credentials and is completed in Chromium, and the
balance reads again. This module keeps its own state, webhook receiver and subscription (the
server sends every event to every subscription), and runs in file order."""

import time

import dwollav2
import pytest

from conftest import (
    BASE,
    DWOLLA_SANDBOX,
    MX_BASE,
    SCREENSHOT_ROOT,
    assert_signed_delivery,
    complete_widget,
    wait_for_deliveries,
)

TOPIC = "customer_exchange_reauth_required"
MESSAGE = (
    "Re-authentication is required in order to access account data. "
    "Please initiate the exchange session flow to regain access."
)
SHOTS = SCREENSHOT_ROOT / "python-reauth"
SECRET = "python-reauth-secret-0123456789ab"


def call(token, method, path, body=None):
    try:
        return token.get(path, body or {}) if method == "GET" else token.post(path, body if body is not None else {})
    except dwollav2.Error as e:
        pytest.fail(f"{method} {path} {body or ''} → {type(e).__name__} {getattr(e, 'status', '?')} {getattr(e, 'body', e)}", pytrace=False)


def describe(e):
    return f"{type(e).__name__} {getattr(e, 'status', '?')} {getattr(e, 'body', e)}"


def simulation(exchange_id, simulate="reauth-required"):
    return {"_links": {"exchange": {"href": f"{DWOLLA_SANDBOX}/exchanges/{exchange_id}"}}, "simulate": simulate}


def test_reauth_setup_mx_flow_to_a_verified_funding_source(state, hooks):
    token = state.need("token")
    sub = call(token, "POST", "webhook-subscriptions", {"url": hooks.url, "secret": SECRET})
    state.set("subscription", sub.headers["location"])
    email = f"compat-dwolla-python-reauth-{time.time_ns()}@example.com"
    customer = call(token, "POST", "customers", {"firstName": "Rea", "lastName": "Auth", "email": email})
    customer_id = state.set("customer_id", customer.headers["location"].rsplit("/", 1)[1])
    partners = call(token, "GET", "/exchange-partners").body["_embedded"]["exchange-partners"]
    mx = next(p for p in partners if p["name"].lower() == "mx")
    partner = {"href": f"{DWOLLA_SANDBOX}/exchange-partners/{mx['id']}"}
    session = call(token, "POST", f"customers/{customer_id}/exchange-sessions", {"_links": {"exchange-partner": partner}})
    url = call(token, "GET", session.headers["location"]).body["_links"]["external-provider-session"]["href"]
    widget = complete_widget(url, SHOTS / "1-connect")
    state.set("member_guid", widget["memberGuid"])
    state.set("chosen_account", widget["account"])
    connections = call(token, "GET", f"/customers/{customer_id}/available-exchange-connections").body["_embedded"][
        "available-exchange-connections"
    ]
    connection = next((c for c in connections if c["name"] == widget["account"]), connections[0])
    exchange = call(
        token,
        "POST",
        f"customers/{customer_id}/exchanges",
        {"_links": {"exchange-partner": partner}, "mx": {"availableConnectionToken": connection["availableConnectionToken"]}},
    )
    exchange_id = state.set("exchange_id", exchange.headers["location"].rsplit("/", 1)[1])
    fs = call(
        token,
        "POST",
        f"customers/{customer_id}/funding-sources",
        {"_links": {"exchange": {"href": f"{DWOLLA_SANDBOX}/exchanges/{exchange_id}"}}, "bankAccountType": "checking", "name": "Rea Auth"},
    )
    fs_id = state.set("funding_source_id", fs.headers["location"].rsplit("/", 1)[1])
    balance = call(token, "GET", f"funding-sources/{fs_id}/balance")
    assert balance.status == 200
    assert balance.body["available"]["currency"] == "USD"


def test_reauth_simulation_body_errors_are_validation_errors(state):
    token, exchange_id = state.need("token", "exchange_id")
    with pytest.raises(dwollav2.Error) as ei:
        token.post("sandbox-simulations", simulation(exchange_id, "meteor"))
    e = ei.value
    assert isinstance(e, dwollav2.ValidationError), describe(e)
    assert e.body["_embedded"]["errors"][0]["path"] == "/simulate", describe(e)
    with pytest.raises(dwollav2.Error) as ei:
        token.post("sandbox-simulations", {"simulate": "reauth-required"})
    assert isinstance(ei.value, dwollav2.ValidationError), describe(ei.value)
    assert ei.value.body["_embedded"]["errors"][0]["path"] == "/_links/exchange/href", describe(ei.value)


def test_reauth_simulation_makes_the_balance_raise_update_credentials(state):
    token, exchange_id, fs_id = state.need("token", "exchange_id", "funding_source_id")
    res = call(token, "POST", "sandbox-simulations", simulation(exchange_id))
    assert res.status == 200
    assert res.body["_links"]["exchange"]["href"] == f"{BASE}/exchanges/{exchange_id}"
    with pytest.raises(dwollav2.Error) as ei:
        token.get(f"funding-sources/{fs_id}/balance")
    e = ei.value
    assert isinstance(e, dwollav2.UpdateCredentialsError), describe(e)
    assert e.status == 400, describe(e)
    assert e.body == {
        "code": "UpdateCredentials",
        "message": MESSAGE,
        "_links": {
            "about": {
                "href": f"{BASE}/exchanges/{exchange_id}/exchange-sessions",
                "type": "application/vnd.dwolla.v1.hal+json",
                "resource-type": "exchange-session",
            }
        },
    }, describe(e)
    state.set("reauth_href", e.body["_links"]["about"]["href"])


def test_reauth_webhook_arrives_signed(state, hooks):
    token, exchange_id, customer_id = state.need("token", "exchange_id", "customer_id")
    (delivery,) = wait_for_deliveries(hooks, exchange_id, (TOPIC,))
    body = assert_signed_delivery(delivery, SECRET)
    assert body["_links"]["resource"]["href"] == f"{BASE}/exchanges/{exchange_id}"
    assert body["_links"]["customer"]["href"] == f"{BASE}/customers/{customer_id}"
    events = call(token, "GET", "events", {"limit": 200}).body["_embedded"]["events"]
    assert [e["topic"] for e in events if e["resourceId"] == exchange_id] == [TOPIC]


def test_reauth_session_widget_in_update_credentials_mode_restores_the_balance(state):
    token, href, member, chosen, fs_id = state.need("token", "reauth_href", "member_guid", "chosen_account", "funding_source_id")
    created = call(token, "POST", href, {})
    assert created.status == 201
    session = call(token, "GET", created.headers["location"])
    url = session.body["_links"]["external-provider-session"]["href"]
    assert url.startswith(MX_BASE + "/md/connect/"), url
    widget = complete_widget(url, SHOTS / "2-update-credentials", update_credentials=True, account=chosen)
    assert widget["updatedMemberGuid"] == member
    assert widget["memberGuid"] == member
    balance = call(token, "GET", f"funding-sources/{fs_id}/balance")
    assert balance.status == 200
    assert isinstance(balance.body["available"]["value"], str)
