// The harness itself, without openiav's widget: the SDK loads in Chromium from the host page,
// the host page wires every ConnectWidget callback and records them, onInvalidMessageError is
// caught, the page's URL form works, and openiav answers the API calls the other tests rely on.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import * as h from './helpers.mjs';
import { sdkUmdPath, sdkVersion } from '../host/server.mjs';

const env = h.setup();

/** The ConnectWidget host origin and a stand-in widget on another origin (same server). */
function selftestWidgetUrl(query = '') {
  const u = new URL(env.hostUrl);
  u.hostname = 'localhost';
  u.pathname = '/selftest-widget';
  u.search = query;
  return u.toString();
}

// The host page loads web-widget-sdk 0.0.15 and wires every ConnectWidget callback; callbacks
// from a widget on another origin are recorded and invalid messages caught; openiav answers the
// API calls the other tests rely on.
describe('harness', () => {
  it('harness sdk and host page', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    assert.equal(sdkVersion(), '0.0.15');
    const umd = await fs.readFile(sdkUmdPath(), 'utf8');
    assert.match(umd, /const sdkVersion = "0\.0\.15"/);
    const body = umd.slice(
      umd.indexOf('function dispatchConnectInternalMessage'),
      umd.indexOf('function dispatchPulsePostMessageEvent'),
    );
    const sdkCallbacks = [...new Set([...body.matchAll(/callbacks\.(on\w+)\?\./g)].map((m) => m[1]))].sort();
    assert.ok(sdkCallbacks.length >= 20, `found the SDK's callbacks: ${sdkCallbacks}`);

    const s = env.session(t);
    const page = await s.openHost({});
    const wired = await page.evaluate(() => window.__callbackNames);
    assert.deepEqual([...wired].sort(), sdkCallbacks, 'the host page wires exactly the callbacks ConnectWidget dispatches');
    assert.equal(await page.evaluate(() => typeof window.widgetSdk.ConnectWidget), 'function');

    // Usable by a person: a text box for a widget URL.
    const box = page.getByLabel('Widget URL');
    await box.waitFor();
    await s.shot('url-form');
    await box.fill(selftestWidgetUrl());
    await Promise.all([page.waitForURL(/\?url=/), page.getByRole('button', { name: 'Load widget' }).click()]);
    await s.frame.locator('#mx-widget').waitFor({ state: 'attached' });
    const iframe = page.locator('iframe[data-test-id="mx-widget-iframe"]');
    assert.equal(await iframe.getAttribute('title'), 'Connect widget');
    const size = await iframe.boundingBox();
    assert.ok(size.width >= 400 && size.height >= 600, `iframe is 400x600 (${JSON.stringify(size)})`);
    await s.shot('loaded-from-form');
  });

  it('harness callbacks and invalid messages', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const s = env.session(t);
    const page = await s.openHost({ url: selftestWidgetUrl() });
    await page.waitForFunction(() => window.__events.some((e) => e.callback === 'onStepChange'));
    // The SDK answers mx/load with mx/sdk/info, as a JSON string, to the widget's origin.
    await s.frame.locator('#received').filter({ hasText: 'mx/sdk/info' }).waitFor();
    const received = JSON.parse(await s.frame.locator('#received').innerText());
    assert.deepEqual(received, { type: 'mx/sdk/info', metadata: { sdk: 'web', version: '0.0.15' } });
    await s.shot('selftest-widget');

    const callbacks = await s.callbacks();
    assert.deepEqual(
      callbacks.map((e) => e.callback),
      ['onLoad', 'onLoaded', 'onStepChange'],
    );
    assert.equal(callbacks[1].metadata.initial_step, 'search');
    assert.deepEqual(await s.invalid(), []);
    h.assertEnvelope(await s.events(), 'USR-selftest');
    assert.equal((await s.events()).filter((e) => e.callback === 'onMessage').length, 3, 'onMessage saw every message');

    // A message with a missing field and one of an unknown type reach onInvalidMessageError.
    const bad = await s.openHost({ url: selftestWidgetUrl('?invalid=1') });
    await bad.waitForFunction(() => window.__invalid.length === 2);
    const invalid = await s.invalid();
    assert.match(invalid[0].error, /Unable to decode 'member_guid' from 'mx\/connect\/memberConnected'/);
    assert.match(invalid[1].error, /Unknown post message: mx\/connect\/noSuchEvent/);
    await s.shot('selftest-invalid');
  });

  it('harness api', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const health = await fetch(`${h.BASE}/health`);
    assert.equal(health.status, 200);
    const user = await h.createUser();
    const mx = await h.readInstitution('mxbank');
    assert.equal(mx.name, 'MX Bank');
    const oauth = await h.readInstitution('mx_bank_oauth');
    assert.equal(oauth.name, 'MX Bank (OAuth)');
    assert.deepEqual(await h.listMembers(user.guid), []);
    assert.deepEqual(await h.listMicroDeposits(user.guid), []);
  });
});
