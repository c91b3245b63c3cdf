'use strict';
// MX Bank MFA passwords: challenge (TEXT), options (OPTIONS), image (IMAGE_DATA), answered via resume.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { mx } = h;

const MFA = [
  ['challenge', 'TEXT'],
  ['options', 'OPTIONS'],
  ['image', 'IMAGE_DATA'],
];

// answer → final connection_status
const ANSWERS = [
  ['correct', 'CONNECTED'],
  ['wrong-answer', 'REJECTED'],
  ['SERVER_ERROR', 'FAILED'],
  ['UNAVAILABLE', 'FAILED'],
  ['DISABLED', 'DENIED'],
];

/** Aggregates with an MFA password and returns the member once CHALLENGED. */
async function challenged(password, type) {
  const { user, member, status } = await h.aggregatedMember(password);
  assert.equal(status.connection_status, 'CHALLENGED', JSON.stringify(status));
  assert.equal(status.challenges.length, 1);
  const challenge = status.challenges[0];
  assert.equal(challenge.type, type);
  assert.match(challenge.guid, /^CRD-/);
  assert.equal(typeof challenge.label, 'string');
  if (type === 'OPTIONS') {
    assert.ok(challenge.options.some((o) => o.value === 'correct'), JSON.stringify(challenge.options));
  }
  if (type === 'IMAGE_DATA') {
    assert.match(challenge.image_data, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  }
  return { user, member, challenge };
}

describe('MFA challenges with mx-platform-node', () => {
  for (const [password, type] of MFA) {
    for (const [answer, expected] of ANSWERS) {
      it(`${password} (${type}) answered ${JSON.stringify(answer)} → ${expected}`, async () => {
        const { user, member, challenge } = await challenged(password, type);

        const listed = await mx.members.listMemberChallenges(member.guid, user.guid);
        assert.equal(listed.status, 200);
        assert.equal(listed.data.challenges[0].guid, challenge.guid);
        assert.equal(listed.data.challenges[0].type, type);

        const resumed = await mx.members.resumeAggregation(member.guid, user.guid, {
          member: { challenges: [{ guid: challenge.guid, value: answer }] },
        });
        assert.equal(resumed.status, 202);
        assert.equal(resumed.data.member.connection_status, 'RESUMED');

        const status = await h.pollStatus(user.guid, member.guid);
        assert.equal(status.connection_status, expected, JSON.stringify(status));
        assert.equal(status.is_being_aggregated, false);
        const read = await mx.members.readMember(member.guid, user.guid);
        assert.equal(read.data.member.connection_status, expected);
        const challenges = await mx.members.listMemberChallenges(member.guid, user.guid);
        assert.equal(challenges.status, 204);
      });
    }
  }

  it('a different job type while the aggregation waits on MFA → 409', async () => {
    const { user, member } = await challenged('challenge', 'TEXT');
    const status = await h.failureStatus(mx.members.identifyMember(member.guid, user.guid));
    assert.equal(status, 409);
    const still = await mx.members.readMemberStatus(member.guid, user.guid);
    assert.equal(still.data.member.connection_status, 'CHALLENGED');
  });
});
