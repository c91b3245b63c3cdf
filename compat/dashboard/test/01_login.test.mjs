// Logging in through the form with either vendor's credentials, a refused login saying why,
// logging out, and the pages refusing a browser without a session.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as h from './helpers.mjs';

describe('login', () => {
  it('wrong credentials show why; MX credentials log in; logging out ends the session', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const d = await new h.Dashboard('01-login').open();
    try {
      const first = await d.goto('/mx/users');
      assert.equal(new URL(d.page.url()).pathname, `${h.ROOT}/login`, 'no session: to the login page');
      assert.equal(first.status(), 200);
      await d.axe('login page');
      await d.screenshot('login');

      await d.page.getByLabel('Client id').fill(h.MX_CLIENT_ID);
      await d.page.getByLabel('API key').fill('not-the-key');
      await d.page.getByRole('button', { name: 'Log in with MX credentials' }).click();
      await d.page.getByRole('alert').waitFor();
      assert.match(await d.flash(), /not a tenant's/);
      await d.axe('refused login');
      await d.screenshot('refused');
      const session = async () => (await d.context.cookies()).filter((c) => c.name === 'openiav_dashboard');
      assert.deepEqual(await session(), [], 'no session for a refused login');
      const [loginForm] = await d.context.cookies();
      assert.equal(loginForm.name, 'openiav_dashboard_login', "only the login form's own CSRF cookie");
      assert.equal(loginForm.httpOnly, true);
      assert.equal(loginForm.sameSite, 'Strict');

      await d.login('mx');
      const [cookie, ...others] = await d.context.cookies();
      assert.deepEqual(others, [], "the login form's cookie is spent");
      assert.equal(cookie.name, 'openiav_dashboard');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, h.ROOT);
      assert.equal(await d.page.evaluate(() => document.cookie).catch(() => ''), '', 'scripts cannot read it');
      await d.axe('overview');
      await d.screenshot('overview');

      await d.page.getByRole('button', { name: 'Log out' }).click();
      await d.page.waitForURL(d.url('/login'));
      assert.deepEqual(await session(), [], 'the session cookie is gone');
      await d.goto('');
      assert.equal(new URL(d.page.url()).pathname, `${h.ROOT}/login`, 'logged out: to the login page');
    } finally {
      await d.close();
    }
  });

  it('Dwolla key and secret log in to the same tenant', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const d = await h.loggedIn('01-login-dwolla', 'dwolla');
    try {
      const snapshot = await h.mx('GET', '/_openiav/snapshot');
      assert.equal(snapshot.status, 200, snapshot.text);
      assert.ok((await d.page.locator('main').textContent()).includes(snapshot.body.tenant), 'the overview names the tenant');
    } finally {
      await d.close();
    }
  });
});
