// Aggregation mode: mxuser/password goes straight to connected; each MX Bank MFA type answered
// `correct` connects; a wrong answer ends on loginError.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

/** Opens an aggregation widget, picks the popular MX Bank and submits mxuser/`password`. */
async function start(t, password) {
  const w = await env.widget(t, { mode: 'aggregation' });
  await w.step('search', { heading: 'Select your institution' });
  assert.equal(
    await w.button('Connect with routing and account numbers').count(),
    0,
    'no micro-deposit entry in aggregation mode',
  );
  await w.choosePopular('MX Bank');
  await w.enterCredentials('mxuser', password);
  return w;
}

/** From the mfa step: waits for it, lets `answer` fill it, presses Continue, expects connected. */
async function answerMfa(w, answer) {
  await w.passConnecting(w.frame.locator('#mx-widget[data-step="mfa"]'));
  await w.step('mfa', { heading: 'Verify your identity' });
  await answer();
  await w.shot('mfa-answered');
  await w.button('Continue').click();
}

async function expectConnectedAfterMfa(w) {
  await w.passConnecting(w.frame.locator('#mx-widget[data-step="connected"]'));
  await w.step('connected', { heading: 'Connected' });
  const memberGuid = await h.assertConnected(w, { statuses: [h.STATUS.CHALLENGED] });
  const submitted = await w.waitForCallback('onSubmitMFA');
  assert.equal(submitted.length, 1, 'onSubmitMFA fires once');
  assert.equal(submitted[0].member_guid, memberGuid);
  await h.pressDone(w);
  await h.assertInstitutionEvents(w, 'mxbank');
  await w.finish();
}

describe('aggregation mode', () => {
  it('aggregation flow', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'aggregation' });
    await w.step('search', { heading: 'Select your institution' });
    assert.equal(
      await w.button('Connect with routing and account numbers').count(),
      0,
      'no micro-deposit entry in aggregation mode',
    );
    // Back from the credentials form, then MX Bank again.
    await w.choosePopular('MX Bank');
    await w.step('enterCreds', { heading: 'MX Bank' });
    await w.button('Back').click();
    await w.step('search', { heading: 'Select your institution', shot: 'search-after-back' });
    await w.choosePopular('MX Bank');
    await w.enterCredentials('mxuser', 'password');
    await w.step('connecting', { heading: 'Connecting to MX Bank' });
    await w.expect(w.frame.getByRole('status'), 'a role=status element while connecting');
    await w.step('connected', { heading: 'Connected' });
    assert.equal(await w.frame.getByRole('radio').count(), 0, 'no account selection in aggregation mode');
    await h.assertConnected(w);
    assert.deepEqual(await w.metadataOf('onSubmitMFA'), [], 'no onSubmitMFA without a challenge');
    await h.pressDone(w);
    const inst = await h.assertInstitutionEvents(w, 'mxbank');
    const creds = await w.metadataOf('onEnterCredentials');
    assert.ok(creds.length >= 1, 'onEnterCredentials fired');
    for (const c of creds) assert.deepEqual(c.institution, { code: inst.code, guid: inst.guid });
    await w.finish();
  });
});

describe('MFA', () => {
  it('mfa text challenge', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'challenge');
    await answerMfa(w, async () => {
      await w.frame.getByLabel('What city were you born in?', { exact: true }).fill('correct');
    });
    await expectConnectedAfterMfa(w);
  });

  it('mfa options challenge', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'options');
    await answerMfa(w, async () => {
      const group = w.frame.getByRole('group', { name: 'Which of these is correct?', exact: true });
      await w.expect(group, 'the fieldset "Which of these is correct?"');
      for (const label of ['correct', 'incorrect', 'also incorrect']) {
        await w.expect(group.getByRole('radio', { name: label, exact: true }), `the radio ${JSON.stringify(label)}`);
      }
      await group.getByRole('radio', { name: 'correct', exact: true }).check();
    });
    await expectConnectedAfterMfa(w);
  });

  it('mfa image challenge', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'image');
    await answerMfa(w, async () => {
      const img = w.frame.getByRole('img', { name: 'Security challenge image', exact: true });
      await w.expect(img, 'the challenge image');
      const loaded = await img.evaluate((el) => el.complete && el.naturalWidth > 0);
      assert.ok(loaded, 'the challenge image decodes');
      await w.frame.getByLabel('Please enter the word shown in the image.', { exact: true }).fill('correct');
    });
    await expectConnectedAfterMfa(w);
  });

  it('mfa wrong answer', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await start(t, 'challenge');
    await answerMfa(w, async () => {
      await w.frame.getByLabel('What city were you born in?', { exact: true }).fill('wrong');
    });
    await w.passConnecting(w.frame.locator('#mx-widget[data-step="loginError"]'));
    await w.step('loginError', { heading: 'Something went wrong' });
    const message = await w.alertText();
    assert.ok(message.length > 0, 'an alert explains the failure');
    await w.expect(w.button('Try again'), 'the Try again button');
    await w.expect(w.button('Back to search'), 'the Back to search button');
    const memberGuid = await h.assertNotConnected(w, h.STATUS.REJECTED, 'REJECTED');
    const submitted = await w.waitForCallback('onSubmitMFA');
    assert.equal(submitted[0].member_guid, memberGuid);
    await w.finish();
  });
});
