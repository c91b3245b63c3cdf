'use strict';
// MX processor tokens with mx-platform-node's ProcessorTokenApi: the client requests an
// authorization code for a verified account (and through the deprecated endpoint), the
// processor redeems it at POST /token (no SDK method: MX's processor guide uses a plain request)
// and reads the account with the bearer token through the SDK; the client lists the tokens.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { Configuration, ProcessorTokenApi } = require('mx-platform-node');
const h = require('./helpers');

const { mx } = h;
const client = new ProcessorTokenApi(h.configuration());

/** A processor's SDK configuration: the bearer token, the same base URL. */
function processor(accessToken) {
  return new ProcessorTokenApi(new Configuration({ accessToken, basePath: h.BASE }));
}

/** POST /token?grant_type=authorization_code&code=… with the client's Basic credentials. */
async function redeem(code, clientId = h.CLIENT_ID, apiKey = h.API_KEY) {
  const url = `${h.BASE}/token?grant_type=authorization_code&code=${encodeURIComponent(code)}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      Accept: h.ACCEPT,
      Authorization: `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}`,
    },
  });
  return { status: res.status, body: await res.json() };
}

describe('processor tokens with mx-platform-node', () => {
  const state = {};

  it('verifies an MX Bank member and picks the first account', async () => {
    const user = await h.createUser();
    const created = await h.createMxbankMember(user.guid, 'password', { skipAggregation: true });
    assert.equal(created.status, 200);
    const member = created.data.member;
    assert.equal((await mx.members.verifyMember(member.guid, user.guid)).status, 200);
    const challenged = await h.pollStatus(user.guid, member.guid);
    assert.equal(challenged.connection_status, 'CHALLENGED');
    const challenge = challenged.challenges[0];
    const chosen = challenge.options[0].value;
    const resumed = await mx.members.resumeAggregation(member.guid, user.guid, {
      member: { challenges: [{ guid: challenge.guid, value: chosen }] },
    });
    assert.equal(resumed.status, 202);
    const status = await h.pollStatus(user.guid, member.guid);
    assert.equal(status.connection_status, 'CONNECTED');
    Object.assign(state, { user: user.guid, member: member.guid, account: chosen, other: challenge.options[1].value });
  });

  it('requestAuthorizationCode → a code; redeeming it gives a Bearer token with the scope', async () => {
    const scope = `user-guid:${state.user} member-guid:${state.member} account-guid:${state.account} read-protected`;
    const res = await client.requestAuthorizationCode({ authorization_code: { scope } });
    assert.equal(res.status, 200);
    const code = res.data.authorization_code.code;
    assert.equal(typeof code, 'string');
    const token = await redeem(code);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.body.token_type, 'Bearer');
    assert.equal(token.body.expires_at, null);
    assert.equal(token.body.scope, scope);
    state.token = token.body.access_token;
    const again = await redeem(code);
    assert.equal(again.status, 400, 'a code is single-use');
    assert.equal(again.body.error.message, 'The authorization code has already been used.');
  });

  it('an unverified account gets no code (422)', async () => {
    const scope = `user-guid:${state.user} member-guid:${state.member} account-guid:${state.other} read-protected`;
    assert.equal(await h.failureStatus(client.requestAuthorizationCode({ authorization_code: { scope } })), 422);
  });

  it('deprecatedRequestPaymentProcessorAuthorizationCode → a redeemable code', async () => {
    const res = await client.deprecatedRequestPaymentProcessorAuthorizationCode({
      payment_processor_authorization_code: {
        user_guid: state.user, member_guid: state.member, account_guid: state.account,
      },
    });
    assert.equal(res.status, 200);
    const code = res.data.payment_processor_authorization_code.authorization_code;
    assert.equal((await redeem(code)).status, 200);
  });

  it('requestAccountNumber reads the granted account numbers (integers, as the spec types them)', async () => {
    const res = await processor(state.token).requestAccountNumber();
    assert.equal(res.status, 200);
    assert.equal(res.data.account_numbers.length, 1);
    const n = res.data.account_numbers[0];
    assert.equal(n.account_guid, state.account);
    assert.equal(n.member_guid, state.member);
    assert.equal(n.user_guid, state.user);
    assert.ok(Number.isInteger(n.account_number) && Number.isInteger(n.routing_number), JSON.stringify(n));
    const listed = await mx.accounts.listAccountNumbersByAccount(state.account, state.user);
    assert.equal(String(n.account_number), listed.data.account_numbers[0].account_number);
  });

  it('readAccountBalance, checkRealTimeAccountBalance and getAccountOwnerInfo', async () => {
    const p = processor(state.token);
    const balance = await p.readAccountBalance();
    assert.equal(balance.status, 200);
    assert.equal(balance.data.payment_account.account_guid, state.account);
    assert.equal(typeof balance.data.payment_account.balance, 'number');
    const checked = await p.checkRealTimeAccountBalance();
    assert.equal(checked.status, 200);
    assert.equal(checked.data.member.guid, state.member);
    await h.pollStatus(state.user, state.member, h.connectedAndIdle);
    const owners = await p.getAccountOwnerInfo();
    assert.equal(owners.status, 200);
    assert.ok(Array.isArray(owners.data.account_owners));
    h.assertPagination(owners.data.pagination);
  });

  it('an unknown token is a 401', async () => {
    assert.equal(await h.failureStatus(processor('not-a-token').requestAccountNumber()), 401);
  });

  it('listTokens lists the two tokens without their secrets', async () => {
    const res = await client.listTokens({ scope: { user_guid: state.user } });
    assert.equal(res.status, 200);
    assert.equal(res.data.tokens.length, 2);
    for (const t of res.data.tokens) {
      assert.equal(t.active, true);
      assert.match(t.payment_processor_guid, /^PPR-/);
      assert.equal(typeof t.expires_at, 'string');
      assert.equal(t.access_token, undefined);
    }
  });
});
