"""Seed 000: every MX Bank test password, through createMember (which starts an aggregation)."""

import pytest
import mx_platform_python as mxp

import mx_helpers as h

TABLE = [
    ("password", "CONNECTED", None),
    ("anything-else-123", "CONNECTED", None),
    ("BAD_REQUEST", "FAILED", "You must fill out the username and password fields."),
    ("UNAUTHORIZED", "DENIED", "Invalid credentials."),
    ("INVALID", "DENIED", "The login and/or password are invalid."),
    ("LOCKED", "LOCKED", "The credentials are valid, but the user is locked."),
    ("DISABLED", "DENIED", "The credentials are valid, but the user is locked."),
    ("SERVER_ERROR", "FAILED", "Internal server error."),
    ("UNAVAILABLE", "FAILED", "Service is Unavailable."),
]


@pytest.mark.parametrize("password,expected,message", TABLE, ids=[row[0] for row in TABLE])
def test_password(mx, password, expected, message):
    agg = h.aggregated_member(mx, password)
    assert agg.status.connection_status == expected, agg.status
    assert agg.status.is_being_aggregated is False
    assert agg.status.is_authenticated is (expected == "CONNECTED")

    read = mx.members.read_member(agg.member.guid, agg.user.guid)
    assert mx.status == 200
    assert isinstance(read, mxp.MemberResponseBody)
    assert isinstance(read.member, mxp.MemberResponse)
    assert read.member.connection_status == expected
    assert read.member.is_being_aggregated is False
    if message is not None:
        assert read.member.connection_status_message == message
    if expected == "CONNECTED":
        assert isinstance(read.member.successfully_aggregated_at, str)
    else:
        accounts = mx.accounts.list_member_accounts(agg.user.guid, agg.member.guid)
        assert isinstance(accounts, mxp.AccountsResponseBody)
        assert accounts.accounts == []


def test_other_username_is_denied(mx):
    agg = h.aggregated_member(mx, "password", username="someone-else")
    assert agg.status.connection_status == "DENIED"
    assert agg.status.is_being_aggregated is False


def test_create_member_that_aggregates_answers_202(mx):
    user = h.create_user(mx)
    body = h.create_mxbank_member(mx, user.guid, "password", skip_aggregation=False)
    assert mx.status == 202
    assert body.member.is_being_aggregated is True
    assert body.member.user_guid == user.guid
    assert h.poll_status(mx, user.guid, body.member.guid).connection_status == "CONNECTED"
