// The SDK's requests to the widget (navigateBack, ping), createMemberError, a flow done with the
// keyboard alone, and an axe-core (WCAG 2 A/AA) scan of every screen the widget shows.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as h from './helpers.mjs';

const env = h.setup();
const require = createRequire(import.meta.url);
const AXE_SOURCE = await fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The widget's own frame (a Frame, not a FrameLocator, so scripts can run in it). */
function widgetFrame(w) {
  const frame = w.page.frames().find((f) => f.url().includes('/md/connect/'));
  assert.ok(frame, 'the widget frame is attached');
  return frame;
}

/**
 * Runs axe-core's WCAG 2 A and AA rules on the widget as it is now. The source is evaluated
 * through the DevTools protocol, which the page's Content-Security-Policy does not apply to.
 */
async function assertAccessible(w, screen) {
  const frame = widgetFrame(w);
  if (!(await frame.evaluate(() => typeof window.axe === 'object'))) await frame.evaluate(AXE_SOURCE);
  const { violations, passed } = await frame.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return {
      violations: result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
      passed: result.passes.map((p) => p.id),
    };
  });
  assert.deepEqual(violations, [], `accessibility violations on ${screen}`);
  assert.ok(passed.includes('label') || passed.includes('button-name'), `axe checked controls on ${screen}: ${passed}`);
}

describe('SDK requests, errors and accessibility', () => {
  it('navigate back and ping', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'verification' });
    await w.step('search', { heading: 'Select your institution' });
    await w.choosePopular('MX Bank');
    await w.step('enterCreds', { heading: 'MX Bank' });

    const wentBack = await w.page.evaluate(() => window.__widget.navigateBack());
    assert.equal(wentBack, true, 'navigateBack from the credentials resolves true');
    await w.step('search', { heading: 'Select your institution', shot: 'search-after-navigate-back' });
    assert.deepEqual(
      (await w.metadataOf('onNavigation')).map((m) => m.did_go_back),
      [true],
      'onNavigation reports the step back',
    );
    const stayed = await w.page.evaluate(() => window.__widget.navigateBack());
    assert.equal(stayed, false, 'navigateBack on search has nowhere to go');

    await w.page.evaluate(() => window.__widget.ping());
    const pings = await w.waitForCallback('onPing');
    assert.equal(pings[0].user_guid, w.user.guid);
    await w.finish();
  });

  it('disabled user gets create member error', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'verification' });
    await w.step('search', { heading: 'Select your institution' });
    const disabled = await h.api('PUT', `/users/${w.user.guid}`, { user: { is_disabled: true } });
    assert.equal(disabled.status, 200, disabled.text);
    await w.choosePopular('MX Bank');
    await w.enterCredentials('mxuser', 'password');
    assert.match(await w.alertText(), /disabled/);
    await w.shot('create-member-refused');
    const errors = await w.waitForCallback('onCreateMemberError');
    const inst = await h.readInstitution('mxbank');
    assert.deepEqual(
      { code: errors[0].institution_code, guid: errors[0].institution_guid },
      { code: 'mxbank', guid: inst.guid },
    );
    assert.equal(await w.root.getAttribute('data-step'), 'enterCreds', 'the form stays for another try');
    assert.deepEqual(await h.listMembers(w.user.guid), [], 'no member was created');
    await w.finish();
  });

  it('keyboard only flow', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'aggregation' });
    await w.step('search', { heading: 'Select your institution' });
    const keyboard = w.page.keyboard;
    await w.frame.getByLabel('Search institutions').focus();
    await keyboard.type('MX Bank', { delay: 20 });
    await w.expect(w.button('Chase'), 'Chase filtered out', { state: 'hidden' });
    await keyboard.press('Tab');
    assert.equal(await widgetFrame(w).evaluate(() => document.activeElement.textContent), 'MX Bank', 'Tab reaches MX Bank');
    await keyboard.press('Enter');
    await w.step('enterCreds', { heading: 'MX Bank' });
    assert.equal(
      await widgetFrame(w).evaluate(() => document.activeElement.labels?.[0]?.textContent),
      'Username',
      'focus starts in the first credential',
    );
    await keyboard.type('mxuser');
    await keyboard.press('Tab');
    await keyboard.type('password');
    await w.shot('typed');
    await keyboard.press('Enter');
    await w.step('connected', { heading: 'Connected' });
    assert.equal(await widgetFrame(w).evaluate(() => document.activeElement.tagName), 'H1', 'focus moves to the new heading');
    await keyboard.press('Tab');
    await keyboard.press('Enter');
    await w.waitForCallback('onConnectedPrimaryAction');
    await h.assertConnected(w);
    await w.finish();
  });

  it('every screen passes axe checks', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'verification' });
    await w.step('search', { heading: 'Select your institution' });
    await w.expect(w.button('MX Bank'), 'institutions listed');
    await assertAccessible(w, 'search');

    await w.button('U.S. Bank').click();
    await w.step('microdeposits', { heading: 'Enter your account details' });
    await assertAccessible(w, 'microdeposits');
    await w.button('Back').click();

    await w.choosePopular('MX Bank');
    await w.enterCredentials('mxuser', 'UNAUTHORIZED');
    await w.alertText();
    await assertAccessible(w, 'credentials with an error');

    // Credentials are never rendered back: both fields are typed again.
    await w.frame.getByLabel('Username', { exact: true }).fill('mxuser');
    await w.frame.getByLabel('Password', { exact: true }).fill('options');
    await w.button('Continue').click();
    await w.step('mfa', { heading: 'Verify your identity' });
    await assertAccessible(w, 'mfa options');
    await w.frame.getByRole('radio', { name: 'correct', exact: true }).check();
    await w.button('Continue').click();

    await w.step('selectAccount', { heading: 'Select your account' });
    await assertAccessible(w, 'account selection');
    await w.frame.getByRole('radio').first().check();
    await w.button('Continue').click();

    await w.step('connected', { heading: 'Connected' });
    await assertAccessible(w, 'connected');
    await w.finish();
  });
});
