// The SDK's own widget_urls request: with `proxy` set to openiav's
// POST /users/{user_guid}/widget_urls and Authorization added through ssoRequestPreprocess, the
// SDK fetches the widget URL itself, cross-origin, from the host page. Proves openiav's CORS.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

describe('SDK request', () => {
  it('sdk widget_urls request', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = env.session(t);
    w.user = await h.createUser();
    const proxy = `${h.BASE}/users/${w.user.guid}/widget_urls`;
    const responses = [];
    const context = await w.ensureContext();
    context.on('response', (r) => {
      if (r.url() === proxy) responses.push(r);
    });
    const page = await w.openHost({ proxy, authorization: h.AUTHORIZATION, mode: 'verification', language: 'en-US' });

    // The SDK's fetch either succeeds (an iframe appears) or fails (onSsoUrlLoadError).
    await page.waitForFunction(() => document.querySelector('iframe') || window.__ssoErrors.length > 0);
    const ssoErrors = await page.evaluate(() => window.__ssoErrors);
    assert.deepEqual(ssoErrors, [], `the SDK got a widget URL (page errors: ${w.pageErrors.join(' | ')})`);
    await w.step('search', { heading: 'Select your institution' });
    await w.expect(w.button('Connect with routing and account numbers'), 'verification mode, as the SDK asked');
    await w.waitForCallback('onLoaded');

    const request = await page.evaluate(() => window.__ssoRequest);
    assert.equal(request.url, proxy);
    assert.equal(request.method, 'POST');
    assert.equal(request.mode, 'cors');
    assert.equal(request.headers.Authorization, h.AUTHORIZATION);
    const body = JSON.parse(request.body).widget_url;
    assert.equal(body.widget_type, 'connect_widget');
    assert.equal(body.mode, 'verification');
    assert.equal(body.ui_message_version, 4);
    assert.equal(body.is_mobile_webview, false);
    assert.deepEqual(await page.evaluate(() => window.__ssoErrors), []);
    const posts = responses.filter((r) => r.request().method() === 'POST');
    assert.equal(posts.length, 1, 'one POST to widget_urls');
    assert.equal(posts[0].status(), 200);
    const allowed = (await posts[0].allHeaders())['access-control-allow-origin'];
    assert.ok(allowed === '*' || allowed === env.hostUrl, `Access-Control-Allow-Origin: ${allowed}`);

    const src = await page.locator('iframe[data-test-id="mx-widget-iframe"]').getAttribute('src');
    assert.match(src, /\/md\/connect\/[^/]+$/);
    assert.equal(new URL(src).origin, new URL(h.BASE).origin);
    await w.finish();
  });

  it('sdk widget_urls request without credentials', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    // Without Authorization openiav answers 401, and the answer carries CORS headers, so the SDK
    // sees the status (an opaque network error would read "Failed to fetch").
    const w = env.session(t);
    const user = await h.createUser();
    const page = await w.openHost({ proxy: `${h.BASE}/users/${user.guid}/widget_urls` });
    await page.waitForFunction(() => window.__ssoErrors.length > 0, null, { timeout: h.STEP_TIMEOUT_MS });
    assert.deepEqual(await page.evaluate(() => window.__ssoErrors), ['Request failed: 401']);
    await page.getByRole('alert').filter({ hasText: 'Request failed: 401' }).waitFor();
    await w.shot('sso-error');
    assert.equal(await page.locator('iframe').count(), 0, 'no widget without a URL');
  });
});
