// The Dwolla pages: customers, and a customer's funding sources and transfers; forcing a bank
// verified, a transfer failed with R01 and the customer suspended, and firing an event about the
// customer, each checked through the page and the API.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as h from './helpers.mjs';

describe('Dwolla pages', () => {
  it('force a bank verified, a transfer failed (R01) and the customer suspended; fire an event', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    await h.ensureSubscription();
    const { customer, bank } = await h.seedDwollaCustomer(`dash-${Date.now()}@example.com`);
    const d = await h.loggedIn('03-dwolla');
    try {
      const page = d.page;
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Dwolla customers' }).click();
      await page.getByRole('heading', { level: 1, name: 'Dwolla customers' }).waitFor();
      await d.axe('Dwolla customers');
      await d.screenshot('customers');

      await page.getByRole('link', { name: customer }).click();
      await page.getByRole('heading', { level: 1, name: `Dwolla customer ${customer}` }).waitFor();
      assert.equal(await page.locator('tr', { hasText: bank }).locator('.status').textContent(), 'unverified');
      await d.axe('Dwolla customer');

      const stateSelect = page.getByLabel(`State to force funding source ${bank} into`);
      await stateSelect.selectOption('verified');
      await page.locator('form', { has: stateSelect }).getByRole('button', { name: 'Force state' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `Funding source ${bank} is now verified.`);
      assert.equal(await page.locator('tr', { hasText: bank }).locator('.status').textContent(), 'verified');
      const fs = await h.dwolla('GET', `/funding-sources/${bank}`);
      assert.equal(fs.body.status, 'verified', fs.text);

      const balance = await h.balanceOf(customer);
      const t = await h.dwolla('POST', '/transfers', {
        _links: { source: { href: `${h.DWOLLA_BASE}/funding-sources/${bank}` }, destination: { href: `${h.DWOLLA_BASE}/funding-sources/${balance}` } },
        amount: { currency: 'USD', value: '12.34' },
      });
      assert.equal(t.status, 201, t.text);
      await page.reload();
      const transferRow = () => page.locator('tr', { hasText: t.id });
      assert.equal(await transferRow().locator('.status').textContent(), 'pending');
      await page.getByLabel(`Outcome to force transfer ${t.id} to`).selectOption('failed');
      const codeSelect = page.getByLabel(`Return code of transfer ${t.id} if it fails`);
      await codeSelect.selectOption('R01');
      await page.locator('form', { has: codeSelect }).getByRole('button', { name: 'Force outcome' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `Transfer ${t.id} forced to failed.`);
      assert.equal(await transferRow().locator('.status').textContent(), 'failed');
      assert.equal(await transferRow().locator('td').nth(3).textContent(), 'R01');
      const transfer = await h.dwolla('GET', `/transfers/${t.id}`);
      assert.equal(transfer.body.status, 'failed', transfer.text);
      const failure = await h.dwolla('GET', `/transfers/${t.id}/failure`);
      assert.equal(failure.body.code, 'R01', failure.text);
      await d.axe('Dwolla customer after forcing');
      await d.screenshot('customer');

      const topicSelect = page.getByLabel(`Event topic to fire about customer ${customer}`);
      await topicSelect.selectOption('customer_verified');
      await page.locator('form', { has: topicSelect }).getByRole('button', { name: 'Fire event' }).click();
      await page.getByRole('status').waitFor();
      const fired = (await d.flash()).match(/^Fired customer_verified event (.+)\.$/);
      assert.ok(fired, await d.flash());
      const event = await h.dwolla('GET', `/_openiav/events/${fired[1]}`);
      assert.equal(event.status, 200, event.text);
      assert.equal(event.body.fired, true);
      assert.equal(event.body.event.resourceId, customer);

      const statusSelect = page.getByLabel('Status to force this customer into');
      await statusSelect.selectOption('suspended');
      await page.locator('form', { has: statusSelect }).getByRole('button', { name: 'Force status' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `Customer ${customer} is now suspended.`);
      assert.equal(await page.locator('dl.facts .status').textContent(), 'suspended');
      const c = await h.dwolla('GET', `/customers/${customer}`);
      assert.equal(c.body.status, 'suspended', c.text);
      await d.axe('Dwolla customer suspended');
      await d.screenshot('suspended');
    } finally {
      await d.close();
    }
  });
  it('force a bank’s pending micro-deposits processed', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const { customer, bank } = await h.seedDwollaCustomer(`dash-md-${Date.now()}@example.com`);
    const initiated = await h.dwolla('POST', `/funding-sources/${bank}/micro-deposits`);
    assert.equal(initiated.status, 201, initiated.text);
    const d = await h.loggedIn('03-dwolla-micro-deposits');
    try {
      const page = d.page;
      await d.goto(`/dwolla/customers/${customer}`);
      await page.getByRole('heading', { level: 1, name: `Dwolla customer ${customer}` }).waitFor();
      const select = page.getByLabel(`Status to force the micro-deposits of funding source ${bank} into`);
      await select.selectOption('processed');
      await page.locator('form', { has: select }).getByRole('button', { name: 'Force micro-deposits' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `The micro-deposits of funding source ${bank} are now processed.`);
      const api = await h.dwolla('GET', `/funding-sources/${bank}/micro-deposits`);
      assert.equal(api.body.status, 'processed', api.text);
      await d.axe('Dwolla customer with micro-deposits');
    } finally {
      await d.close();
    }
  });
});

