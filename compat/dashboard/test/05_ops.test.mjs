// The clock, fault rules and the request journal: advancing the clock +24 h, freezing and
// releasing it; adding a fault rule that fails the next GET /users, seeing that request in the
// journal with the rule's id, and removing the rule; each checked through the page and the API.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as h from './helpers.mjs';

describe('clock, faults and journal', () => {
  it('advance the clock +24 h, freeze it and release it', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const d = await h.loggedIn('05-clock');
    try {
      const page = d.page;
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Clock' }).click();
      await page.getByRole('heading', { level: 1, name: 'Clock' }).waitFor();
      assert.equal(await page.locator('#clock-mode').textContent(), 'real');
      await d.axe('clock');
      const before = Date.parse((await h.mx('GET', '/_openiav/clock')).body.now);

      await page.getByRole('button', { name: '+24 h' }).click();
      await page.getByRole('status').waitFor();
      assert.match(await d.flash(), /^Advanced 24h: the clock reads /);
      const clock = await h.mx('GET', '/_openiav/clock');
      assert.ok(Date.parse(clock.body.now) - before >= 24 * 3600 * 1000, clock.text);
      assert.equal(await page.locator('#clock-mode').textContent(), clock.body.mode);
      await d.axe('clock advanced');
      await d.screenshot('advanced');

      await page.getByRole('button', { name: 'Freeze' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await page.locator('#clock-mode').textContent(), 'frozen');
      assert.equal((await h.mx('GET', '/_openiav/clock')).body.mode, 'frozen');

      await page.getByRole('button', { name: 'Release' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await page.locator('#clock-mode').textContent(), 'real');
      assert.equal((await h.mx('GET', '/_openiav/clock')).body.mode, 'real');
    } finally {
      await d.close();
    }
  });

  it('a fault rule added on the page fails the next GET /users; the journal shows it; Remove deletes it', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const d = await h.loggedIn('05-faults');
    try {
      const page = d.page;
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Faults' }).click();
      await page.getByRole('heading', { level: 1, name: 'Fault rules' }).waitFor();
      await d.axe('fault rules');
      await page.getByLabel('Listener').selectOption('mx');
      await page.getByLabel('Method').selectOption('GET');
      await page.getByLabel(/^Path/).fill('/users');
      await page.getByLabel('Effect').selectOption('status');
      await page.getByLabel(/^Status/).fill('503');
      await page.getByLabel(/^Apply to this many/).fill('1');
      await page.getByRole('button', { name: 'Add rule' }).click();
      await page.getByRole('status').waitFor();
      const added = (await d.flash()).match(/^Added fault rule (flt_\w+) /);
      assert.ok(added, await d.flash());
      const id = added[1];
      const rules = await h.mx('GET', '/_openiav/faults');
      assert.deepEqual(rules.body.rules.map((r) => r.id), [id], rules.text);
      assert.ok((await page.locator('tr', { hasText: id }).count()) === 1, 'the rule is listed');
      await d.axe('fault rules with a rule');
      await d.screenshot('faults');

      assert.equal((await h.mx('GET', '/users')).status, 503, 'the rule applies');
      assert.equal((await h.mx('GET', '/users')).status, 200, 'once');

      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Journal' }).click();
      await page.getByRole('heading', { level: 1, name: 'Request journal' }).waitFor();
      const faulted = page.locator('tr', { hasText: id });
      await faulted.first().waitFor();
      assert.equal(await faulted.first().locator('.status').textContent(), '503');
      assert.equal(await faulted.first().locator('td').nth(2).textContent(), 'GET');
      await d.axe('journal');
      await d.screenshot('journal');

      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Faults' }).click();
      await page.locator('tr', { hasText: id }).getByRole('button', { name: 'Remove' }).click();
      await page.getByRole('status').waitFor();
      assert.equal(await d.flash(), `Removed fault rule ${id}.`);
      assert.equal((await h.mx('GET', '/_openiav/faults')).body.total, 0);
      assert.equal(await page.locator('tr', { hasText: id }).count(), 0);
    } finally {
      await d.close();
    }
  });
});
