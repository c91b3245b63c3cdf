"""MX processor tokens with mx-platform-python's ProcessorTokenApi.

The client requests an authorization code for a verified account (and through the deprecated
endpoint); the processor redeems it at ``POST /token`` (the SDK has no method for it: MX's
processor guide uses a plain request) and reads the account through the SDK with the bearer
token, whose models are strict (the account and routing numbers are integers there); the client
lists the tokens.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

import mx_platform_python as mxp
import pytest

import mx_helpers as h


def redeem(code: str) -> tuple[int, dict]:
    """POST /token?grant_type=authorization_code&code=… with the client's Basic credentials."""
    query = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code})
    basic = base64.b64encode(f"{h.CLIENT_ID}:{h.API_KEY}".encode()).decode()
    request = urllib.request.Request(
        f"{h.BASE}/token?{query}", method="POST",
        headers={"Accept": h.ACCEPT, "Authorization": f"Basic {basic}"},
    )
    try:
        with urllib.request.urlopen(request) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def processor(access_token: str) -> mxp.ProcessorTokenApi:
    """The processor's SDK: the bearer token, the same host."""
    return mxp.ProcessorTokenApi(mxp.ApiClient(mxp.Configuration(access_token=access_token, host=h.BASE)))


@pytest.fixture(scope="module")
def verified(mx: h.Mx):
    user = h.create_user(mx)
    member = h.create_mxbank_member(mx, user.guid, "password", skip_aggregation=True).member
    mx.members.verify_member(member.guid, user.guid)
    status = h.poll_status(mx, user.guid, member.guid)
    assert status.connection_status == "CHALLENGED"
    challenge = status.challenges[0]
    chosen, other = challenge.options[0].value, challenge.options[1].value
    mx.members.resume_aggregation(member.guid, user.guid, mxp.MemberResumeRequestBody(
        member=mxp.MemberResumeRequest(challenges=[mxp.CredentialRequest(guid=challenge.guid, value=chosen)])))
    assert h.poll_status(mx, user.guid, member.guid).connection_status == "CONNECTED"
    return {"user": user.guid, "member": member.guid, "account": chosen, "other": other}


def scope(v: dict, account: str) -> str:
    return f"user-guid:{v['user']} member-guid:{v['member']} account-guid:{account} read-protected"


def test_a_code_redeems_once_into_a_token_that_reads_the_account(mx: h.Mx, verified):
    api = mxp.ProcessorTokenApi(mx.client)
    body = api.request_authorization_code(mxp.AuthorizationCodeRequestBody(
        authorization_code=mxp.AuthorizationCodeRequest(scope=scope(verified, verified["account"]))))
    assert isinstance(body, mxp.AuthorizationCodeResponseBody), body
    code = body.authorization_code.code
    status, token = redeem(code)
    assert status == 200, token
    assert token["token_type"] == "Bearer" and token["expires_at"] is None
    assert token["scope"] == scope(verified, verified["account"])
    assert redeem(code)[0] == 400, "a code is single-use"

    p = processor(token["access_token"])
    numbers = p.request_account_number()
    assert isinstance(numbers, mxp.ProcessorAccountNumberBody), numbers
    assert len(numbers.account_numbers) == 1
    n = numbers.account_numbers[0]
    assert (n.account_guid, n.member_guid, n.user_guid) == (verified["account"], verified["member"], verified["user"])
    assert type(n.account_number) is int and type(n.routing_number) is int
    listed = mx.accounts.list_account_numbers_by_account(verified["account"], verified["user"])
    assert str(n.account_number) == listed.account_numbers[0].account_number

    balance = p.read_account_balance()
    assert isinstance(balance, mxp.PaymentAccountBody), balance
    assert balance.payment_account.account_guid == verified["account"]
    checked = p.check_real_time_account_balance()
    assert isinstance(checked, mxp.MemberResponseBody), checked
    assert checked.member.guid == verified["member"]
    h.poll_status(mx, verified["user"], verified["member"], h.connected_and_idle)
    owners = p.get_account_owner_info()
    assert isinstance(owners, mxp.ProcessorOwnerBody), owners
    h.assert_pagination(owners.pagination)


def test_the_deprecated_endpoint_mints_a_redeemable_code(mx: h.Mx, verified):
    api = mxp.ProcessorTokenApi(mx.client)
    body = api.deprecated_request_payment_processor_authorization_code(
        mxp.PaymentProcessorAuthorizationCodeRequestBody(
            payment_processor_authorization_code=mxp.PaymentProcessorAuthorizationCodeRequest(
                account_guid=verified["account"], member_guid=verified["member"], user_guid=verified["user"])))
    assert isinstance(body, mxp.PaymentProcessorAuthorizationCodeResponseBody), body
    assert redeem(body.payment_processor_authorization_code.authorization_code)[0] == 200


def test_an_unverified_account_gets_no_code_and_an_unknown_token_reads_nothing(mx: h.Mx, verified):
    api = mxp.ProcessorTokenApi(mx.client)
    request = mxp.AuthorizationCodeRequestBody(
        authorization_code=mxp.AuthorizationCodeRequest(scope=scope(verified, verified["other"])))
    assert h.failure_status(lambda: api.request_authorization_code(request)) == 422
    assert h.failure_status(lambda: processor("not-a-token").request_account_number()) == 401


def test_list_tokens_shows_tokens_without_their_secrets(mx: h.Mx, verified):
    # urllib3 sends no body on GET, so the SDK's scope never arrives: every token is listed.
    body = mxp.ProcessorTokenApi(mx.client).list_tokens(
        mxp.TokenRequestBody(scope=mxp.MemberElements(user_guid=verified["user"])))
    assert isinstance(body, mxp.TokenResponseBody), body
    assert len(body.tokens) >= 2
    for t in body.tokens:
        assert t.active is True
        assert t.payment_processor_guid.startswith("PPR-")
        assert isinstance(t.expires_at, str)
        assert t.access_token is None
