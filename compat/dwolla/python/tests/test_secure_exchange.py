"""Secure exchange with dwollav2 2.3.0 (URLs changed as in test_seed000) and mx-platform-python
1.12.0 (host changed): the MX client verifies an MX Bank account (mxuser/password) and requests
an authorization code for it; the Dwolla customer gets a token exchange from that code and a
verified funding source from the exchange, with customer_funding_source_added and _verified. A
used code is an InvalidExchangeToken (401); a Flinks token exchange is refused as unsupported.
"""

import os
import time
import uuid

import dwollav2
import mx_platform_python as mxp
import pytest

from conftest import BASE, DWOLLA_SANDBOX, FUNDING_SOURCE_TOPICS, LocalClient, KEY, SECRET


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set (run the suites through compat/dwolla/run.sh)")
    return value


@pytest.fixture(scope="module")
def mx():
    config = mxp.Configuration(username=_env("MX_CLIENT_ID"), password=_env("MX_API_KEY"), host=_env("MX_BASE_URL"))
    client = mxp.ApiClient(config)
    return {
        "users": mxp.UsersApi(client),
        "institutions": mxp.InstitutionsApi(client),
        "members": mxp.MembersApi(client),
        "processor": mxp.ProcessorTokenApi(client),
    }


def settle(mx, member, user):
    deadline = time.monotonic() + 15
    while True:
        status = mx["members"].read_member_status(member, user).member
        if status.connection_status == "CHALLENGED" or status.is_being_aggregated is False:
            return status
        assert time.monotonic() < deadline, f"member {member} never settled: {status!r}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def state():
    return {}


@pytest.fixture(scope="module")
def app_token():
    return LocalClient(key=KEY, secret=SECRET, environment="local").Auth.client()


def partner_href(app_token, name):
    partners = app_token.get("/exchange-partners").body["_embedded"]["exchange-partners"]
    partner = next(p for p in partners if p["name"].lower() == name.lower())
    return f"{DWOLLA_SANDBOX}/exchange-partners/{partner['id']}"


def test_the_mx_client_requests_an_authorization_code_for_a_verified_account(mx, state):
    user = mx["users"].create_user(mxp.UserCreateRequestBody(
        user=mxp.UserCreateRequest(id=f"compat-dwolla-py-{uuid.uuid4()}"))).user.guid
    creds = {c.field_name: c.guid for c in mx["institutions"].list_institution_credentials("mxbank").credentials}
    member = mx["members"].create_member(user, mxp.MemberCreateRequestBody(member=mxp.MemberCreateRequest(
        institution_code="mxbank",
        credentials=[mxp.CredentialRequest(guid=creds["LOGIN"], value="mxuser"),
                     mxp.CredentialRequest(guid=creds["PASSWORD"], value="password")],
        skip_aggregation=True))).member.guid
    mx["members"].verify_member(member, user)
    challenged = settle(mx, member, user)
    assert challenged.connection_status == "CHALLENGED"
    challenge = challenged.challenges[0]
    account = challenge.options[0].value
    mx["members"].resume_aggregation(member, user, mxp.MemberResumeRequestBody(
        member=mxp.MemberResumeRequest(challenges=[mxp.CredentialRequest(guid=challenge.guid, value=account)])))
    assert settle(mx, member, user).connection_status == "CONNECTED"
    scope = f"user-guid:{user} member-guid:{member} account-guid:{account} read-protected"
    body = mx["processor"].request_authorization_code(mxp.AuthorizationCodeRequestBody(
        authorization_code=mxp.AuthorizationCodeRequest(scope=scope)))
    assert isinstance(body, mxp.AuthorizationCodeResponseBody), body
    state["code"] = body.authorization_code.code


def test_the_code_makes_a_token_exchange(app_token, state):
    code = state["code"]
    res = app_token.post("customers", {"firstName": "Sec", "lastName": "Ure",
                                       "email": f"compat-dwolla-py-secure-{uuid.uuid4()}@example.com"})
    customer = res.headers["location"].rsplit("/", 1)[1]
    state["customer"] = customer
    res = app_token.post(f"customers/{customer}/exchanges",
                         {"_links": {"exchange-partner": {"href": partner_href(app_token, "MX")}}, "token": code})
    assert res.status == 201
    location = res.headers["location"]
    assert location.startswith(f"{BASE}/exchanges/")
    assert app_token.get(location).body["status"] == "active"
    state["exchange"] = location


def test_a_used_code_is_an_invalid_exchange_token(app_token, state):
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(f"customers/{state['customer']}/exchanges",
                       {"_links": {"exchange-partner": {"href": partner_href(app_token, "MX")}}, "token": state["code"]})
    assert ei.value.status == 401
    assert ei.value.body["code"] == "InvalidExchangeToken"


def test_the_exchange_makes_a_verified_funding_source_with_both_events(app_token, state):
    res = app_token.post(f"customers/{state['customer']}/funding-sources",
                         {"_links": {"exchange": {"href": state["exchange"]}},
                          "bankAccountType": "checking", "name": "Secure Checking"})
    assert res.status == 201
    fs = app_token.get(res.headers["location"]).body
    assert fs["status"] == "verified"
    assert fs["bankName"] == "MX Bank"
    events = app_token.get("events", {"limit": 200}).body["_embedded"]["events"]
    for topic in FUNDING_SOURCE_TOPICS:
        assert any(e["topic"] == topic and e["resourceId"] == fs["id"] for e in events), topic


def test_a_flinks_token_exchange_is_refused(app_token, state):
    with pytest.raises(dwollav2.Error) as ei:
        app_token.post(f"customers/{state['customer']}/exchanges",
                       {"_links": {"exchange-partner": {"href": partner_href(app_token, "Flinks")}}, "token": "dG9rZW4="})
    assert ei.value.status == 403
    assert ei.value.body["code"] == "Forbidden"
    assert ei.value.body["message"] == "Token exchanges with Flinks are not supported by this server."
