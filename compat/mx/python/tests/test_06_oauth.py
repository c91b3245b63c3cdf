"""OAuth members (mx_bank_oauth): the oauth_window_uri page, authorize and deny."""

import re
import urllib.parse
import urllib.request

import mx_platform_python as mxp

import mx_helpers as h


def oauth_member(mx):
    user = h.create_user(mx)
    body = mx.members.create_member(user.guid, mxp.MemberCreateRequestBody(member=mxp.MemberCreateRequest(
        institution_code="mx_bank_oauth", credentials=[], is_oauth=True)))
    assert mx.status in (200, 202)
    assert isinstance(body, mxp.MemberResponseBody), body
    m = body.member
    assert m.is_oauth is True
    assert m.connection_status == "PENDING"
    assert isinstance(m.oauth_window_uri, str) and m.oauth_window_uri.startswith(h.BASE)
    return user, m


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def decide(uri, decision):
    with urllib.request.urlopen(uri) as page:
        assert page.status == 200
        assert "text/html" in page.headers["content-type"]
        html = page.read().decode()
    assert re.search(r'<form[^>]*method="post"', html, re.I)
    assert re.search(rf'name="decision"[^>]*value="{decision}"', html)
    data = urllib.parse.urlencode({"decision": decision}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(uri, data=data, method="POST")) as res:
            assert res.status < 400
    except urllib.error.HTTPError as err:  # a 3xx redirect surfaces here without the handler
        assert err.code < 400, err


def test_oauth_authorize(mx):
    user, member = oauth_member(mx)
    window = mx.widgets.request_o_auth_window_uri(member.guid, user.guid)
    assert mx.status == 200
    assert isinstance(window, mxp.OAuthWindowResponseBody), window
    assert isinstance(window.member, mxp.OAuthWindowResponse)
    assert window.member.guid == member.guid
    decide(window.member.oauth_window_uri, "authorize")
    status = h.poll_status(mx, user.guid, member.guid, h.connected_and_idle)
    assert status.connection_status == "CONNECTED"
    accounts = mx.accounts.list_member_accounts(user.guid, member.guid)
    assert isinstance(accounts, mxp.AccountsResponseBody)
    assert accounts.accounts


def test_oauth_deny(mx):
    user, member = oauth_member(mx)
    decide(member.oauth_window_uri, "deny")
    status = h.poll_status(mx, user.guid, member.guid,
                           lambda m: m.connection_status != "PENDING" and m.is_being_aggregated is False)
    assert status.connection_status == "DENIED"
