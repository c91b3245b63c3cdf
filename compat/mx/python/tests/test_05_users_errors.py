"""Users CRUD, institutions, pagination, and error statuses (404, 401)."""

import pytest
import mx_platform_python as mxp
from mx_platform_python.exceptions import NotFoundException, UnauthorizedException

import mx_helpers as h


def test_users_crud(mx):
    user = h.create_user(mx, email="compat@example.com")
    read = mx.users.read_user(user.guid)
    assert mx.status == 200
    assert isinstance(read, mxp.UserResponseBody)
    assert read.user == user

    updated = mx.users.update_user(user.guid, mxp.UserUpdateRequestBody(
        user=mxp.UserUpdateRequest(metadata="changed", is_disabled=True)))
    assert mx.status == 200
    assert isinstance(updated, mxp.UserResponseBody)
    assert (updated.user.metadata, updated.user.is_disabled, updated.user.email) == ("changed", True, "compat@example.com")

    by_id = mx.users.list_users(page=1, records_per_page=10, id=user.id)
    assert isinstance(by_id, mxp.UsersResponseBody)
    assert [u.guid for u in by_id.users] == [user.guid]
    h.assert_pagination(by_id.pagination, total_entries=1, per_page=10)

    page = mx.users.list_users(page=1, records_per_page=10)
    assert isinstance(page, mxp.UsersResponseBody)
    assert len(page.users) <= 10
    h.assert_pagination(page.pagination, per_page=10, current_page=1)

    assert mx.users.delete_user(h.ACCEPT, user.guid) is None
    assert mx.status == 204
    with pytest.raises(NotFoundException):
        mx.users.read_user(user.guid)


def test_institutions(mx):
    body = mx.institutions.read_institution("mxbank")
    assert isinstance(body, mxp.InstitutionResponseBody)
    assert isinstance(body.institution, mxp.InstitutionResponse)
    assert (body.institution.code, body.institution.name) == ("mxbank", "MX Bank")
    oauth = mx.institutions.read_institution("mx_bank_oauth")
    assert oauth.institution.supports_oauth is True

    page = mx.institutions.list_institutions(page=1, records_per_page=10)
    assert isinstance(page, mxp.InstitutionsResponseBody)
    assert len(page.institutions) <= 10
    h.assert_pagination(page.pagination, per_page=10, current_page=1)


def test_records_per_page_above_1000_falls_back_to_25(mx):
    body = mx.users.list_users(page=1, records_per_page=5000)
    assert isinstance(body, mxp.UsersResponseBody)
    h.assert_pagination(body.pagination, per_page=25, current_page=1)


def test_callback_payload_header_is_accepted(mx):
    user = h.create_user(mx)
    login, secret = h.mxbank_credentials(mx)
    body = mx.members.create_member(user.guid, mxp.MemberCreateRequestBody(member=mxp.MemberCreateRequest(
        institution_code="mxbank",
        credentials=[mxp.CredentialRequest(guid=login, value="mxuser"),
                     mxp.CredentialRequest(guid=secret, value="password")],
        skip_aggregation=True)), x_callback_payload="eyJ0cmFjZSI6ImNvbXBhdCJ9")
    assert mx.status == 200
    assert isinstance(body, mxp.MemberResponseBody)
    verified = mx.members.verify_member(body.member.guid, user.guid, x_callback_payload="dHJhY2U=")
    assert mx.status == 200
    assert isinstance(verified, mxp.MemberResponseBody)


def test_404s(mx):
    user = h.create_user(mx)
    calls = [
        lambda: mx.users.read_user("USR-00000000-0000-0000-0000-000000000000"),
        lambda: mx.members.list_members("USR-does-not-exist"),
        lambda: mx.members.read_member("MBR-does-not-exist", user.guid),
        lambda: mx.members.read_member_status("MBR-does-not-exist", user.guid),
        lambda: mx.accounts.read_account("ACT-does-not-exist", user.guid),
        lambda: mx.institutions.read_institution("no_such_bank"),
        lambda: mx.institutions.list_institution_credentials("no_such_bank"),
    ]
    for call in calls:
        with pytest.raises(NotFoundException):
            call()


def test_401s(mx):
    user = h.create_user(mx)
    bad = h.Mx(api_key="not-the-api-key")
    with pytest.raises(UnauthorizedException):
        bad.users.list_users()
    with pytest.raises(UnauthorizedException):
        bad.users.read_user(user.guid)
    with pytest.raises(UnauthorizedException):
        bad.institutions.list_institutions(name="MX Bank")
    unknown = h.Mx(client_id="unknown-client-id")
    with pytest.raises(UnauthorizedException):
        unknown.users.create_user(mxp.UserCreateRequestBody(user=mxp.UserCreateRequest(id="x")))
