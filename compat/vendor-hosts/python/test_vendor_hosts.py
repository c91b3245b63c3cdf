"""Vendor-host mode with the Python SDKs, unchanged: dwollav2 2.3.0 with environment="sandbox"
(it calls https://api-sandbox.dwolla.com; requests trusts the CA through REQUESTS_CA_BUNDLE) and
mx-platform-python 1.12.0 with no host (it calls https://int-api.mx.com; urllib3 trusts the CA
through SSL_CERT_FILE). run.sh runs this in the mount namespace whose hosts file sends the vendors'
hosts to openiav. The MX side verifies an MX Bank member; the Dwolla side opens an MX exchange
session, completes its widget on MX's widget host as the page's script does, and adds the verified
funding source.
"""

import os
import re
import socket
import time

import dwollav2
import mx_platform_python as mxp
import requests

DWOLLA_SANDBOX = "https://api-sandbox.dwolla.com"
MX_WIDGETS = "https://int-widgets.moneydesktop.com"
VENDOR_IP = os.environ["VENDOR_HOSTS_IP"]


def test_the_sdks_defaults_are_the_vendors_hosts_which_resolve_to_openiav():
    client = dwollav2.Client(key="k", secret="s", environment="sandbox")
    assert client.api_url == DWOLLA_SANDBOX
    assert client.token_url == f"{DWOLLA_SANDBOX}/token"
    assert mxp.Configuration().host == "https://int-api.mx.com"
    for host in ("api-sandbox.dwolla.com", "int-api.mx.com", "int-widgets.moneydesktop.com"):
        assert socket.gethostbyname(host) == VENDOR_IP, host


def test_mx_platform_python_verifies_an_mx_bank_member_on_int_api_mx_com():
    mx = mxp.ApiClient(mxp.Configuration(username=os.environ["MX_CLIENT_ID"], password=os.environ["MX_API_KEY"]))
    users, members = mxp.UsersApi(mx), mxp.MembersApi(mx)
    user = users.create_user(mxp.UserCreateRequestBody(user=mxp.UserCreateRequest(id=f"vh-py-{os.getpid()}-{time.time_ns()}"))).user
    creds = {c.field_name: c.guid for c in mxp.InstitutionsApi(mx).list_institution_credentials("mxbank").credentials}
    member = members.create_member(user.guid, mxp.MemberCreateRequestBody(member=mxp.MemberCreateRequest(
        institution_code="mxbank",
        credentials=[mxp.CredentialRequest(guid=creds["LOGIN"], value="mxuser"),
                     mxp.CredentialRequest(guid=creds["PASSWORD"], value="password")],
        skip_aggregation=True,
    ))).member
    members.verify_member(member.guid, user.guid)

    def settle():
        deadline = time.monotonic() + 15
        while True:
            s = members.read_member_status(member.guid, user.guid).member
            if s.connection_status == "CHALLENGED" or s.is_being_aggregated is False:
                return s
            assert time.monotonic() < deadline, s
            time.sleep(0.05)

    challenged = settle()
    assert challenged.connection_status == "CHALLENGED", challenged
    challenge = challenged.challenges[0]
    members.resume_aggregation(member.guid, user.guid, mxp.MemberResumeRequestBody(member=mxp.MemberResumeRequest(
        challenges=[mxp.CredentialRequest(guid=challenge.guid, value=challenge.options[0].value)])))
    assert settle().connection_status == "CONNECTED"
    widget = mxp.WidgetsApi(mx).request_widget_url(
        user.guid, mxp.WidgetRequestBody(widget_url=mxp.WidgetRequest(widget_type="connect_widget"))).widget_url
    assert widget.url.startswith(f"{MX_WIDGETS}/md/connect/"), widget.url


def complete_widget_over_api(url):
    """The end user's steps, as the widget page's script takes them; returns the account label."""
    page = requests.get(url, timeout=20)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    session = re.search(r'<meta name="mx-widget-session" content="([^"]+)"', page.text).group(1)
    origin = MX_WIDGETS if url.startswith(MX_WIDGETS) else url.split("/md/")[0]

    def call(method, path, body=None):
        r = requests.request(method, f"{origin}/md/connect/api{path}", json=body, headers={"x-widget-session": session}, timeout=20)
        assert r.status_code == 200, f"{method} {path} → {r.status_code} {r.text}"
        return r.json()

    def follow(guid, outcome):
        deadline = time.monotonic() + 15
        while True:
            m = call("GET", f"/members/{guid}")["member"]
            if m["outcome"] == outcome:
                return m
            assert time.monotonic() < deadline, m
            time.sleep(0.05)

    fields = {c["field_type"]: c["guid"] for c in call("GET", "/institutions/mxbank")["institution"]["credentials"]}
    member = call("POST", "/members", {"institution_code": "mxbank", "credentials": [
        {"guid": fields["LOGIN"], "value": "mxuser"}, {"guid": fields["PASSWORD"], "value": "password"}]})["member"]["guid"]
    challenge = follow(member, "select_account")["challenges"][0]
    account = challenge["options"][0]
    call("PUT", f"/members/{member}/answers", {"answers": [{"guid": challenge["guid"], "value": account["value"]}]})
    assert follow(member, "connected")["has_verified_account"] is True
    return account["label"]


def test_dwollav2_runs_seed_000_on_api_sandbox_dwolla_com():
    client = dwollav2.Client(key=os.environ["DWOLLA_KEY"], secret=os.environ["DWOLLA_SECRET"], environment="sandbox")
    token = client.Auth.client()
    for link in token.get("/").body["_links"].values():
        assert link["href"].startswith(f"{DWOLLA_SANDBOX}/"), link
    customer = token.post("customers", {"firstName": "Jane", "lastName": "Doe",
                                        "email": f"vh-py-{os.getpid()}-{time.time_ns()}@example.com"}).headers["location"]
    assert customer.startswith(f"{DWOLLA_SANDBOX}/customers/"), customer
    partners = token.get("exchange-partners").body["_embedded"]["exchange-partners"]
    mx = next(p for p in partners if p["name"].lower() == "mx")["_links"]["self"]["href"]
    session = token.post(f"{customer}/exchange-sessions", {"_links": {"exchange-partner": {"href": mx}}}).headers["location"]
    url = token.get(session).body["_links"]["external-provider-session"]["href"]
    assert url.startswith(f"{MX_WIDGETS}/md/connect/"), url
    chosen = complete_widget_over_api(url)
    connections = token.get(f"{customer}/available-exchange-connections").body["_embedded"]["available-exchange-connections"]
    connection = next((c for c in connections if c["name"] in chosen), connections[0])
    exchange = token.post(f"{customer}/exchanges", {
        "_links": {"exchange-partner": {"href": mx}},
        "mx": {"availableConnectionToken": connection["availableConnectionToken"]},
    }).headers["location"]
    funding = token.post(f"{customer}/funding-sources", {
        "_links": {"exchange": {"href": exchange}}, "bankAccountType": "checking", "name": "Jane's Checking"})
    fs = token.get(funding.headers["location"]).body
    assert fs["status"] == "verified", fs
    assert fs["_links"]["customer"]["href"] == customer
