// Login failures with MX Bank's test passwords: UNAUTHORIZED comes back to the credentials form
// with an alert; LOCKED and SERVER_ERROR end on loginError with MX's messages; "Back to search"
// goes back to the institution search and fires onBackToSearch.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

async function start(t, password) {
  const w = await env.widget(t, { mode: 'aggregation' });
  await w.step('search', { heading: 'Select your institution' });
  await w.choosePopular('MX Bank');
  await w.enterCredentials('mxuser', password);
  return w;
}

/** loginError with `message`, the Try again / Back to search buttons. */
async function expectLoginError(w, message) {
  await w.passConnecting(w.frame.locator('#mx-widget[data-step="loginError"]'));
  await w.step('loginError', { heading: 'Something went wrong' });
  assert.equal(await w.alertText(), message);
  await w.expect(w.button('Try again'), 'the Try again button');
  await w.expect(w.button('Back to search'), 'the Back to search button');
}

describe('login errors', () => {
  it('unauthorized credentials', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'UNAUTHORIZED');
    const alert = w.frame.getByRole('alert').filter({ hasText: h.MESSAGES.UNAUTHORIZED });
    await w.passConnecting(alert);
    await w.expect(alert, 'the DENIED alert');
    await w.step('enterCreds', { heading: 'MX Bank', shot: 'enterCreds-denied' });
    assert.equal(await w.alertText(), h.MESSAGES.UNAUTHORIZED);
    await w.expect(w.frame.getByLabel('Username', { exact: true }), 'the Username field again');
    await w.expect(w.frame.getByLabel('Password', { exact: true }), 'the Password field again');
    await w.expect(w.button('Continue'), 'the Continue button again');
    // The alert sits above the form.
    const alertBox = await w.alert.boundingBox();
    const userBox = await w.frame.getByLabel('Username', { exact: true }).boundingBox();
    assert.ok(alertBox.y < userBox.y, 'the alert is above the form');
    await h.assertNotConnected(w, h.STATUS.DENIED, 'DENIED');
    await w.finish();
  });

  it('locked account', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'LOCKED');
    await expectLoginError(w, h.MESSAGES.LOCKED);
    await h.assertNotConnected(w, h.STATUS.LOCKED, 'LOCKED');
    await w.finish();
  });

  it('server error and back to search', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'SERVER_ERROR');
    await expectLoginError(w, h.MESSAGES.SERVER_ERROR);
    await h.assertNotConnected(w, h.STATUS.FAILED, 'FAILED');
    assert.deepEqual(await w.metadataOf('onBackToSearch'), [], 'no onBackToSearch yet');
    await w.button('Back to search').click();
    await w.step('search', { heading: 'Select your institution', shot: 'back-to-search' });
    await w.expect(w.frame.getByLabel('Search institutions'), 'the search box again');
    const back = await w.waitForCallback('onBackToSearch');
    assert.equal(back.length, 1, 'onBackToSearch fires once');
    if (back[0].context !== undefined) assert.equal(typeof back[0].context, 'string');
    await w.finish();
  });
});
