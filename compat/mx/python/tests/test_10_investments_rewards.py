"""Investments and rewards with mx-platform-python: holdings by user, member and account, reading
one, deactivating the user, fetch_rewards and listing/reading rewards."""

import pytest
import mx_platform_python as mxp
from mx_platform_python.exceptions import ApiException

import mx_helpers as h


def cents(n):
    return round(n * 100)


@pytest.fixture(scope="module")
def holdings_api(mx):
    return mxp.InvestmentHoldingsApi(mx.client)


@pytest.fixture(scope="module")
def rewards_api(mx):
    return mxp.RewardsApi(mx.client)


@pytest.fixture(scope="module")
def agg(mx):
    a = h.aggregated_member(mx, "password")
    assert a.status.connection_status == "CONNECTED"
    return a


@pytest.fixture(scope="module")
def brokerage(mx, agg):
    accounts = mx.accounts.list_member_accounts(agg.user.guid, agg.member.guid).accounts
    found = [a for a in accounts if a.type == "INVESTMENT"]
    assert len(found) == 1, [a.type for a in accounts]
    return found[0]


def test_list_holdings_by_user_member_and_account(mx, holdings_api, agg, brokerage):
    by_user = holdings_api.list_holdings(agg.user.guid, page=1, records_per_page=100)
    assert mx.status == 200
    assert isinstance(by_user, mxp.InvestmentHoldingsResponseBody), by_user
    assert len(by_user.investment_holdings) >= 3
    h.assert_pagination(by_user.pagination, per_page=100, total_entries=len(by_user.investment_holdings), current_page=1)
    total = 0
    for x in by_user.investment_holdings:
        assert isinstance(x, mxp.InvestmentHoldingResponse)
        assert x.guid.startswith("HOL-")
        assert x.account_guid == brokerage.guid
        assert x.user_guid == agg.user.guid
        assert isinstance(x.quantity, str)
        assert cents(x.market_value) == int(float(x.quantity)) * cents(x.current_price)
        total += cents(x.market_value)
    assert total == cents(brokerage.balance)

    by_member = holdings_api.list_holdings_by_member(agg.member.guid, agg.user.guid)
    assert mx.status == 200
    assert isinstance(by_member, mxp.InvestmentHoldingsResponseBody)
    assert [x.guid for x in by_member.investment_holdings] == [x.guid for x in by_user.investment_holdings]
    by_account = holdings_api.list_holdings_by_account(brokerage.guid, agg.user.guid)
    assert mx.status == 200
    assert [x.guid for x in by_account.investment_holdings] == [x.guid for x in by_user.investment_holdings]

    one = holdings_api.read_holding(by_user.investment_holdings[0].guid, agg.user.guid)
    assert mx.status == 200
    assert isinstance(one, mxp.InvestmentHoldingResponseBody), one
    assert one.investment_holding.guid == by_user.investment_holdings[0].guid
    with pytest.raises(ApiException) as e:
        holdings_api.read_holding("HOL-nope", agg.user.guid)
    assert e.value.status == 404


def test_deactivate_user(mx, holdings_api, agg):
    body = holdings_api.deactivate_user(agg.user.guid)
    assert mx.status == 200
    assert isinstance(body, mxp.InvestmentHoldingsDeactivation), body
    assert body.message == "Successfully deactivated user from billing"
    assert body.status == 200
    holdings_api.list_holdings(agg.user.guid)
    assert mx.status == 200


def test_fetch_list_and_read_rewards(mx, rewards_api, agg):
    body = rewards_api.fetch_rewards(agg.user.guid, agg.member.guid)
    assert mx.status == 200
    assert isinstance(body, mxp.MemberResponseBody), body
    assert body.member.guid == agg.member.guid
    status = h.poll_status(mx, agg.user.guid, agg.member.guid, h.connected_and_idle)
    assert status.connection_status == "CONNECTED"

    listed = rewards_api.list_rewards(agg.user.guid, agg.member.guid)
    assert mx.status == 200
    assert isinstance(listed, mxp.RewardsResponseBody), listed
    assert [r.unit_type for r in listed.rewards] == ["POINTS", "POINTS", "MILES"]
    for r in listed.rewards:
        assert r.guid.startswith("RWD-")
        assert isinstance(r.balance, int)
        assert r.member_guid == agg.member.guid
    h.assert_pagination(listed.pagination, total_entries=3, current_page=1)

    one = rewards_api.read_rewards(agg.user.guid, agg.member.guid, listed.rewards[2].guid)
    assert mx.status == 200
    assert isinstance(one, mxp.RewardResponseBody), one
    assert one.reward.guid == listed.rewards[2].guid
    assert one.reward.unit_type == "MILES"
    with pytest.raises(ApiException) as e:
        rewards_api.read_rewards(agg.user.guid, agg.member.guid, "RWD-nope")
    assert e.value.status == 404
