"""Shared set-up for the mx-platform-python suites.

The SDK is used unchanged; only its host is pointed at openiav. Every call goes through the SDK's
own deserialisation (pydantic v1, strict types, model chosen by the exact HTTP status), so a
response the SDK cannot map shows up as ``None`` or a ``ValidationError`` and fails the test.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import time
from dataclasses import dataclass
from typing import Callable, Optional

import mx_platform_python as mxp
from mx_platform_python.exceptions import ApiException

ACCEPT = "application/vnd.mx.api.v1+json"
POLL_INTERVAL_S = 0.05
POLL_TIMEOUT_S = float(os.environ.get("MX_POLL_TIMEOUT_MS", "10000")) / 1000


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set (run the suites through compat/mx/run.sh)")
    return value


BASE = env("MX_BASE_URL")
CLIENT_ID = env("MX_CLIENT_ID")
API_KEY = env("MX_API_KEY")


class Mx:
    """The per-resource API classes of mx-platform-python 1.12.0 over one ApiClient."""

    def __init__(self, api_key: str = API_KEY, client_id: str = CLIENT_ID):
        config = mxp.Configuration(username=client_id, password=api_key, host=BASE)
        self.client = mxp.ApiClient(config)
        self.users = mxp.UsersApi(self.client)
        self.institutions = mxp.InstitutionsApi(self.client)
        self.members = mxp.MembersApi(self.client)
        self.accounts = mxp.AccountsApi(self.client)
        self.transactions = mxp.TransactionsApi(self.client)
        self.widgets = mxp.WidgetsApi(self.client)
        self.microdeposits = mxp.MicrodepositsApi(self.client)

    @property
    def status(self) -> int:
        """HTTP status of the last call that got a response."""
        return self.client.last_response.status


_counter = itertools.count(1)


def unique_id(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.time_ns()}-{next(_counter)}"


def failure_status(call: Callable[[], object]) -> int:
    """Runs an SDK call that must raise an ApiException; returns its HTTP status."""
    try:
        result = call()
    except ApiException as err:
        return err.status
    raise AssertionError(f"expected the SDK call to raise ApiException, got {result!r}")


def assert_pagination(p, *, per_page=None, total_entries=None, current_page=None):
    assert isinstance(p, mxp.PaginationResponse), type(p)
    for name in ("current_page", "per_page", "total_entries", "total_pages"):
        assert type(getattr(p, name)) is int, f"pagination.{name} = {getattr(p, name)!r}"
    if per_page is not None:
        assert p.per_page == per_page
    if total_entries is not None:
        assert p.total_entries == total_entries
    if current_page is not None:
        assert p.current_page == current_page
    assert p.total_pages == -(-p.total_entries // p.per_page)


def is_valid_aba(routing: str) -> bool:
    """ABA check digit: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    if not re.fullmatch(r"\d{9}", routing or ""):
        return False
    d = [int(c) for c in routing]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0


def create_user(mx: Mx, **extra) -> mxp.UserResponse:
    user_id = unique_id("compat-py")
    body = mx.users.create_user(
        mxp.UserCreateRequestBody(user=mxp.UserCreateRequest(id=user_id, metadata="mx-platform-python compat", **extra))
    )
    assert mx.status == 200
    assert isinstance(body, mxp.UserResponseBody), body
    assert isinstance(body.user, mxp.UserResponse)
    assert body.user.guid.startswith("USR-")
    assert body.user.id == user_id
    return body.user


_credentials: Optional[tuple[str, str]] = None


def mxbank_credentials(mx: Mx) -> tuple[str, str]:
    """(login guid, password guid) of mxbank, via listInstitutionCredentials."""
    global _credentials
    if _credentials is None:
        body = mx.institutions.list_institution_credentials("mxbank")
        assert isinstance(body, mxp.CredentialsResponseBody), body
        by_name = {c.field_name: c.guid for c in body.credentials}
        _credentials = (by_name["LOGIN"], by_name["PASSWORD"])
    return _credentials


def create_mxbank_member(mx: Mx, user_guid: str, password: str, *, username: str = "mxuser",
                         skip_aggregation: Optional[bool] = None) -> mxp.MemberResponseBody:
    login, secret = mxbank_credentials(mx)
    member = mxp.MemberCreateRequest(
        institution_code="mxbank",
        credentials=[
            mxp.CredentialRequest(guid=login, value=username),
            mxp.CredentialRequest(guid=secret, value=password),
        ],
        skip_aggregation=skip_aggregation,
    )
    body = mx.members.create_member(user_guid, mxp.MemberCreateRequestBody(member=member))
    assert isinstance(body, mxp.MemberResponseBody), f"HTTP {mx.status} gave {body!r}"
    assert isinstance(body.member, mxp.MemberResponse)
    return body


def settled(m: mxp.MemberStatusResponse) -> bool:
    return m.connection_status == "CHALLENGED" or m.is_being_aggregated is False


def connected_and_idle(m: mxp.MemberStatusResponse) -> bool:
    return m.connection_status == "CONNECTED" and m.is_being_aggregated is False


def poll_status(mx: Mx, user_guid: str, member_guid: str,
                done: Callable[[mxp.MemberStatusResponse], bool] = settled) -> mxp.MemberStatusResponse:
    """Polls readMemberStatus every 50 ms until ``done`` holds; returns the status."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while True:
        body = mx.members.read_member_status(member_guid, user_guid)
        assert mx.status == 200
        assert isinstance(body, mxp.MemberStatusResponseBody), body
        status = body.member
        assert isinstance(status, mxp.MemberStatusResponse)
        assert status.guid == member_guid
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"member {member_guid} did not settle in {POLL_TIMEOUT_S} s: {status!r}")
        time.sleep(POLL_INTERVAL_S)


@dataclass
class Aggregated:
    user: mxp.UserResponse
    member: mxp.MemberResponse
    status: mxp.MemberStatusResponse


def aggregated_member(mx: Mx, password: str, username: str = "mxuser") -> Aggregated:
    """A new user with an mxbank member whose create started an aggregation, once settled."""
    user = create_user(mx)
    body = create_mxbank_member(mx, user.guid, password, username=username)
    assert mx.status == 202, "createMember that starts an aggregation answers 202"
    status = poll_status(mx, user.guid, body.member.guid)
    return Aggregated(user, body.member, status)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
