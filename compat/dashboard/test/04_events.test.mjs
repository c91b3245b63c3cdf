// Events and webhook deliveries: every attempt listed, and Retry adding one (seen on the page
// and through the Dwolla API).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as h from './helpers.mjs';

describe('events and webhooks', () => {
  it('Retry delivers a webhook again: a new attempt row', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    await h.ensureSubscription();
    const { customer } = await h.seedDwollaCustomer(`dash-events-${Date.now()}@example.com`);
    const d = await h.loggedIn('04-events');
    try {
      const page = d.page;
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Events and webhooks' }).click();
      await page.getByRole('heading', { level: 1, name: 'Events and webhooks' }).waitFor();
      assert.ok((await page.locator('tr', { hasText: customer }).count()) > 0, 'the customer’s events are listed');

      const events = await h.dwolla('GET', '/events?limit=200');
      const created = events.body._embedded.events.find((e) => e.topic === 'customer_created' && e.resourceId === customer);
      assert.ok(created, events.text);
      const subs = await h.dwolla('GET', '/webhook-subscriptions');
      const sub = subs.body._embedded['webhook-subscriptions'][0];
      const webhooks = await h.dwolla('GET', `/webhook-subscriptions/${sub.id}/webhooks?limit=200`);
      assert.equal(webhooks.status, 200, webhooks.text);
      const webhook = webhooks.body._embedded.webhooks.find((w) => w.eventId === created.id);
      assert.ok(webhook, webhooks.text);
      const row = () => page.locator('tr', { hasText: webhook.id });
      await h.eventually('the first attempt to show', async () => {
        await page.reload();
        return (await row().locator('li.attempt').count()) >= 1;
      });
      const before = await row().locator('li.attempt').count();
      assert.equal(await row().locator('.code').first().textContent(), '200');
      await d.axe('events and webhooks');

      await row().getByRole('button', { name: 'Retry' }).click();
      await page.getByRole('status').waitFor();
      assert.match(await d.flash(), new RegExp(`^Retry .+ of webhook ${webhook.id} queued\\.$`));
      await h.eventually('the retry’s attempt to show', async () => {
        await page.reload();
        return (await row().locator('li.attempt').count()) === before + 1;
      });
      const api = await h.dwolla('GET', `/webhooks/${webhook.id}`);
      assert.equal(api.body.attempts.length, before + 1, api.text);
      const retries = await h.dwolla('GET', `/webhooks/${webhook.id}/retries`);
      assert.equal(retries.body.total, 1, retries.text);
      await d.axe('events and webhooks after a retry');
      await d.screenshot('events');
    } finally {
      await d.close();
    }
  });
});
