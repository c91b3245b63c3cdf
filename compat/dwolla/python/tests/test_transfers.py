"""Transfers with dwollav2 2.3.0, unchanged except for its URLs: the MX flow (widget in Chromium) to a
customer's verified bank, then

  (1) $1.00 from that bank to the account's balance (GET /accounts/{id}/funding-sources) with a
      correlationId -> POST /sandbox-simulations -> processed, the balance $1.00 higher, the signed
      completed webhooks carrying the correlationId; metadata on a transfer that touches a balance
      is refused ("Metadata not supported for this type of transfer.");
  (3) a pending bank -> bank transfer with metadata cancelled, the customer's transfers listed with filters, the fees of a
      transfer with a facilitator fee, a balance-sourced transfer refused with "Insufficient funds."
      (dwollav2.ValidationError);
  (2) the bank renamed R01 -> the next transfer fails at the simulation, the failed webhook, and
      GET /transfers/{id}/failure -> R01 "Insufficient Funds".

The calls are those of Dwolla's docs for this SDK: app_token.post('transfers', body,
{'Idempotency-Key': ...}).headers['location'], app_token.post(transfer_url, {'status': 'cancelled'}),
app_token.get(transfer_url + '/failure'). This module keeps its own state, webhook receiver and
subscription (the server sends every event to every subscription) and runs in file order."""

import json
import re
import time
import uuid

import dwollav2
import pytest

from conftest import (
    BASE,
    DWOLLA_SANDBOX,
    SCREENSHOT_ROOT,
    WEBHOOK_WAIT_S,
    assert_signed_delivery,
    complete_widget,
)

SHOTS = SCREENSHOT_ROOT / "python-transfers"
SECRET = "python-transfers-secret-0123456789"
R01_DESCRIPTION = "Insufficient Funds"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")


def describe(e):
    return f"{type(e).__name__} {getattr(e, 'status', '?')} {getattr(e, 'body', e)}"


def call(token, method, path, body=None, headers=None):
    try:
        if method == "GET":
            return token.get(path, body or {})
        return token.post(path, body if body is not None else {}, headers or {})
    except dwollav2.Error as e:
        pytest.fail(f"{method} {path} {body or ''} → {describe(e)}", pytrace=False)


def href(path):
    return f"{BASE}/{path}"


def cents(value):
    assert re.fullmatch(r"\d+(\.\d{1,2})?", value), f"a decimal amount string: {value!r}"
    whole, _, frac = value.partition(".")
    return int(whole) * 100 + int(frac.ljust(2, "0"))


def dollars(c):
    return f"{c // 100}.{c % 100:02d}"


_counter = [0]


def correlation_id():
    _counter[0] += 1
    return f"compat-python-{time.time_ns()}-{_counter[0]}"


def assert_transfer_wire(body, transfer_id):
    text = json.dumps(body)
    assert body.get("id") == transfer_id, text
    assert body.get("status") in ("pending", "processed", "failed", "cancelled"), text
    assert isinstance(body["amount"]["value"], str) and body["amount"]["currency"].upper() == "USD", text
    assert RFC3339_Z.match(body.get("created", "")), f"created is RFC 3339 with Z in {text}"
    assert isinstance(body.get("_links"), dict), text
    for rel, link in body["_links"].items():
        assert isinstance(link, dict) and isinstance(link.get("href"), str), f"_links.{rel} in {text}"


def create_transfer(token, body):
    res = call(token, "POST", "transfers", body, {"Idempotency-Key": str(uuid.uuid4())})
    assert res.status == 201
    assert res.body == "", f"an empty 201 body, got {res.body!r}"
    location = res.headers["location"]
    assert location.startswith(href("transfers/")), location
    return location.rsplit("/", 1)[1]


def get_transfer(token, transfer_id):
    res = call(token, "GET", f"transfers/{transfer_id}")
    assert res.status == 200
    assert_transfer_wire(res.body, transfer_id)
    return res.body


def account_balance_cents(state):
    token, balance_id = state.need("token", "account_balance_id")
    body = call(token, "GET", f"funding-sources/{balance_id}/balance").body
    for key in ("_links", "balance", "total", "lastUpdated"):
        assert key in body, f"{key} in {body}"
    assert body["balance"]["currency"] == "USD", body
    return cents(body["balance"]["value"])


def bank_to_account_balance(state, amount, **extra):
    bank_id, balance_id = state.need("bank_id", "account_balance_id")
    return {
        "_links": {
            "source": {"href": f"{DWOLLA_SANDBOX}/funding-sources/{bank_id}"},
            "destination": {"href": f"{DWOLLA_SANDBOX}/funding-sources/{balance_id}"},
        },
        "amount": {"currency": "USD", "value": amount},
        **extra,
    }


def wait_for(hooks, what, predicate):
    """Waits up to WEBHOOK_WAIT_S for a delivery whose body satisfies predicate; returns it."""
    deadline = time.monotonic() + WEBHOOK_WAIT_S
    while True:
        for d in hooks.snapshot():
            try:
                body = json.loads(d["body"].decode("utf-8"))
            except ValueError:
                continue
            if predicate(body):
                return d
        if time.monotonic() > deadline:
            seen = []
            for d in hooks.snapshot():
                try:
                    b = json.loads(d["body"].decode("utf-8"))
                    seen.append(f"{b.get('topic')}({b.get('resourceId')}, {b.get('correlationId')})")
                except ValueError:
                    seen.append("unparsable")
            pytest.fail(f"within {WEBHOOK_WAIT_S:g} s no webhook {what}; got {seen}", pytrace=False)
        time.sleep(0.2)


def test_transfers_setup_a_customer_and_its_verified_bank_through_mx(state, hooks):
    token = state.need("token")
    sub = call(token, "POST", "webhook-subscriptions", {"url": hooks.url, "secret": SECRET})
    state.set("subscription", sub.headers["location"])
    email = f"compat-dwolla-python-transfers-{time.time_ns()}@example.com"
    customer = call(token, "POST", "customers", {"firstName": "Tess", "lastName": "Transfer", "email": email})
    customer_id = state.set("customer_id", customer.headers["location"].rsplit("/", 1)[1])
    partners = call(token, "GET", "/exchange-partners").body["_embedded"]["exchange-partners"]
    mx = next(p for p in partners if p["name"].lower() == "mx")
    partner = {"href": f"{DWOLLA_SANDBOX}/exchange-partners/{mx['id']}"}
    session = call(token, "POST", f"customers/{customer_id}/exchange-sessions", {"_links": {"exchange-partner": partner}})
    url = call(token, "GET", session.headers["location"]).body["_links"]["external-provider-session"]["href"]
    widget = complete_widget(url, SHOTS)
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
    exchange_id = exchange.headers["location"].rsplit("/", 1)[1]
    fs = call(
        token,
        "POST",
        f"customers/{customer_id}/funding-sources",
        {"_links": {"exchange": {"href": f"{DWOLLA_SANDBOX}/exchanges/{exchange_id}"}}, "bankAccountType": "checking", "name": "Tess Checking"},
    )
    bank_id = fs.headers["location"].rsplit("/", 1)[1]
    assert call(token, "GET", f"funding-sources/{bank_id}").body["status"] == "verified"
    state.set("bank_id", bank_id)


def test_transfers_the_account_and_its_balance_funding_source(state):
    token = state.need("token")
    account_href = call(token, "GET", "/").body["_links"]["account"]["href"]
    account_id = account_href.rsplit("/", 1)[1]
    account = call(token, "GET", account_href)
    assert account.body["id"] == account_id, account.body
    assert account.body["_links"]["self"]["href"] == href(f"accounts/{account_id}"), account.body
    sources = call(token, "GET", f"accounts/{account_id}/funding-sources", {"removed": "false"}).body["_embedded"]["funding-sources"]
    balance = next((s for s in sources if s["type"] == "balance"), None)
    assert balance is not None, sources
    assert balance["status"] == "verified", balance
    state.set("account_id", account_id)
    state.set("account_balance_id", balance["id"])
    bank = next((s for s in sources if s["type"] == "bank" and s["status"] == "verified"), None)
    assert bank is not None, sources
    state.set("account_bank_id", bank["id"])
    state.set("balance_before", account_balance_cents(state))


def test_transfers_1_create_bank_to_account_balance_with_a_correlation_id(state):
    token, customer_id, account_id, bank_id, balance_id = state.need("token", "customer_id", "account_id", "bank_id", "account_balance_id")
    cid = state.set("correlation_id", correlation_id())
    transfer_id = state.set("transfer_id", create_transfer(token, bank_to_account_balance(state, "1.00", correlationId=cid)))
    body = get_transfer(token, transfer_id)
    assert body["status"] == "pending", body
    assert body["amount"] == {"value": "1.00", "currency": "USD"}, body
    assert body.get("correlationId") == cid, body
    links = body["_links"]
    assert links["source"]["href"] == href(f"customers/{customer_id}"), links
    assert links["destination"]["href"] == href(f"accounts/{account_id}"), links
    assert links["source-funding-source"]["href"] == href(f"funding-sources/{bank_id}"), links
    assert links["destination-funding-source"]["href"] == href(f"funding-sources/{balance_id}"), links
    assert links.get("cancel", {}).get("href") == href(f"transfers/{transfer_id}"), links


def test_transfers_1_simulation_processes_it_and_credits_the_account_balance(state):
    token, transfer_id, before = state.need("token", "transfer_id", "balance_before")
    sim = call(token, "POST", "sandbox-simulations")
    assert sim.status == 200
    assert sim.body["_links"]["self"]["href"] == href("sandbox-simulations"), sim.body
    assert isinstance(sim.body.get("total"), int) and sim.body["total"] >= 1, sim.body
    body = get_transfer(token, transfer_id)
    assert body["status"] == "processed", body
    assert "cancel" not in body["_links"], body
    assert account_balance_cents(state) == before + 100


def test_transfers_1_completed_webhooks_carry_the_correlation_id(state, hooks):
    token, transfer_id, cid, customer_id = state.need("token", "transfer_id", "correlation_id", "customer_id")
    d = wait_for(
        hooks,
        f"customer_transfer_completed / transfer_completed for {transfer_id}",
        lambda b: b.get("topic") in ("customer_transfer_completed", "transfer_completed") and b.get("resourceId") == transfer_id,
    )
    body = assert_signed_delivery(d, SECRET)
    assert body.get("correlationId") == cid, body
    leg = wait_for(
        hooks,
        f"customer_bank_transfer_completed with correlationId {cid}",
        lambda b: b.get("topic") == "customer_bank_transfer_completed" and b.get("correlationId") == cid,
    )
    leg_body = assert_signed_delivery(leg, SECRET)
    assert leg_body["_links"]["customer"]["href"] == href(f"customers/{customer_id}"), leg_body
    debit = get_transfer(token, leg_body["resourceId"])
    assert debit["status"] == "processed", debit
    assert debit["_links"].get("funded-transfer", {}).get("href") == href(f"transfers/{transfer_id}"), debit


def test_transfers_1_metadata_on_a_transfer_to_a_balance_is_refused(state):
    token = state.need("token")
    with pytest.raises(dwollav2.Error) as ei:
        token.post("transfers", bank_to_account_balance(state, "1.00", metadata={"paymentId": "compat-py"}), {"Idempotency-Key": str(uuid.uuid4())})
    e = ei.value
    assert isinstance(e, dwollav2.ValidationError), describe(e)
    (entry,) = e.body["_embedded"]["errors"]
    assert entry["path"] == "/metadata", describe(e)
    assert entry["message"] == "Metadata not supported for this type of transfer.", describe(e)


def test_transfers_3_cancel_a_pending_bank_to_bank_transfer_with_metadata(state):
    token, bank_id, account_bank_id, account_id = state.need("token", "bank_id", "account_bank_id", "account_id")
    metadata = {"paymentId": "compat-py", "note": "to be cancelled"}
    body = {
        "_links": {
            "source": {"href": f"{DWOLLA_SANDBOX}/funding-sources/{bank_id}"},
            "destination": {"href": f"{DWOLLA_SANDBOX}/funding-sources/{account_bank_id}"},
        },
        "amount": {"currency": "USD", "value": "2.50"},
        "correlationId": correlation_id(),
        "metadata": metadata,
    }
    transfer_id = state.set("cancelled_id", create_transfer(token, body))
    pending = get_transfer(token, transfer_id)
    assert pending["status"] == "pending", pending
    assert pending.get("metadata") == metadata, pending
    assert pending["_links"]["destination"]["href"] == href(f"accounts/{account_id}"), pending
    assert pending["_links"]["destination-funding-source"]["href"] == href(f"funding-sources/{account_bank_id}"), pending
    assert pending["_links"]["cancel"]["href"] == href(f"transfers/{transfer_id}"), pending
    res = call(token, "POST", f"transfers/{transfer_id}", {"status": "cancelled"})
    assert res.status == 200
    assert_transfer_wire(res.body, transfer_id)
    assert res.body["status"] == "cancelled", res.body
    body = get_transfer(token, transfer_id)
    assert body["status"] == "cancelled", body
    assert "cancel" not in body["_links"], body
    with pytest.raises(dwollav2.Error) as ei:
        token.post(f"transfers/{transfer_id}", {"status": "cancelled"})
    assert isinstance(ei.value, dwollav2.ValidationError), describe(ei.value)
    assert ei.value.status == 400, describe(ei.value)


def test_transfers_3_list_the_customers_transfers_with_filters(state):
    token, customer_id, transfer_id, cid, cancelled_id = state.need("token", "customer_id", "transfer_id", "correlation_id", "cancelled_id")
    by_cid = call(token, "GET", f"customers/{customer_id}/transfers", {"correlationId": cid}).body
    found = by_cid["_embedded"]["transfers"]
    assert any(x["id"] == transfer_id for x in found), by_cid
    for x in found:
        assert_transfer_wire(x, x["id"])
        assert x.get("correlationId") == cid, x
    assert by_cid["total"] == len(found), by_cid
    cancelled = call(token, "GET", f"customers/{customer_id}/transfers", {"status": "cancelled"}).body["_embedded"]["transfers"]
    assert any(x["id"] == cancelled_id for x in cancelled), cancelled
    assert all(x["status"] == "cancelled" for x in cancelled), cancelled
    assert not any(x["id"] == transfer_id for x in cancelled), cancelled


def test_transfers_3_fees_of_a_transfer_with_a_facilitator_fee(state):
    token, customer_id, account_id = state.need("token", "customer_id", "account_id")
    fee = {"_links": {"charge-to": {"href": f"{DWOLLA_SANDBOX}/customers/{customer_id}"}}, "amount": {"value": "0.10", "currency": "USD"}}
    transfer_id = create_transfer(token, bank_to_account_balance(state, "1.00", fees=[fee]))
    res = call(token, "GET", f"transfers/{transfer_id}/fees")
    assert res.status == 200
    assert isinstance(res.body.get("transactions"), list), res.body
    assert res.body["total"] == 1, res.body
    (item,) = res.body["transactions"]
    assert_transfer_wire(item, item["id"])
    assert item["id"] != transfer_id
    assert item["amount"] == {"value": "0.10", "currency": "USD"}, item
    assert item["_links"]["created-from-transfer"]["href"] == href(f"transfers/{transfer_id}"), item
    assert item["_links"]["source"]["href"] == href(f"customers/{customer_id}"), item
    assert item["_links"]["destination"]["href"] == href(f"accounts/{account_id}"), item


def test_transfers_3_a_balance_sourced_transfer_above_the_balance_is_insufficient_funds(state):
    token, balance_id, bank_id = state.need("token", "account_balance_id", "bank_id")
    available = account_balance_cents(state)
    body = {
        "_links": {"source": {"href": href(f"funding-sources/{balance_id}")}, "destination": {"href": href(f"funding-sources/{bank_id}")}},
        "amount": {"currency": "USD", "value": dollars(available + 100)},
    }
    with pytest.raises(dwollav2.Error) as ei:
        token.post("transfers", body, {"Idempotency-Key": str(uuid.uuid4())})
    e = ei.value
    assert isinstance(e, dwollav2.ValidationError), describe(e)
    assert e.status == 400, describe(e)
    (entry,) = e.body["_embedded"]["errors"]
    assert entry["code"] == "InsufficientFunds", describe(e)
    assert entry["message"] == "Insufficient funds.", describe(e)
    assert entry["path"] == "/_links/source/href", describe(e)
    assert account_balance_cents(state) == available


def test_transfers_2_r01_fails_at_the_simulation_with_its_failure_reason(state):
    token, bank_id = state.need("token", "bank_id")
    renamed = call(token, "POST", f"funding-sources/{bank_id}", {"name": "R01"})
    assert renamed.body["name"] == "R01", renamed.body
    cid = state.set("failed_correlation_id", correlation_id())
    transfer_id = state.set("failed_id", create_transfer(token, bank_to_account_balance(state, "3.00", correlationId=cid)))
    assert get_transfer(token, transfer_id)["status"] == "pending"
    call(token, "POST", "sandbox-simulations")
    body = get_transfer(token, transfer_id)
    assert body["status"] == "failed", body
    assert body["_links"]["failure"]["href"] == href(f"transfers/{transfer_id}/failure"), body
    failure = call(token, "GET", f"transfers/{transfer_id}/failure").body
    assert failure["code"] == "R01", failure
    assert failure["description"] == R01_DESCRIPTION, failure
    assert call(token, "GET", f"funding-sources/{bank_id}").body["removed"] is False


def test_transfers_2_the_failed_webhook_arrives(state, hooks):
    transfer_id, cid = state.need("failed_id", "failed_correlation_id")
    d = wait_for(
        hooks,
        f"customer_transfer_failed / transfer_failed for {transfer_id}",
        lambda b: b.get("topic") in ("customer_transfer_failed", "transfer_failed") and b.get("resourceId") == transfer_id,
    )
    body = assert_signed_delivery(d, SECRET)
    assert body.get("correlationId") == cid, body
