// The overview's Snapshot and Reset buttons: the snapshot downloads the same document as
// GET /_openiav/snapshot; Reset deletes the tenant's data and keeps the session. Runs last.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, it } from 'node:test';
import * as h from './helpers.mjs';

describe('overview', () => {
  it('Download snapshot, then Reset, staying logged in', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    await h.seedMxMember();
    const d = await h.loggedIn('06-sandbox');
    try {
      const page = d.page;
      const usersCount = () => page.locator('tr', { hasText: 'MX users' }).locator('.count').textContent();
      assert.notEqual(await usersCount(), '0');
      await d.axe('overview with data');
      await d.screenshot('overview');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download snapshot' }).click(),
      ]);
      const doc = JSON.parse(await fs.readFile(await download.path(), 'utf8'));
      const api = await h.mx('GET', '/_openiav/snapshot');
      assert.equal(download.suggestedFilename(), `openiav-snapshot-${api.body.tenant}.json`);
      assert.equal(doc.format, 'openiav-snapshot');
      assert.equal(doc.tenant, api.body.tenant);
      assert.deepEqual(doc.tables.users, api.body.tables.users, 'the same users as GET /_openiav/snapshot');

      await page.getByRole('button', { name: 'Reset sandbox data' }).click();
      await page.getByRole('status').waitFor();
      assert.match(await d.flash(), /^Reset: \d+ rows deleted\.$/);
      assert.equal(new URL(page.url()).pathname, h.ROOT, 'still logged in, on the overview');
      assert.equal(await usersCount(), '0');
      const users = await h.mx('GET', '/users');
      assert.equal(users.body.pagination.total_entries, 0, users.text);
      await d.axe('overview after reset');
      await d.screenshot('reset');
      await page.getByRole('link', { name: 'MX users' }).first().click();
      await page.getByRole('heading', { level: 1, name: 'MX users' }).waitFor();
    } finally {
      await d.close();
    }
  });
});
