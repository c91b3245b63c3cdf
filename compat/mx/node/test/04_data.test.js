'use strict';
// What an aggregation produces: accounts, transactions, account owners (identify), and the other jobs.

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { mx } = h;

const DAY_MS = 24 * 60 * 60 * 1000;

describe('aggregated data with mx-platform-node', () => {
  let user;
  let member;
  let accounts;

  before(async () => {
    const r = await h.aggregatedMember('password');
    assert.equal(r.status.connection_status, 'CONNECTED');
    user = r.user;
    member = r.member;
  });

  it('lists the user accounts: checking, savings and credit card', async () => {
    const res = await mx.accounts.listUserAccounts(user.guid);
    assert.equal(res.status, 200);
    accounts = res.data.accounts;
    const types = accounts.map((a) => a.type);
    for (const t of ['CHECKING', 'SAVINGS', 'CREDIT_CARD']) assert.ok(types.includes(t), `${t} in ${types}`);
    for (const a of accounts) {
      assert.match(a.guid, /^ACT-/);
      assert.equal(a.member_guid, member.guid);
      assert.equal(a.user_guid, user.guid);
      assert.equal(a.institution_code, 'mxbank');
      assert.equal(typeof a.name, 'string');
      assert.equal(typeof a.balance, 'number');
      assert.equal(typeof a.created_at, 'string');
    }
    h.assertPagination(res.data.pagination, { totalEntries: accounts.length, currentPage: 1 });
  });

  it('lists the member accounts: the same accounts', async () => {
    const res = await mx.accounts.listMemberAccounts(user.guid, member.guid);
    assert.equal(res.status, 200);
    assert.deepEqual(res.data.accounts.map((a) => a.guid).sort(), accounts.map((a) => a.guid).sort());
  });

  it('reads an account by user and by member', async () => {
    const a = accounts[0];
    const byUser = await mx.accounts.readAccount(a.guid, user.guid);
    assert.equal(byUser.status, 200);
    assert.equal(byUser.data.account.guid, a.guid);
    assert.equal(byUser.data.account.balance, a.balance);
    const byMember = await mx.accounts.readAccountByMember(a.guid, member.guid, user.guid);
    assert.equal(byMember.status, 200);
    assert.equal(byMember.data.account.guid, a.guid);
  });

  it('lists transactions by user (90 days), with integer pagination', async () => {
    const res = await mx.transactions.listTransactions(user.guid, 1, 1000);
    assert.equal(res.status, 200);
    const txns = res.data.transactions;
    assert.ok(txns.length > 0, 'transactions exist');
    h.assertPagination(res.data.pagination, { currentPage: 1, totalEntries: txns.length });
    const accountGuids = new Set(accounts.map((a) => a.guid));
    const now = Date.now();
    for (const t of txns) {
      assert.match(t.guid, /^TRN-/);
      assert.ok(accountGuids.has(t.account_guid));
      assert.equal(t.member_guid, member.guid);
      assert.equal(t.user_guid, user.guid);
      assert.equal(typeof t.amount, 'number');
      assert.ok(['CREDIT', 'DEBIT'].includes(t.type), t.type);
      assert.match(t.date, /^\d{4}-\d{2}-\d{2}$/);
      const age = now - Date.parse(`${t.date}T00:00:00Z`);
      assert.ok(age <= 91 * DAY_MS && age >= -6 * DAY_MS, `date ${t.date} within the last 90 days`);
    }

    const page2 = await mx.transactions.listTransactions(user.guid, 2, 10);
    assert.equal(page2.status, 200);
    h.assertPagination(page2.data.pagination, { currentPage: 2, perPage: 10, totalEntries: txns.length });
    assert.equal(page2.data.transactions.length, Math.min(10, Math.max(0, txns.length - 10)));
  });

  it('lists transactions by member and by account', async () => {
    const all = (await mx.transactions.listTransactions(user.guid, 1, 1000)).data.transactions;
    const byMember = await mx.transactions.listTransactionsByMember(member.guid, user.guid, 1, 1000);
    assert.equal(byMember.status, 200);
    assert.deepEqual(byMember.data.transactions.map((t) => t.guid).sort(), all.map((t) => t.guid).sort());

    const checking = accounts.find((a) => a.type === 'CHECKING');
    const byAccount = await mx.transactions.listTransactionsByAccount(checking.guid, user.guid, 1, 1000);
    assert.equal(byAccount.status, 200);
    assert.ok(byAccount.data.transactions.length > 0);
    for (const t of byAccount.data.transactions) assert.equal(t.account_guid, checking.guid);
    assert.deepEqual(
      byAccount.data.transactions.map((t) => t.guid).sort(),
      all.filter((t) => t.account_guid === checking.guid).map((t) => t.guid).sort(),
    );
  });

  it('reads one transaction (MX documented shape {"transaction": {...}})', async () => {
    const list = await mx.transactions.listTransactions(user.guid, 1, 10);
    const guid = list.data.transactions[0].guid;
    const res = await mx.transactions.readTransaction(user.guid, guid);
    assert.equal(res.status, 200);
    const txn = res.data.transaction ?? (res.data.transactions || [])[0];
    assert.ok(txn, `a transaction in ${JSON.stringify(res.data)}`);
    assert.equal(txn.guid, guid);
    assert.equal(txn.user_guid, user.guid);
  });

  // The SDK types readTransaction as TransactionsResponseBodyIncludes ({transactions: [...]}, a
  // spec quirk); code written against the SDK's types reads `data.transactions[0]`.
  it('reads one transaction in the SDK-typed shape {"transactions": [...]}', async () => {
    const list = await mx.transactions.listTransactions(user.guid, 1, 10);
    const guid = list.data.transactions[0].guid;
    const res = await mx.transactions.readTransaction(user.guid, guid);
    assert.ok(Array.isArray(res.data.transactions), JSON.stringify(res.data).slice(0, 200));
    assert.equal(res.data.transactions[0].guid, guid);
  });

  it('a duplicate member (same user, institution and credentials) → 409', async () => {
    const status = await h.failureStatus(h.createMxbankMember(user.guid, 'password'));
    assert.equal(status, 409);
  });

  it('identify → 202, then lists account owners', async () => {
    const res = await mx.members.identifyMember(member.guid, user.guid);
    assert.equal(res.status, 202);
    assert.equal(res.data.member.guid, member.guid);
    const status = await h.pollStatus(user.guid, member.guid);
    assert.equal(status.connection_status, 'CONNECTED');

    const owners = await mx.accounts.listAccountOwnersByMember(member.guid, user.guid);
    assert.equal(owners.status, 200);
    assert.ok(owners.data.account_owners.length > 0);
    const accountGuids = new Set(accounts.map((a) => a.guid));
    for (const o of owners.data.account_owners) {
      assert.match(o.guid, /^ACO-/);
      assert.ok(accountGuids.has(o.account_guid));
      assert.equal(o.member_guid, member.guid);
      assert.equal(o.user_guid, user.guid);
      assert.equal(typeof o.owner_name, 'string');
    }
    h.assertPagination(owners.data.pagination, { totalEntries: owners.data.account_owners.length });
  });

  it('aggregate → 202, check_balance → 202, extend_history → 202', async () => {
    const agg = await mx.members.aggregateMember(member.guid, user.guid);
    assert.equal(agg.status, 202);
    assert.equal(agg.data.member.guid, member.guid);
    assert.equal((await h.pollStatus(user.guid, member.guid)).connection_status, 'CONNECTED');

    const bal = await mx.members.checkBalances(member.guid, user.guid);
    assert.equal(bal.status, 202);
    assert.equal((await h.pollStatus(user.guid, member.guid)).connection_status, 'CONNECTED');

    const ext = await mx.transactions.extendHistory(member.guid, user.guid);
    assert.equal(ext.status, 202);
    assert.equal((await h.pollStatus(user.guid, member.guid)).connection_status, 'CONNECTED');

    const after = await mx.accounts.listUserAccounts(user.guid);
    assert.equal(after.data.accounts.length, accounts.length, 'jobs re-aggregate without duplicating accounts');
  });

  it('lists and reads members, member credentials; deletes the member (204)', async () => {
    const list = await mx.members.listMembers(user.guid);
    assert.equal(list.status, 200);
    assert.deepEqual(list.data.members.map((m) => m.guid), [member.guid]);
    h.assertPagination(list.data.pagination, { totalEntries: 1 });

    const creds = await mx.members.listMemberCredentials(member.guid, user.guid);
    assert.equal(creds.status, 200);
    assert.equal(creds.data.credentials.length, 2);
    for (const c of creds.data.credentials) assert.match(c.guid, /^CRD-/);

    const upd = await mx.members.updateMember(member.guid, user.guid, { member: { metadata: 'updated by node' } });
    assert.equal(upd.status, 200);
    assert.equal(upd.data.member.metadata, 'updated by node');

    const del = await mx.members.deleteMember(member.guid, user.guid);
    assert.equal(del.status, 204);
    assert.equal(await h.failureStatus(mx.members.readMember(member.guid, user.guid)), 404);
  });
});
