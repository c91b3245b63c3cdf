"""Seed 000 (MX instant account verification) end to end with Dwolla's Python SDK dwollav2 2.3.0,
unchanged except for its URLs (a Client subclass with a `local` environment, dwolla-wire.md §15).

The calls follow the seed's sample code: app_token.get('/exchange-partners'), app_token.post(
'customers/{id}/exchange-sessions', …), res.headers['location'], and hrefs on Dwolla's sandbox
host in request bodies. Then seed 004's error table through dwollav2's error classes, and
webhooks. The tests run in file order and share the flow's state; a step whose prerequisite
failed fails too ("blocked: …")."""

import re
import time

import dwollav2
import pytest

from conftest import (
    BASE,
    DWOLLA_SANDBOX,
    FUNDING_SOURCE_TOPICS,
    MX_BASE,
    SCREENSHOT_ROOT,
    assert_signed_delivery,
    complete_widget,
    wait_for_deliveries,
)

SUITE = "python"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def location_id(location, collection):
    prefix = f"{BASE}/{collection}/"
    assert isinstance(location, str) and location.startswith(prefix), f"Location {location!r} starts with {prefix}"
    ident = location[len(prefix):]
    assert UUID.match(ident), f"Location {location} ends with a lower-case UUID"
    return ident


def call(token, method, path, body=None):
    """token.get/post as the seed writes them; a dwollav2 error fails with the request and the answer."""
    try:
        if method == "GET":
            return token.get(path, body or {})
        return token.post(path, body if body is not None else {})
    except dwollav2.Error as e:
        error = e
    pytest.fail(
        f"{method} {path} {body if body is not None else ''} → {type(error).__name__} {getattr(error, 'status', '?')} {getattr(error, 'body', error)}",
        pytrace=False,
    )


def partner_href(partner):
    """The partner's href on Dwolla's sandbox host, as the seed's sample code sends it."""
    return f"{DWOLLA_SANDBOX}/exchange-partners/{partner['id']}"


def partner_named(flow, name):
    partners = flow.need("partners")
    match = next((p for p in partners if p["name"].lower() == name.lower()), None)
    assert match, f"a partner named {name} in {[p['name'] for p in partners]}"
    return match


def test_a_token(client, flow):
    """(a) client.Auth.client() returns an application token."""
    try:
        app_token = client.Auth.client()
    except dwollav2.Error as e:
        app_token, error = None, e
    if app_token is None:
        pytest.fail(f"POST /token (form body) → {type(error).__name__} {getattr(error, 'body', error)}", pytrace=False)
    assert isinstance(app_token.access_token, str) and len(app_token.access_token) >= 16
    assert isinstance(app_token.expires_in, int)
    root = call(app_token, "GET", "/")
    assert root.status == 200
    assert "_links" in root.body
    flow.set("token", app_token)


def test_webhook_subscription(flow, receiver, webhook_secret):
    """POST /webhook-subscriptions {url, secret} → 201 Location."""
    app_token = flow.need("token")
    res = call(app_token, "POST", "webhook-subscriptions", {"url": receiver.url, "secret": webhook_secret})
    assert res.status == 201
    location_id(res.headers.get("location"), "webhook-subscriptions")
    flow.set("subscription", res.headers["location"])


def test_b_customer(flow):
    """(b) POST /customers {firstName, lastName, email} → 201 Location."""
    app_token = flow.need("token")
    email = f"compat-dwolla-python-{time.time_ns()}@example.com"
    res = call(app_token, "POST", "customers", {"firstName": "Jane", "lastName": "Doe", "email": email})
    assert res.status == 201
    customer_id = location_id(res.headers.get("location"), "customers")
    customer = call(app_token, "GET", res.headers["location"])
    assert customer.body["id"] == customer_id
    assert customer.body["email"] == email
    assert customer.body["type"] == "unverified"
    assert customer.body["status"] == "unverified"
    flow.set("customer_id", customer_id)


def test_c_exchange_partners(flow):
    """(c) GET /exchange-partners; MX by case-insensitive name."""
    app_token = flow.need("token")
    res = call(app_token, "GET", "/exchange-partners")
    partners = res.body["_embedded"]["exchange-partners"]
    flow.set("partners", partners)
    mx = next((p for p in partners if p["name"].lower() == "mx"), None)
    assert mx, f"MX among {[p['name'] for p in partners]}"
    assert mx["_links"]["self"]["href"] == f"{BASE}/exchange-partners/{mx['id']}"
    flow.set("mx", mx)


def test_d_create_exchange_session(flow):
    """(d) POST customers/{id}/exchange-sessions with MX's href on Dwolla's host → 201 Location."""
    app_token, customer_id, mx = flow.need("token", "customer_id", "mx")
    res = call(
        app_token,
        "POST",
        f"customers/{customer_id}/exchange-sessions",
        {"_links": {"exchange-partner": {"href": partner_href(mx)}}},
    )
    assert res.status == 201
    flow.set("session_id", location_id(res.headers.get("location"), "exchange-sessions"))


def test_e_retrieve_exchange_session(flow):
    """(e) GET /exchange-sessions/{id} → _links["external-provider-session"].href."""
    app_token, session_id, mx = flow.need("token", "session_id", "mx")
    res = call(app_token, "GET", f"/exchange-sessions/{session_id}")
    links = res.body["_links"]
    assert links["self"]["href"] == f"{BASE}/exchange-sessions/{session_id}"
    assert links["exchange-partner"]["href"] == f"{BASE}/exchange-partners/{mx['id']}"
    assert "external-provider-session" in links, f"external-provider-session in {links}"
    url = links["external-provider-session"]["href"]
    assert url.startswith(MX_BASE + "/md/connect/"), f"{url} is the aggregation listener's /md/connect/…"
    flow.set("widget_url", url)


def test_f_complete_widget(flow):
    """(f) The end user completes MX Connect in Chromium (node browser/complete_widget.mjs)."""
    url = flow.need("widget_url")
    result = complete_widget(url, SCREENSHOT_ROOT / SUITE)
    assert str(result.get("memberGuid", "")).startswith("MBR-")
    flow.set("chosen_account", result["account"])


def test_g_available_exchange_connections(flow):
    """(g) GET /customers/{id}/available-exchange-connections."""
    app_token, customer_id, chosen = flow.need("token", "customer_id", "chosen_account")
    res = call(app_token, "GET", f"/customers/{customer_id}/available-exchange-connections")
    connections = res.body["_embedded"]["available-exchange-connections"]
    assert len(connections) >= 1
    for conn in connections:
        assert isinstance(conn["availableConnectionToken"], str) and isinstance(conn["name"], str)
    selected = next((c for c in connections if c["name"] == chosen), connections[0])
    assert selected["name"] in chosen, f"the account chosen in the widget ({chosen}) is offered: {connections}"
    flow.set("connection", selected)


def test_h_create_exchange(flow):
    """(h) POST customers/{id}/exchanges {exchange-partner on Dwolla's host, mx.availableConnectionToken}."""
    app_token, customer_id, mx, connection = flow.need("token", "customer_id", "mx", "connection")
    res = call(
        app_token,
        "POST",
        f"customers/{customer_id}/exchanges",
        {
            "_links": {"exchange-partner": {"href": partner_href(mx)}},
            "mx": {"availableConnectionToken": connection["availableConnectionToken"]},
        },
    )
    assert res.status == 201
    exchange_id = location_id(res.headers.get("location"), "exchanges")
    exchange = call(app_token, "GET", f"/exchanges/{exchange_id}")
    assert exchange.body["id"] == exchange_id
    assert exchange.body["status"] == "active"
    flow.set("exchange_id", exchange_id)


def test_i_create_funding_source(flow):
    """(i) POST customers/{id}/funding-sources {exchange on Dwolla's host, checking, name} → verified."""
    app_token, customer_id, exchange_id = flow.need("token", "customer_id", "exchange_id")
    res = call(
        app_token,
        "POST",
        f"customers/{customer_id}/funding-sources",
        {
            "_links": {"exchange": {"href": f"{DWOLLA_SANDBOX}/exchanges/{exchange_id}"}},
            "bankAccountType": "checking",
            "name": "Jane Doe - Checking",
        },
    )
    assert res.status == 201
    fs_id = location_id(res.headers.get("location"), "funding-sources")
    flow.set("funding_source_id", fs_id)
    fs = call(app_token, "GET", res.headers["location"]).body
    assert fs["id"] == fs_id
    assert fs["status"] == "verified"
    assert fs["type"] == "bank"
    assert fs["bankAccountType"] == "checking"
    assert fs["name"] == "Jane Doe - Checking"
    assert isinstance(fs["bankName"], str) and fs["bankName"]
    assert re.fullmatch(r"[0-9a-f]{64}", fs["fingerprint"])
    assert fs["removed"] is False


def test_j_events(flow):
    """(j) GET /events lists customer_funding_source_added and _verified for the funding source."""
    app_token, fs_id = flow.need("token", "funding_source_id")
    res = call(app_token, "GET", "events", {"limit": 200})
    events = res.body["_embedded"]["events"]
    for topic in FUNDING_SOURCE_TOPICS:
        event = next((e for e in events if e["topic"] == topic and e["resourceId"] == fs_id), None)
        assert event, f"{topic} for {fs_id} among {[(e['topic'], e['resourceId']) for e in events]}"
        assert event["_links"]["resource"]["href"] == f"{BASE}/funding-sources/{fs_id}"


def test_webhooks_delivered_and_signed(flow, receiver, webhook_secret):
    """customer_funding_source_added and _verified arrive at the receiver, signed with the secret."""
    flow.need("subscription")
    fs_id = flow.need("funding_source_id")
    for delivery in wait_for_deliveries(receiver, fs_id):
        assert_signed_delivery(delivery, webhook_secret)
    for delivery in receiver.snapshot():
        assert_signed_delivery(delivery, webhook_secret)


# --- seed 004's error table (and two more), through dwollav2's error classes --------------------------


def describe(e):
    return f"{type(e).__name__} {getattr(e, 'status', '?')} {getattr(e, 'body', e)}"


def test_error_invalid_partner_href(flow):
    """An unknown exchange-partner href → 400 dwollav2.ValidationError."""
    app_token, customer_id = flow.need("token", "customer_id")
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(
            f"customers/{customer_id}/exchange-sessions",
            {"_links": {"exchange-partner": {"href": f"{DWOLLA_SANDBOX}/exchange-partners/{UNKNOWN}"}}},
        )
    e = ei.value
    assert isinstance(e, dwollav2.ValidationError), describe(e)
    assert e.status == 400, describe(e)
    assert e.body["code"] == "ValidationError", describe(e)
    assert "/_links/exchange-partner/href" in str(e.body), describe(e)


def test_error_plaid_redirect_not_a_url(flow):
    """Plaid with a redirect URL that is not a URL → 400, path /_links/redirect-url/href."""
    app_token, customer_id = flow.need("token", "customer_id")
    plaid = partner_named(flow, "Plaid")
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(
            f"customers/{customer_id}/exchange-sessions",
            {"_links": {"exchange-partner": {"href": partner_href(plaid)}, "redirect-url": {"href": "not a url"}}},
        )
    e = ei.value
    assert isinstance(e, dwollav2.ValidationError), describe(e)
    assert e.status == 400, describe(e)
    assert e.body["_embedded"]["errors"][0]["path"] == "/_links/redirect-url/href", describe(e)


def test_error_finicity_forbidden(flow):
    """An exchange session with Finicity → 403 dwollav2.ForbiddenError (error.py maps `Forbidden`)."""
    app_token, customer_id = flow.need("token", "customer_id")
    finicity = partner_named(flow, "Finicity")
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(
            f"customers/{customer_id}/exchange-sessions",
            {"_links": {"exchange-partner": {"href": partner_href(finicity)}}},
        )
    e = ei.value
    assert isinstance(e, dwollav2.ForbiddenError), describe(e)
    assert e.status == 403, describe(e)


def test_error_unknown_customer(flow):
    """An exchange session for an unknown customer → 404 dwollav2.NotFoundError."""
    app_token, mx = flow.need("token", "mx")
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(f"customers/{UNKNOWN}/exchange-sessions", {"_links": {"exchange-partner": {"href": partner_href(mx)}}})
    e = ei.value
    assert isinstance(e, dwollav2.NotFoundError), describe(e)
    assert e.status == 404, describe(e)


def test_error_duplicate_funding_source(flow):
    """The same bank twice → 400 DuplicateResource (2.3.0 maps no class to it: the base dwollav2.Error)."""
    app_token, customer_id = flow.need("token", "customer_id")
    bank = {"routingNumber": "222222226", "accountNumber": "123456789", "bankAccountType": "checking", "name": "Compat duplicate"}
    first = call(app_token, "POST", f"customers/{customer_id}/funding-sources", bank)
    first_id = location_id(first.headers.get("location"), "funding-sources")
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(f"customers/{customer_id}/funding-sources", dict(bank, name="Compat duplicate 2"))
    e = ei.value
    assert type(e) is dwollav2.Error, describe(e)
    assert e.status == 400, describe(e)
    assert e.body["code"] == "DuplicateResource", describe(e)
    assert e.body["_links"]["about"]["href"] == f"{BASE}/funding-sources/{first_id}", describe(e)


def test_error_garbage_token(client):
    """A garbage access token → 401 dwollav2.InvalidAccessTokenError."""
    bad = client.Token(access_token="garbage-token-0000000000000000")
    with pytest.raises(dwollav2.Error) as ei:
        bad.get("customers")
    e = ei.value
    assert isinstance(e, dwollav2.InvalidAccessTokenError), describe(e)
    assert e.status == 401, describe(e)

