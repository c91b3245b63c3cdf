// OAuth with MX Bank (OAuth): "Go to log in" opens the test bank's authorize page in a new
// window; Authorize connects the member, Deny ends on loginError.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

/** Picks MX Bank (OAuth), opens the bank's page in a popup and presses `decision` there. */
async function oauth(t, decision) {
  const w = await env.widget(t, { mode: 'aggregation' });
  await w.step('search', { heading: 'Select your institution' });
  await w.choosePopular('MX Bank (OAuth)');
  await w.step('oauth', { heading: 'Log in at MX Bank (OAuth)' });
  await h.assertInstitutionEvents(w, 'mx_bank_oauth');

  const popupOpened = w.context.waitForEvent('page', { timeout: h.STEP_TIMEOUT_MS });
  await w.button('Go to log in').click();
  const popup = await popupOpened;
  await popup.waitForLoadState('domcontentloaded');
  const button = popup.getByRole('button', { name: decision, exact: true });
  await button.waitFor();
  await popup.getByRole('button', { name: decision === 'Authorize' ? 'Deny' : 'Authorize', exact: true }).waitFor();
  await w.shot('bank-page', popup);

  const requested = await w.waitForCallback('onOAuthRequested');
  assert.equal(requested.length, 1, 'onOAuthRequested fires once');
  assert.match(requested[0].member_guid, /^MBR-/);
  assert.doesNotThrow(() => new URL(requested[0].url), `onOAuthRequested.url is a URL (${requested[0].url})`);

  await button.click();
  // The completion page (the popup may close itself right away).
  try {
    await popup.waitForLoadState('domcontentloaded', { timeout: 2000 });
    if (!popup.isClosed()) await w.shot('bank-complete', popup);
  } catch {
    // closed already
  }
  return { w, memberGuid: requested[0].member_guid };
}

describe('OAuth', () => {
  it('oauth authorize', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const { w, memberGuid } = await oauth(t, 'Authorize');
    await w.passConnecting(w.frame.locator('#mx-widget[data-step="connected"]'));
    await w.step('connected', { heading: 'Connected' });
    const connected = await h.assertConnected(w);
    assert.equal(connected, memberGuid, 'the member that connected is the one OAuth was requested for');
    await h.pressDone(w);
    assert.deepEqual(await w.metadataOf('onOAuthError'), [], 'no onOAuthError');
    const member = await h.listedMember(w.user.guid, memberGuid);
    assert.equal(member.institution_code, 'mx_bank_oauth');
    assert.equal(member.is_oauth, true);
    await w.finish();
  });

  it('oauth deny', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const { w, memberGuid } = await oauth(t, 'Deny');
    await w.passConnecting(w.frame.locator('#mx-widget[data-step="loginError"]'));
    await w.step('loginError', { heading: 'Something went wrong' });
    assert.ok((await w.alertText()).length > 0, 'an alert explains the failure');
    assert.deepEqual(await w.metadataOf('onMemberConnected'), [], 'no onMemberConnected');
    const member = await h.listedMember(w.user.guid, memberGuid);
    assert.equal(member.connection_status, 'DENIED');
    await w.finish();
  });
});
