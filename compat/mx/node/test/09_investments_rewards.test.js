'use strict';
// Investments and rewards with mx-platform-node: holdings by user, member and account, reading
// one, deactivating the user, fetch_rewards and listing/reading rewards.

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { InvestmentHoldingsApi, RewardsApi } = require('mx-platform-node');
const h = require('./helpers');

const { mx } = h;
const holdingsApi = new InvestmentHoldingsApi(h.configuration());
const rewardsApi = new RewardsApi(h.configuration());
const cents = (n) => Math.round(n * 100);

describe('investments and rewards with mx-platform-node', () => {
  let user;
  let member;
  let brokerage;
  let holdings;

  before(async () => {
    const r = await h.aggregatedMember('password');
    assert.equal(r.status.connection_status, 'CONNECTED');
    user = r.user;
    member = r.member;
    const accounts = (await mx.accounts.listMemberAccounts(user.guid, member.guid)).data.accounts;
    brokerage = accounts.find((a) => a.type === 'INVESTMENT');
    assert.ok(brokerage, `an INVESTMENT account among ${accounts.map((a) => a.type)}`);
  });

  it('lists holdings by user whose market values add up to the brokerage balance', async () => {
    const res = await holdingsApi.listHoldings(user.guid, 1, 100);
    assert.equal(res.status, 200);
    holdings = res.data.investment_holdings;
    assert.ok(holdings.length >= 3, JSON.stringify(res.data));
    h.assertPagination(res.data.pagination, { perPage: 100, totalEntries: holdings.length, currentPage: 1 });
    let total = 0;
    for (const x of holdings) {
      assert.match(x.guid, /^HOL-/);
      assert.equal(x.account_guid, brokerage.guid);
      assert.equal(x.user_guid, user.guid);
      assert.equal(typeof x.symbol, 'string');
      assert.equal(typeof x.quantity, 'string');
      assert.equal(cents(x.market_value), Number.parseFloat(x.quantity) * cents(x.current_price));
      total += cents(x.market_value);
    }
    assert.equal(total, cents(brokerage.balance));
  });

  it('lists the same holdings by member and by account, and reads one', async () => {
    const byMember = await holdingsApi.listHoldingsByMember(member.guid, user.guid);
    assert.equal(byMember.status, 200);
    assert.deepEqual(byMember.data.investment_holdings, holdings);
    const byAccount = await holdingsApi.listHoldingsByAccount(brokerage.guid, user.guid);
    assert.equal(byAccount.status, 200);
    assert.deepEqual(byAccount.data.investment_holdings, holdings);
    const one = await holdingsApi.readHolding(holdings[0].guid, user.guid);
    assert.equal(one.status, 200);
    assert.deepEqual(one.data.investment_holding, holdings[0]);
    assert.equal(await h.failureStatus(holdingsApi.readHolding('HOL-nope', user.guid)), 404);
  });

  it('deactivates the user from investment holdings', async () => {
    const res = await holdingsApi.deactivateUser(user.guid);
    assert.equal(res.status, 200);
    assert.deepEqual(res.data, { message: 'Successfully deactivated user from billing', status: 200 });
    // Any holdings endpoint reactivates the user.
    assert.equal((await holdingsApi.listHoldings(user.guid)).status, 200);
  });

  it('fetches rewards, then lists and reads them', async () => {
    const res = await rewardsApi.fetchRewards(user.guid, member.guid);
    assert.equal(res.status, 200);
    assert.equal(res.data.member.guid, member.guid);
    const status = await h.pollStatus(user.guid, member.guid, h.connectedAndIdle);
    assert.equal(status.connection_status, 'CONNECTED');
    const list = await rewardsApi.listRewards(user.guid, member.guid);
    assert.equal(list.status, 200);
    const rewards = list.data.rewards;
    assert.deepEqual(rewards.map((r) => r.unit_type), ['POINTS', 'POINTS', 'MILES']);
    for (const r of rewards) {
      assert.match(r.guid, /^RWD-/);
      assert.ok(Number.isInteger(r.balance));
      assert.equal(r.member_guid, member.guid);
    }
    h.assertPagination(list.data.pagination, { totalEntries: 3, currentPage: 1 });
    const one = await rewardsApi.readRewards(user.guid, member.guid, rewards[2].guid);
    assert.equal(one.status, 200);
    assert.deepEqual(one.data.reward, rewards[2]);
    assert.equal(await h.failureStatus(rewardsApi.readRewards(user.guid, member.guid, 'RWD-nope')), 404);
  });
});
