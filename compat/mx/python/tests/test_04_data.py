"""What an aggregation produces: accounts, transactions, account owners (identify), and the other jobs."""

import datetime as dt

import pytest
import mx_platform_python as mxp

import mx_helpers as h


@pytest.fixture(scope="module")
def agg(mx):
    a = h.aggregated_member(mx, "password")
    assert a.status.connection_status == "CONNECTED"
    return a


@pytest.fixture(scope="module")
def accounts(mx, agg):
    body = mx.accounts.list_user_accounts(agg.user.guid)
    assert mx.status == 200
    assert isinstance(body, mxp.AccountsResponseBody)
    return body


def test_user_accounts(mx, agg, accounts):
    types = [a.type for a in accounts.accounts]
    for t in ("CHECKING", "SAVINGS", "CREDIT_CARD"):
        assert t in types, types
    for a in accounts.accounts:
        assert isinstance(a, mxp.AccountResponse)
        assert a.guid.startswith("ACT-")
        assert a.member_guid == agg.member.guid
        assert a.user_guid == agg.user.guid
        assert a.institution_code == "mxbank"
        assert isinstance(a.name, str)
        assert isinstance(a.balance, (int, float))
        assert isinstance(a.created_at, str)
    h.assert_pagination(accounts.pagination, total_entries=len(accounts.accounts), current_page=1)


def test_member_accounts_and_reads(mx, agg, accounts):
    by_member = mx.accounts.list_member_accounts(agg.user.guid, agg.member.guid)
    assert isinstance(by_member, mxp.AccountsResponseBody)
    assert sorted(a.guid for a in by_member.accounts) == sorted(a.guid for a in accounts.accounts)

    first = accounts.accounts[0]
    read = mx.accounts.read_account(first.guid, agg.user.guid)
    assert isinstance(read, mxp.AccountResponseBody)
    assert read.account.guid == first.guid
    assert read.account.balance == first.balance
    read2 = mx.accounts.read_account_by_member(first.guid, agg.member.guid, agg.user.guid)
    assert isinstance(read2, mxp.AccountResponseBody)
    assert read2.account.guid == first.guid


def test_transactions(mx, agg, accounts):
    body = mx.transactions.list_transactions(agg.user.guid, page=1, records_per_page=1000)
    assert mx.status == 200
    assert isinstance(body, mxp.TransactionsResponseBodyIncludes)
    txns = body.transactions
    assert txns
    h.assert_pagination(body.pagination, current_page=1, total_entries=len(txns))
    account_guids = {a.guid for a in accounts.accounts}
    today = dt.date.today()
    for t in txns:
        assert isinstance(t, mxp.TransactionIncludesResponse)
        assert t.guid.startswith("TRN-")
        assert t.account_guid in account_guids
        assert t.member_guid == agg.member.guid
        assert t.user_guid == agg.user.guid
        assert isinstance(t.amount, (int, float))
        assert t.type in ("CREDIT", "DEBIT")
        age = (today - dt.date.fromisoformat(t.var_date)).days  # the SDK names `date` var_date
        assert -6 <= age <= 91, t.var_date

    page2 = mx.transactions.list_transactions(agg.user.guid, page=2, records_per_page=10)
    assert isinstance(page2, mxp.TransactionsResponseBodyIncludes)
    h.assert_pagination(page2.pagination, current_page=2, per_page=10, total_entries=len(txns))
    assert len(page2.transactions) == min(10, max(0, len(txns) - 10))

    by_member = mx.transactions.list_transactions_by_member(agg.member.guid, agg.user.guid, page=1, records_per_page=1000)
    assert isinstance(by_member, mxp.TransactionsResponseBodyIncludes)
    assert sorted(t.guid for t in by_member.transactions) == sorted(t.guid for t in txns)

    checking = next(a for a in accounts.accounts if a.type == "CHECKING")
    by_account = mx.transactions.list_transactions_by_account(checking.guid, agg.user.guid, page=1, records_per_page=1000)
    assert isinstance(by_account, mxp.TransactionsResponseBodyIncludes)
    assert by_account.transactions
    assert sorted(t.guid for t in by_account.transactions) == sorted(
        t.guid for t in txns if t.account_guid == checking.guid)


def test_read_transaction(mx, agg):
    listed = mx.transactions.list_transactions(agg.user.guid, page=1, records_per_page=10)
    guid = listed.transactions[0].guid
    body = mx.transactions.read_transaction(agg.user.guid, guid)
    assert mx.status == 200
    assert isinstance(body, mxp.TransactionsResponseBodyIncludes), body
    assert body.transactions is not None, f"SDK got no transaction from: {mx.client.last_response.data[:200]}"
    assert [t.guid for t in body.transactions] == [guid]


def test_duplicate_member_is_409(mx, agg):
    assert h.failure_status(lambda: h.create_mxbank_member(mx, agg.user.guid, "password")) == 409


def test_identify_and_owners(mx, agg, accounts):
    body = mx.members.identify_member(agg.member.guid, agg.user.guid)
    assert mx.status == 202
    assert isinstance(body, mxp.MemberResponseBody), body
    assert body.member.guid == agg.member.guid
    assert h.poll_status(mx, agg.user.guid, agg.member.guid).connection_status == "CONNECTED"

    owners = mx.accounts.list_account_owners_by_member(agg.member.guid, agg.user.guid)
    assert mx.status == 200
    assert isinstance(owners, mxp.AccountOwnersResponseBody)
    assert owners.account_owners
    account_guids = {a.guid for a in accounts.accounts}
    for o in owners.account_owners:
        assert isinstance(o, mxp.AccountOwnerResponse)
        assert o.guid.startswith("ACO-")
        assert o.account_guid in account_guids
        assert o.member_guid == agg.member.guid
        assert o.user_guid == agg.user.guid
        assert isinstance(o.owner_name, str) and o.owner_name
    h.assert_pagination(owners.pagination, total_entries=len(owners.account_owners))


def test_other_jobs(mx, agg, accounts):
    body = mx.members.aggregate_member(agg.member.guid, agg.user.guid)
    assert mx.status == 202
    assert isinstance(body, mxp.MemberResponseBody), body
    assert h.poll_status(mx, agg.user.guid, agg.member.guid).connection_status == "CONNECTED"

    body = mx.members.check_balances(agg.member.guid, agg.user.guid)
    assert mx.status == 202
    assert isinstance(body, mxp.MemberResponseBody), body
    assert h.poll_status(mx, agg.user.guid, agg.member.guid).connection_status == "CONNECTED"

    body = mx.transactions.extend_history(agg.member.guid, agg.user.guid)
    assert mx.status == 202
    assert isinstance(body, mxp.MemberResponseBody), body
    assert h.poll_status(mx, agg.user.guid, agg.member.guid).connection_status == "CONNECTED"

    after = mx.accounts.list_user_accounts(agg.user.guid)
    assert len(after.accounts) == len(accounts.accounts)


def test_members_crud(mx, agg):
    members = mx.members.list_members(agg.user.guid)
    assert isinstance(members, mxp.MembersResponseBody)
    assert [m.guid for m in members.members] == [agg.member.guid]
    assert all(isinstance(m, mxp.MemberResponse) for m in members.members)
    h.assert_pagination(members.pagination, total_entries=1)

    creds = mx.members.list_member_credentials(agg.member.guid, agg.user.guid)
    assert isinstance(creds, mxp.CredentialsResponseBody)
    assert len(creds.credentials) == 2

    updated = mx.members.update_member(agg.member.guid, agg.user.guid, mxp.MemberUpdateRequestBody(
        member=mxp.MemberUpdateRequest(metadata="updated by python")))
    assert mx.status == 200
    assert isinstance(updated, mxp.MemberResponseBody)
    assert updated.member.metadata == "updated by python"

    assert mx.members.delete_member(agg.member.guid, agg.user.guid) is None
    assert mx.status == 204
    assert h.failure_status(lambda: mx.members.read_member(agg.member.guid, agg.user.guid)) == 404
