"""Statements with mx-platform-python: fetch_statements, list, read, and the PDF download."""

import hashlib

import pytest
import mx_platform_python as mxp

import mx_helpers as h


@pytest.fixture(scope="module")
def statements(mx):
    return mxp.StatementsApi(mx.client)


@pytest.fixture(scope="module")
def fetched(mx, statements):
    a = h.aggregated_member(mx, "password")
    assert a.status.connection_status == "CONNECTED"
    body = statements.fetch_statements(a.member.guid, a.user.guid)
    assert mx.status == 202
    assert isinstance(body, mxp.MemberResponseBody), body
    assert body.member.guid == a.member.guid
    assert body.member.is_being_aggregated is True
    status = h.poll_status(mx, a.user.guid, a.member.guid, h.connected_and_idle)
    assert status.connection_status == "CONNECTED"
    return a


def test_list_statements(mx, statements, fetched):
    body = statements.list_statements_by_member(fetched.member.guid, fetched.user.guid, page=1, records_per_page=100)
    assert mx.status == 200
    assert isinstance(body, mxp.StatementsResponseBody), body
    h.assert_pagination(body.pagination, per_page=100, total_entries=24, current_page=1)
    accounts = mx.accounts.list_member_accounts(fetched.user.guid, fetched.member.guid).accounts
    deposit = [a.guid for a in accounts if a.type in ("CHECKING", "SAVINGS")]
    assert len(deposit) == 2
    for guid in deposit:
        assert sum(1 for s in body.statements if s.account_guid == guid) == 12
    for s in body.statements:
        assert isinstance(s, mxp.StatementResponse)
        assert s.guid.startswith("STA-")
        assert s.member_guid == fetched.member.guid
        assert s.user_guid == fetched.user.guid
        assert len(s.content_hash) == 64
        assert s.uri.endswith(f"/statements/{s.guid}.pdf")
        h.parse_time(s.created_at)
        h.parse_time(s.updated_at)
    page3 = statements.list_statements_by_member(fetched.member.guid, fetched.user.guid, page=3, records_per_page=10)
    assert len(page3.statements) == 4


def test_read_and_download_a_statement(mx, statements, fetched):
    listed = statements.list_statements_by_member(fetched.member.guid, fetched.user.guid).statements
    first = listed[0]
    body = statements.read_statement_by_member(fetched.member.guid, first.guid, fetched.user.guid)
    assert mx.status == 200
    assert isinstance(body, mxp.StatementResponseBody), body
    assert isinstance(body.statement, mxp.StatementResponse)
    assert body.statement == first

    pdf = statements.download_statement_pdf(fetched.member.guid, first.guid, fetched.user.guid)
    assert mx.status == 200
    # The SDK asks for MX's vendor type and gets it back.
    assert mx.client.last_response.getheader("content-type") == "application/vnd.mx.api.v1+pdf"
    assert isinstance(pdf, (bytes, bytearray)), type(pdf)
    assert bytes(pdf[:5]) == b"%PDF-"
    assert hashlib.sha256(bytes(pdf)).hexdigest() == first.content_hash

    assert h.failure_status(
        lambda: statements.read_statement_by_member(fetched.member.guid, "STA-nope", fetched.user.guid)
    ) == 404
    assert h.failure_status(
        lambda: statements.download_statement_pdf(fetched.member.guid, "STA-nope", fetched.user.guid)
    ) == 404
