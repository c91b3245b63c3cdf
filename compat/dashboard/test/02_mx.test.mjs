// The MX pages: users, a user's members and accounts; forcing a member's connection status and
// firing an MX webhook about it from the dashboard, each checked through the page and the API;
// the MX webhook deliveries page.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as h from './helpers.mjs';

describe('MX pages', () => {
  it('force a member LOCKED and fire a MEMBER webhook about it', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const { user, member } = await h.seedMxMember();
    const d = await h.loggedIn('02-mx');
    try {
      const page = d.page;
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'MX users' }).click();
      await page.getByRole('heading', { level: 1, name: 'MX users' }).waitFor();
      await page.getByRole('link', { name: user }).waitFor();
      await d.axe('MX users');
      await d.screenshot('users');

      await page.getByRole('link', { name: user }).click();
      await page.getByRole('heading', { level: 1, name: `MX user ${user}` }).waitFor();
      const row = page.locator('tr', { hasText: member });
      assert.equal(await row.locator('.status').textContent(), 'CONNECTED');
      assert.ok((await page.locator('table').nth(1).locator('tbody tr').count()) > 0, 'the member’s accounts are listed');
      await d.axe('MX user');
      await d.screenshot('user');

      const statusSelect = page.getByLabel(`Connection status to force member ${member} into`);
      await statusSelect.selectOption('LOCKED');
      await page.locator('form', { has: statusSelect }).getByRole('button', { name: 'Force status' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `Member ${member} is now LOCKED.`);
      assert.equal(await page.locator('tr', { hasText: member }).locator('.status').textContent(), 'LOCKED');
      const api = await h.mx('GET', `/users/${user}/members/${member}`);
      assert.equal(api.status, 200, api.text);
      assert.equal(api.body.member.connection_status, 'LOCKED', 'the API says LOCKED');
      await d.axe('MX user after forcing');
      await d.screenshot('locked');

      const typeSelect = page.getByLabel(`Webhook type to fire about member ${member}`);
      await typeSelect.selectOption('MEMBER');
      await page.locator('form', { has: typeSelect }).getByRole('button', { name: 'Fire webhook' }).click();
      await page.getByRole('status').waitFor();
      const flash = await d.flash();
      const fired = flash.match(/^Fired a MEMBER webhook \((.+)\)\.$/);
      assert.ok(fired, flash);
      const guid = fired[1];
      const record = await h.mx('GET', `/_openiav/mx/webhooks/${guid}`);
      assert.equal(record.status, 200, record.text);
      assert.equal(record.body.webhook.fired, true, record.text);
      await h.eventually('the receiver to get the MEMBER webhook', async () =>
        h.received.some((r) => r.path === '/mx' && r.body.includes(member) && r.body.includes('MEMBER')),
      );

      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'MX webhooks' }).click();
      await page.getByRole('heading', { level: 1, name: 'MX webhook deliveries' }).waitFor();
      await h.eventually('the delivery’s attempt to show', async () => {
        await page.reload();
        return (await page.locator('tr', { hasText: guid }).locator('.code.ok').count()) > 0;
      });
      assert.equal(await page.locator('tr', { hasText: guid }).locator('td').nth(1).textContent(), 'MEMBER');
      await d.axe('MX webhook deliveries');
      await d.screenshot('mx-webhooks');
    } finally {
      await d.close();
    }
  });

  it('force an MX micro-deposit VERIFIED from its user page', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const u = await h.mx('POST', '/users', { user: { email: `dash-md-${Date.now()}@example.com` } });
    assert.equal(u.status, 200, u.text);
    const user = u.body.user.guid;
    const md = await h.mx('POST', `/users/${user}/micro_deposits`, {
      micro_deposit: {
        account_name: 'Dashboard deposits', account_number: '3331261', account_type: 'CHECKING',
        email: 'a@example.com', first_name: 'Joshy', last_name: 'Grobanne', routing_number: '068899994',
      },
    });
    assert.equal(md.status, 200, md.text);
    const guid = md.body.micro_deposit[0].guid;
    const d = await h.loggedIn('02-mx-micro-deposit');
    try {
      const page = d.page;
      await d.goto(`/mx/users/${user}`);
      await page.getByRole('heading', { level: 1, name: `MX user ${user}` }).waitFor();
      const row = () => page.locator('tr', { hasText: guid });
      assert.equal(await row().locator('.deposit-status').textContent(), 'DEPOSITED');
      const select = page.getByLabel(`Status to force micro-deposit ${guid} into`);
      await select.selectOption('VERIFIED');
      await page.locator('form', { has: select }).getByRole('button', { name: 'Force status' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `Micro-deposit ${guid} is now VERIFIED.`);
      assert.equal(await row().locator('.deposit-status').textContent(), 'VERIFIED');
      const api = await h.mx('GET', `/users/${user}/micro_deposits/${guid}`);
      assert.equal(api.body.micro_deposit[0].status, 'VERIFIED', api.text);
      await d.axe('MX user with a micro-deposit');
    } finally {
      await d.close();
    }
  });

  it('another tenant’s user is not found', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const d = await h.loggedIn('02-mx-404');
    try {
      const res = await d.goto('/mx/users/USR-00000000-0000-0000-0000-000000000000');
      assert.equal(res.status(), 404);
      await d.page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
      await d.axe('not found');
    } finally {
      await d.close();
    }
  });
});
