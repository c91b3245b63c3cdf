'use strict';
// Seed 000: every MX Bank test password, through createMember (which starts an aggregation).

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { mx } = h;

// password → [final connection_status, connection_status_message (undefined: not checked)]
const TABLE = [
  ['password', 'CONNECTED', undefined],
  ['anything-else-123', 'CONNECTED', undefined],
  ['BAD_REQUEST', 'FAILED', 'You must fill out the username and password fields.'],
  ['UNAUTHORIZED', 'DENIED', 'Invalid credentials.'],
  ['INVALID', 'DENIED', 'The login and/or password are invalid.'],
  ['LOCKED', 'LOCKED', 'The credentials are valid, but the user is locked.'],
  ['DISABLED', 'DENIED', 'The credentials are valid, but the user is locked.'],
  ['SERVER_ERROR', 'FAILED', 'Internal server error.'],
  ['UNAVAILABLE', 'FAILED', 'Service is Unavailable.'],
];

describe('MX Bank test passwords (aggregation) with mx-platform-node', () => {
  for (const [password, expected, message] of TABLE) {
    it(`mxuser / ${password} → ${expected}`, async () => {
      const { user, member, status } = await h.aggregatedMember(password);
      assert.equal(status.connection_status, expected, JSON.stringify(status));
      assert.equal(status.is_being_aggregated, false);
      assert.equal(status.is_authenticated, expected === 'CONNECTED');

      const res = await mx.members.readMember(member.guid, user.guid);
      assert.equal(res.status, 200);
      assert.equal(res.data.member.connection_status, expected);
      assert.equal(res.data.member.is_being_aggregated, false);
      if (message !== undefined) {
        assert.equal(res.data.member.connection_status_message, message);
      }
      if (expected === 'CONNECTED') {
        assert.equal(typeof res.data.member.successfully_aggregated_at, 'string');
      } else {
        const accounts = await mx.accounts.listMemberAccounts(user.guid, member.guid);
        assert.equal(accounts.status, 200);
        assert.equal(accounts.data.accounts.length, 0, 'no accounts when the connection failed');
      }
    });
  }

  it('a username other than mxuser → DENIED', async () => {
    const user = await h.createUser();
    const created = await h.createMxbankMember(user.guid, 'password', { username: 'someone-else' });
    assert.equal(created.status, 202);
    const status = await h.pollStatus(user.guid, created.data.member.guid);
    assert.equal(status.connection_status, 'DENIED');
    assert.equal(status.is_being_aggregated, false);
  });

  it('create member answers 202 with is_being_aggregated true when an aggregation starts', async () => {
    const user = await h.createUser();
    const created = await h.createMxbankMember(user.guid, 'password', { skipAggregation: false });
    assert.equal(created.status, 202);
    const m = created.data.member;
    assert.equal(m.is_being_aggregated, true);
    assert.equal(m.institution_code, 'mxbank');
    assert.equal(m.user_guid, user.guid);
    const status = await h.pollStatus(user.guid, m.guid);
    assert.equal(status.connection_status, 'CONNECTED');
  });
});
