// The Dwolla pages: customers, and a customer's funding sources and transfers; forcing a bank
// verified, a transfer failed with R01 and the customer suspended, and firing an event about the
// customer, each checked through the page and the API; the account's page, with an event fired
// about a transfer's ACH leg; and the customer list paged.

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
      // The transfer's own row (its legs' rows name it too, in their second column).
      const transferRow = () => page.locator('tr', { has: page.locator('td:first-child', { hasText: t.id }) });
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
  it('the account page lists its own funding sources and transfers; fire an event about a bank transfer', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const { bank } = await h.seedDwollaCustomer(`dash-account-${Date.now()}@example.com`);
    const verified = await h.dwolla('POST', `/_openiav/force/funding-sources/${bank}`, { state: 'verified' });
    assert.equal(verified.status, 200, verified.text);
    const root = await h.dwolla('GET', '/');
    const account = root.body._links.account.href;
    const sources = await h.dwolla('GET', `${account}/funding-sources`);
    const balance = sources.body._embedded['funding-sources'].find((f) => f.type === 'balance').id;
    const t = await h.dwolla('POST', '/transfers', {
      _links: { source: { href: `${h.DWOLLA_BASE}/funding-sources/${bank}` }, destination: { href: `${h.DWOLLA_BASE}/funding-sources/${balance}` } },
      amount: { currency: 'USD', value: '4.56' },
    });
    assert.equal(t.status, 201, t.text);
    const d = await h.loggedIn('03-dwolla-account');
    try {
      const page = d.page;
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Dwolla account' }).click();
      await page.getByRole('heading', { level: 1, name: 'Dwolla account' }).waitFor();
      assert.equal(await page.locator('tr', { has: page.locator('td:first-child', { hasText: balance }) }).locator('.status').textContent(), 'verified');
      assert.equal(await page.locator('tr', { has: page.locator('td:first-child', { hasText: t.id }) }).count(), 1);
      const legRow = page.locator('tr', { has: page.locator('td:nth-child(2)', { hasText: t.id }) });
      const leg = (await legRow.locator('td').first().textContent()).trim();
      await d.axe('Dwolla account');
      await d.screenshot('account');

      const topic = page.getByLabel(`Event topic to fire about bank transfer ${leg}`);
      await topic.selectOption('customer_bank_transfer_completed');
      await page.locator('form', { has: topic }).getByRole('button', { name: 'Fire event' }).click();
      await page.getByRole('status').waitFor();
      const fired = (await d.flash()).match(/^Fired customer_bank_transfer_completed event (.+)\.$/);
      assert.ok(fired, await d.flash());
      const event = await h.dwolla('GET', `/_openiav/events/${fired[1]}`);
      assert.equal(event.status, 200, event.text);
      assert.equal(event.body.fired, true);
      assert.equal(event.body.event.resourceId, leg);
      await d.axe('Dwolla account after firing');
    } finally {
      await d.close();
    }
  });
  it('the customer list pages back from the newest', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const d = await h.loggedIn('03-dwolla-pages');
    try {
      const page = d.page;
      await d.goto('/dwolla/customers');
      const pager = page.getByRole('navigation', { name: 'Pages of customers' });
      const total = Number((await pager.textContent()).match(/^(\d+) customers/)[1]);
      for (let i = total; i <= 100; i += 1) await h.seedDwollaCustomer(`dash-page-${Date.now()}-${i}@example.com`);
      await page.reload();
      await pager.getByRole('link', { name: 'Older' }).click();
      await page.getByText(/page 2 of \d+\./).waitFor();
      assert.ok((await page.locator('tbody tr').count()) >= 1);
      await d.axe('Dwolla customers, page 2');
      await pager.getByRole('link', { name: 'Newer' }).click();
      await page.getByText(/page 1 of \d+\./).waitFor();
      assert.equal(await page.locator('tbody tr').count(), 100);
    } finally {
      await d.close();
    }
  });
});
