'use strict';
// Seed 001: the API-only instant account verification flow, end to end, with mx-platform-node.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { mx } = h;

describe('IAV flow (seed 001) with mx-platform-node', () => {
  const state = {};

  it('1. creates a user', async () => {
    const id = h.uniqueId('partner');
    const res = await mx.users.createUser({
      user: { id, is_disabled: false, email: `${id}@example.com`, metadata: 'Yada yada yada' },
    });
    assert.equal(res.status, 200);
    const user = res.data.user;
    assert.match(user.guid, /^USR-/);
    assert.equal(user.id, id);
    assert.equal(user.email, `${id}@example.com`);
    assert.equal(user.is_disabled, false);
    assert.equal(user.metadata, 'Yada yada yada');
    state.user = user;
  });

  it('2.1 finds MX Bank by name', async () => {
    const res = await mx.institutions.listInstitutions('MX Bank');
    assert.equal(res.status, 200);
    const codes = res.data.institutions.map((i) => i.code);
    assert.ok(codes.includes('mxbank'), `mxbank in ${codes}`);
    assert.ok(codes.includes('mx_bank_oauth'), `mx_bank_oauth in ${codes}`);
    const mxbank = res.data.institutions.find((i) => i.code === 'mxbank');
    assert.equal(mxbank.name, 'MX Bank');
    assert.equal(typeof mxbank.supports_account_verification, 'boolean');
    h.assertPagination(res.data.pagination, { currentPage: 1 });
    assert.ok(res.data.pagination.total_entries >= 2);
    state.institutionCode = mxbank.code;
  });

  it('2.2 reads the institution-required credentials', async () => {
    const res = await mx.institutions.listInstitutionCredentials(state.institutionCode);
    assert.equal(res.status, 200);
    const creds = res.data.credentials;
    assert.equal(creds.length, 2);
    const [login, password] = [...creds].sort((a, b) => a.display_order - b.display_order);
    assert.equal(login.field_name, 'LOGIN');
    assert.equal(login.label, 'Username');
    assert.equal(password.field_name, 'PASSWORD');
    assert.equal(password.label, 'Password');
    for (const c of creds) {
      assert.match(c.guid, /^CRD-/);
      assert.ok(Number.isInteger(c.display_order));
      assert.equal(typeof c.field_type, 'string');
    }
    h.assertPagination(res.data.pagination, { totalEntries: 2 });
    state.credentials = { login: login.guid, password: password.guid };
  });

  it('2.3 creates the member (skip_aggregation: true) → 200', async () => {
    const res = await mx.members.createMember(state.user.guid, {
      member: {
        institution_code: 'mxbank',
        credentials: [
          { guid: state.credentials.login, value: 'mxuser' },
          { guid: state.credentials.password, value: 'password' },
        ],
        skip_aggregation: true,
      },
    });
    assert.equal(res.status, 200);
    const member = res.data.member;
    assert.match(member.guid, /^MBR-/);
    assert.equal(member.institution_code, 'mxbank');
    assert.equal(member.user_guid, state.user.guid);
    assert.equal(member.name, 'MX Bank');
    assert.equal(member.is_being_aggregated, false);
    assert.equal(member.is_oauth, false);
    state.member = member;
  });

  it('3. starts verification → 200', async () => {
    const res = await mx.members.verifyMember(state.member.guid, state.user.guid);
    assert.equal(res.status, 200);
    assert.equal(res.data.member.guid, state.member.guid);
    assert.equal(res.data.member.user_guid, state.user.guid);
  });

  it('4. polls the status until the account-selection challenge', async () => {
    const status = await h.pollStatus(state.user.guid, state.member.guid);
    assert.equal(status.connection_status, 'CHALLENGED');
    assert.equal(status.is_authenticated, true);
    assert.equal(status.challenges.length, 1);
    const challenge = status.challenges[0];
    assert.equal(challenge.type, 'OPTIONS');
    assert.equal(challenge.label, 'Please select an account:');
    assert.match(challenge.guid, /^CRD-/);
    assert.ok(challenge.options.length >= 1);
    for (const o of challenge.options) {
      assert.match(o.value, /^ACT-/);
      assert.equal(typeof o.label, 'string');
    }
    state.challenge = challenge;
  });

  it('4b. lists the member challenges (200 while CHALLENGED)', async () => {
    const res = await mx.members.listMemberChallenges(state.member.guid, state.user.guid);
    assert.equal(res.status, 200);
    assert.equal(res.data.challenges.length, 1);
    assert.equal(res.data.challenges[0].guid, state.challenge.guid);
    assert.equal(res.data.challenges[0].type, 'OPTIONS');
    assert.deepEqual(
      res.data.challenges[0].options.map((o) => o.value),
      state.challenge.options.map((o) => o.value),
    );
  });

  it('5.1 answers the challenge with the first option → 202 RESUMED', async () => {
    state.chosen = state.challenge.options[0].value;
    const res = await mx.members.resumeAggregation(state.member.guid, state.user.guid, {
      member: { challenges: [{ guid: state.challenge.guid, value: state.chosen }] },
    });
    assert.equal(res.status, 202);
    assert.equal(res.data.member.guid, state.member.guid);
    assert.equal(res.data.member.connection_status, 'RESUMED');
  });

  it('5.2 polls until CONNECTED and no longer being aggregated', async () => {
    const status = await h.pollStatus(state.user.guid, state.member.guid);
    assert.equal(status.connection_status, 'CONNECTED');
    assert.equal(status.is_being_aggregated, false);
    assert.equal(status.is_authenticated, true);
    assert.equal(typeof status.successfully_aggregated_at, 'string');
    assert.ok(!Number.isNaN(Date.parse(status.successfully_aggregated_at)));
  });

  it('6. lists account numbers by member: exactly the chosen account', async () => {
    const res = await mx.accounts.listAccountNumbersByMember(state.member.guid, state.user.guid);
    assert.equal(res.status, 200);
    assert.equal(res.data.account_numbers.length, 1);
    const n = res.data.account_numbers[0];
    assert.equal(n.account_guid, state.chosen);
    assert.equal(n.member_guid, state.member.guid);
    assert.equal(n.user_guid, state.user.guid);
    assert.match(n.routing_number, /^\d{9}$/);
    assert.ok(h.isValidAba(n.routing_number), `routing number ${n.routing_number} has a valid ABA check digit`);
    assert.match(n.account_number, /^\d+$/);
    h.assertPagination(res.data.pagination, { totalEntries: 1 });
    state.accountNumber = n;
  });

  it('6b. lists account numbers by account: the same numbers', async () => {
    const res = await mx.accounts.listAccountNumbersByAccount(state.chosen, state.user.guid);
    assert.equal(res.status, 200);
    assert.equal(res.data.account_numbers.length, 1);
    const n = res.data.account_numbers[0];
    assert.equal(n.account_guid, state.chosen);
    assert.equal(n.routing_number, state.accountNumber.routing_number);
    assert.equal(n.account_number, state.accountNumber.account_number);
  });

  it('challenges → 204 once the member is no longer CHALLENGED', async () => {
    const res = await mx.members.listMemberChallenges(state.member.guid, state.user.guid);
    assert.equal(res.status, 204);
  });

  it('resume → 405 when the member is not CHALLENGED', async () => {
    const status = await h.failureStatus(
      mx.members.resumeAggregation(state.member.guid, state.user.guid, {
        member: { challenges: [{ guid: state.challenge.guid, value: state.chosen }] },
      }),
    );
    assert.equal(status, 405);
  });

  it('reads the member: CONNECTED, verified account visible', async () => {
    const res = await mx.members.readMember(state.member.guid, state.user.guid);
    assert.equal(res.status, 200);
    assert.equal(res.data.member.connection_status, 'CONNECTED');
    assert.equal(res.data.member.is_being_aggregated, false);
    const acct = await mx.accounts.readAccount(state.chosen, state.user.guid);
    assert.equal(acct.status, 200);
    assert.equal(acct.data.account.guid, state.chosen);
    assert.equal(acct.data.account.member_guid, state.member.guid);
  });
});
