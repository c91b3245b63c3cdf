// Dwolla's Plaid flow (dwolla-wire.md §8, Plaid column) with the TypeScript SDK `dwolla` 1.1.1,
// which validates every answer strictly: customer → partner "Plaid" → exchange session →
// externalProviderSessionToken → Link completed from a plain Plaid.create page
// (compat/plaid/complete_link.mjs) → exchange with plaid.publicToken → verified funding
// source → its two events.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Dwolla } from 'dwolla';
import { completeLink } from '../../plaid/complete_link.mjs';
import * as c from '../lib/common.mjs';

const SUITE = 'typescript';
const dwolla = new Dwolla({ serverURL: c.BASE, security: { clientID: c.KEY, clientSecret: c.SECRET } });
const state = c.flowState();

function location(res) {
  const loc = res && res.headers && res.headers.location;
  assert.ok(Array.isArray(loc) && loc.length === 1, `headers.location[0] (got ${JSON.stringify(res)})`);
  return loc[0];
}

describe('dwolla 1.1.1: Plaid open-banking flow', { timeout: 180000 }, () => {
  it('customer, Plaid partner, exchange session → a link token', async () => {
    const res = await dwolla.customers.create({ type: 'unverified', firstName: 'Pat', lastName: 'Plaid', email: c.uniqueEmail(`${SUITE}-plaid`) });
    const customerId = c.assertLocation(location(res), 'customers');
    const list = await dwolla.exchangePartners.list();
    const plaid = list.embedded.exchangePartners.find((p) => p.name.toLowerCase() === 'plaid');
    assert.ok(plaid, 'a partner named Plaid');
    const created = await dwolla.customers.exchangeSessions.create({
      id: customerId,
      requestBody: { links: { exchangePartner: { href: plaid.links.self.href } } },
    });
    const sessionId = c.assertLocation(location(created), 'exchange-sessions');
    const session = await dwolla.exchangeSessions.get({ id: sessionId });
    assert.match(session.externalProviderSessionToken, /^link-sandbox-/);
    assert.equal(session.links.externalProviderSession, undefined);
    state.set('customerId', customerId);
    state.set('plaid', plaid);
    state.set('linkToken', session.externalProviderSessionToken);
  });

  it('the end user completes Link (plain Plaid.create page)', async () => {
    const token = state.need('linkToken');
    const result = await completeLink(token, { mxBase: c.MX_BASE, host: 'plain', screenshotDir: path.join(c.SCREENSHOT_ROOT, `${SUITE}-plaid`) });
    assert.match(result.publicToken, /^public-sandbox-/);
    state.set('publicToken', result.publicToken);
  });

  it('exchange with plaid.publicToken, then a verified funding source and its two events', async () => {
    const [customerId, plaid, publicToken] = state.need('customerId', 'plaid', 'publicToken');
    const ex = await dwolla.customers.exchanges.create({
      id: customerId,
      requestBody: { links: { exchangePartner: { href: plaid.links.self.href } }, plaid: { publicToken } },
    });
    const exchangeId = c.assertLocation(location(ex), 'exchanges');
    const exchange = await dwolla.exchanges.get({ id: exchangeId });
    assert.equal(exchange.status, 'active');
    const fs = await dwolla.customers.fundingSources.create({
      id: customerId,
      createCustomerFundingSource: { links: { exchange: { href: `${c.BASE}/exchanges/${exchangeId}` } }, bankAccountType: 'checking', name: 'Pat Plaid Checking' },
    });
    const fsId = c.assertLocation(location(fs), 'funding-sources');
    const source = await dwolla.fundingSources.get({ id: fsId });
    assert.equal(source.status, 'verified');
    assert.equal(source.bankName, 'First Platypus Bank');
    const events = (await dwolla.events.list({ limit: 200 })).embedded.events;
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      assert.ok(events.some((e) => e.topic === topic && e.resourceId === fsId), `${topic} for ${fsId}`);
    }
  });
});
