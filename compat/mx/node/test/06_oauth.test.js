'use strict';
// OAuth members (mx_bank_oauth): the oauth_window_uri page, authorize and deny.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { mx } = h;

async function oauthMember() {
  const user = await h.createUser();
  const created = await mx.members.createMember(user.guid, {
    member: { institution_code: 'mx_bank_oauth', credentials: [], is_oauth: true },
  });
  assert.ok([200, 202].includes(created.status), `createMember status ${created.status}`);
  const member = created.data.member;
  assert.equal(member.is_oauth, true);
  assert.equal(member.connection_status, 'PENDING');
  assert.equal(member.institution_code, 'mx_bank_oauth');
  assert.equal(typeof member.oauth_window_uri, 'string');
  assert.ok(member.oauth_window_uri.startsWith(h.BASE), `${member.oauth_window_uri} is served by openiav`);
  return { user, member };
}

/** Loads the OAuth page and submits its form with `decision`. */
async function decide(uri, decision) {
  const page = await fetch(uri);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  const html = await page.text();
  assert.match(html, /<form[^>]*method="post"/i);
  assert.match(html, new RegExp(`name="decision"[^>]*value="${decision}"`));
  const res = await fetch(uri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision }).toString(),
    redirect: 'manual',
  });
  assert.ok(res.status < 400, `POST ${decision} → HTTP ${res.status}`);
  return res;
}

describe('OAuth (mx_bank_oauth) with mx-platform-node', () => {
  it('authorize → CONNECTED, then an aggregation brings accounts', async () => {
    const { user, member } = await oauthMember();
    const win = await mx.widgets.requestOAuthWindowURI(member.guid, user.guid);
    assert.equal(win.status, 200);
    assert.equal(win.data.member.guid, member.guid);
    assert.equal(typeof win.data.member.oauth_window_uri, 'string');

    await decide(win.data.member.oauth_window_uri, 'authorize');
    const status = await h.pollStatus(user.guid, member.guid, h.connectedAndIdle);
    assert.equal(status.connection_status, 'CONNECTED');
    const read = await mx.members.readMember(member.guid, user.guid);
    assert.equal(read.data.member.is_oauth, true);
    assert.equal(read.data.member.connection_status, 'CONNECTED');
    const accounts = await mx.accounts.listMemberAccounts(user.guid, member.guid);
    assert.ok(accounts.data.accounts.length > 0, 'accounts after the OAuth aggregation');
  });

  it('deny → DENIED', async () => {
    const { user, member } = await oauthMember();
    await decide(member.oauth_window_uri, 'deny');
    const status = await h.pollStatus(
      user.guid,
      member.guid,
      (m) => m.connection_status !== 'PENDING' && m.is_being_aggregated === false,
    );
    assert.equal(status.connection_status, 'DENIED');
    const accounts = await mx.accounts.listMemberAccounts(user.guid, member.guid);
    assert.equal(accounts.data.accounts.length, 0);
  });
});
