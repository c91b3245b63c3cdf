// Dwolla's Plaid flow (dwolla-wire.md §8, Plaid column) with `dwolla-v2` 3.4.2, unchanged
// except for its URLs: customer → partner "Plaid" by case-insensitive name → exchange session →
// externalProviderSessionToken (a link token) → Link completed as the end user from a
// react-plaid-link page (compat/plaid/complete_link.mjs) → exchange with plaid.publicToken →
// verified funding source → its two events. The spent public token is refused afterwards.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import dwollaV2 from 'dwolla-v2';
import { completeLink } from '../../plaid/complete_link.mjs';
import * as c from '../lib/common.mjs';

const SUITE = 'node-v2';
const dwolla = new dwollaV2.Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
dwolla.apiUrl = c.BASE;
dwolla.tokenUrl = `${c.BASE}/token`;
const state = c.flowState();

describe('dwolla-v2 3.4.2: Plaid open-banking flow', { timeout: 180000 }, () => {
  it('customer, Plaid partner, exchange session → a link token', async () => {
    const customer = await dwolla.post('customers', { firstName: 'Pat', lastName: 'Plaid', email: c.uniqueEmail(`${SUITE}-plaid`) });
    const customerId = c.assertLocation(customer.headers.get('location'), 'customers');
    const partners = await dwolla.get('exchange-partners');
    const plaid = partners.body._embedded['exchange-partners'].find((p) => p.name.toLowerCase() === 'plaid');
    assert.ok(plaid, 'a partner named Plaid');
    const res = await dwolla.post(`customers/${customerId}/exchange-sessions`, {
      _links: { 'exchange-partner': { href: `${c.DWOLLA_SANDBOX}/exchange-partners/${plaid.id}` } },
    });
    const session = await dwolla.get(res.headers.get('location'));
    const token = session.body.externalProviderSessionToken;
    assert.match(token, /^link-sandbox-[0-9a-f-]{36}$/);
    assert.equal(session.body._links['external-provider-session'], undefined);
    state.set('customerId', customerId);
    state.set('plaid', plaid);
    state.set('linkToken', token);
  });

  it('the end user completes Link (react-plaid-link, First Platypus Bank, Plaid Checking)', async () => {
    const token = state.need('linkToken');
    const result = await completeLink(token, { mxBase: c.MX_BASE, host: 'react', screenshotDir: path.join(c.SCREENSHOT_ROOT, `${SUITE}-plaid`) });
    assert.match(result.publicToken, /^public-sandbox-/);
    assert.equal(result.metadata.institution.name, 'First Platypus Bank');
    assert.equal(result.metadata.accounts[0].mask, '0000');
    state.set('publicToken', result.publicToken);
  });

  it('exchange with plaid.publicToken, then a verified funding source and its two events', async () => {
    const [customerId, plaid, publicToken] = state.need('customerId', 'plaid', 'publicToken');
    const partner = { 'exchange-partner': { href: `${c.DWOLLA_SANDBOX}/exchange-partners/${plaid.id}` } };
    const ex = await dwolla.post(`customers/${customerId}/exchanges`, { _links: partner, plaid: { publicToken } });
    const exchangeId = c.assertLocation(ex.headers.get('location'), 'exchanges');
    const fs = await dwolla.post(`customers/${customerId}/funding-sources`, {
      _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } },
      bankAccountType: 'checking',
      name: 'Pat Plaid Checking',
    });
    const fsId = c.assertLocation(fs.headers.get('location'), 'funding-sources');
    const source = await dwolla.get(`funding-sources/${fsId}`);
    assert.equal(source.body.status, 'verified');
    assert.equal(source.body.bankName, 'First Platypus Bank');
    const events = (await dwolla.get('events', { limit: 200 })).body._embedded.events;
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      assert.ok(events.some((e) => e.topic === topic && e.resourceId === fsId), `${topic} for ${fsId}`);
    }
    let err = null;
    try {
      await dwolla.post(`customers/${customerId}/exchanges`, { _links: partner, plaid: { publicToken } });
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'a spent public token is refused');
    assert.equal(err.status, 401);
    assert.equal(err.body.code, 'InvalidExchangeToken');
  });
});
