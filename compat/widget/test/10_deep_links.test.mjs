// Widget URLs that open somewhere other than search: on an institution's credentials
// (`current_institution_code`, with `disable_institution_search`), and on a member the
// application already has (`current_member_guid`) that waits for an MFA answer.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

/** Creates an MX Bank member for `user` through the Platform API with `password`. */
async function createMember(user, password) {
  const fields = await h.api('GET', '/institutions/mxbank/credentials');
  assert.equal(fields.status, 200, fields.text);
  const value = { LOGIN: 'mxuser', PASSWORD: password };
  const credentials = fields.body.credentials.map((c) => ({ guid: c.guid, value: value[c.field_type] }));
  const res = await h.api('POST', `/users/${user.guid}/members`, { member: { institution_code: 'mxbank', credentials } });
  assert.equal(res.status, 202, res.text);
  return res.body.member.guid;
}

async function waitForStatus(user, member, status) {
  for (let waited = 0; waited < h.STEP_TIMEOUT_MS; waited += 100) {
    const res = await h.api('GET', `/users/${user.guid}/members/${member}/status`);
    if (res.body.member.connection_status === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`member ${member} never reached ${status}`);
}

describe('deep links', () => {
  it('current institution without search', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, {
      mode: 'aggregation',
      current_institution_code: 'mxbank',
      disable_institution_search: true,
    });
    await w.step('enterCreds', { heading: 'MX Bank' });
    const loaded = await w.waitForCallback('onLoaded');
    assert.equal(loaded[0].initial_step, 'enterCreds');
    await h.assertInstitutionEvents(w, 'mxbank');

    // Back asks the host to take over: the widget has no search to return to.
    await w.button('Back').click();
    await w.waitForCallback('onBackToSearch');
    assert.equal(await w.root.getAttribute('data-step'), 'enterCreds', 'search stays disabled');
    assert.equal(await w.page.evaluate(() => window.__widget.navigateBack()), false);

    await w.enterCredentials('mxuser', 'password');
    await w.step('connected', { heading: 'Connected' });
    await h.assertConnected(w);
    await w.finish();
  });

  it('current member waiting for mfa', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const s = env.session(t);
    s.user = await h.createUser();
    const member = await createMember(s.user, 'challenge');
    await waitForStatus(s.user, member, 'CHALLENGED');
    s.url = await h.requestWidgetUrl(s.user, { mode: 'aggregation', current_member_guid: member });
    await s.openHost({ url: s.url });

    await s.step('mfa', { heading: 'Verify your identity' });
    const loaded = await s.waitForCallback('onLoaded');
    assert.equal(loaded[0].initial_step, 'mfa');
    await s.frame.getByLabel('What city were you born in?').fill('correct');
    await s.button('Continue').click();
    await s.step('connected', { heading: 'Connected' });
    const connected = await s.waitForCallback('onMemberConnected');
    assert.equal(connected[0].member_guid, member, 'the member the URL named is the one connected');
    const submitted = await s.waitForCallback('onSubmitMFA');
    assert.equal(submitted[0].member_guid, member);
    assert.equal((await h.listedMember(s.user.guid, member)).connection_status, 'CONNECTED');
    await s.finish();
  });
});
