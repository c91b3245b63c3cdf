// WebView mode (`is_mobile_webview: true`): the widget posts no messages; each event is a
// navigation to `<scheme>://<event>?metadata=<url-encoded JSON>` that a native app intercepts
// (mx-wire.md §6.3). The page is opened top-level, as a WebView would, and Chromium's
// DevTools protocol reports every navigation the widget requests, in order.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import * as h from './helpers.mjs';

const env = h.setup();

/** The events in requested navigations to `scheme`, as {type, metadata}. */
function webviewEvents(urls, scheme) {
  return urls
    .filter((u) => u.startsWith(`${scheme}://`))
    .map((u) => {
      const url = new URL(u);
      return { type: `mx/${url.host}${url.pathname}`, metadata: JSON.parse(url.searchParams.get('metadata')) };
    });
}

/** Waits until a navigation to a URL starting with `prefix` has been requested. */
async function expectNavigation(requested, prefix) {
  for (let waited = 0; waited < h.STEP_TIMEOUT_MS; waited += 50) {
    if (requested.some((u) => u.startsWith(prefix))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no navigation to ${prefix} among ${requested.length} requested`);
}

describe('webview mode', () => {
  it('webview url scheme events', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const user = await h.createUser();
    const url = await h.requestWidgetUrl(user, {
      mode: 'aggregation',
      is_mobile_webview: true,
      ui_message_webview_url_scheme: 'myapp',
    });
    const context = await env.browser.newContext({ viewport: { width: 400, height: 640 } });
    t.after(() => context.close());
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Page.enable');
    const requested = [];
    cdp.on('Page.frameRequestedNavigation', (e) => requested.push(e.url));
    const dir = path.join(h.SCREENSHOT_DIR, h.slug(t.name));
    await fs.mkdir(dir, { recursive: true });

    // The first event navigates away while the page loads, so "load" may never fire.
    await page.goto(url, { waitUntil: 'commit' });
    // Clicks are dispatched as DOM events: a real click would carry a user gesture, and headless
    // Chromium answers a gesture-carrying navigation to an unknown scheme with a modal "open
    // app?" prompt that blocks the page, where a WebView would hand it to the app.
    await page.getByRole('button', { name: 'MX Bank', exact: true }).dispatchEvent('click');
    await page.getByLabel('Username').fill('mxuser');
    await page.getByLabel('Password').fill('password');
    await page.screenshot({ path: path.join(dir, '01-enterCreds.png') });
    await page.getByRole('button', { name: 'Continue' }).dispatchEvent('click');
    await page.waitForFunction(() => document.getElementById('mx-widget').dataset.step === 'connected', null, {
      timeout: h.STEP_TIMEOUT_MS,
    });
    await page.screenshot({ path: path.join(dir, '02-connected.png') });
    await page.getByRole('button', { name: 'Done' }).dispatchEvent('click');
    await expectNavigation(requested, 'myapp://connect/connected/primaryAction');
    const events = webviewEvents(requested, 'myapp');
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'mx/load', `mx/load first (${types})`);
    for (const expected of [
      'mx/connect/loaded',
      'mx/connect/selectedInstitution',
      'mx/connect/enterCredentials',
      'mx/connect/memberStatusUpdate',
      'mx/connect/memberConnected',
      'mx/connect/connected/primaryAction',
    ]) {
      assert.ok(types.includes(expected), `${expected} among ${types}`);
    }
    const at = (type) => types.indexOf(type);
    assert.ok(at('mx/connect/enterCredentials') < at('mx/connect/memberConnected'));
    assert.ok(at('mx/connect/memberConnected') < at('mx/connect/connected/primaryAction'));
    const sessions = new Set(events.map((e) => e.metadata.session_guid));
    assert.equal(sessions.size, 1, 'one session_guid');
    for (const e of events) assert.equal(e.metadata.user_guid, user.guid, `${e.type} carries the user_guid`);
    const statuses = events.filter((e) => e.type === 'mx/connect/memberStatusUpdate').map((e) => e.metadata.connection_status);
    assert.ok(statuses.every((s) => typeof s === 'number'), `numeric statuses ${statuses}`);
    assert.equal(statuses.at(-1), h.STATUS.CONNECTED);
    const connected = events.find((e) => e.type === 'mx/connect/memberConnected');
    const members = await h.listMembers(user.guid);
    assert.deepEqual(members.map((m) => [m.guid, m.connection_status]), [[connected.metadata.member_guid, 'CONNECTED']]);
  });
});
