// Secure exchange with Dwolla's TypeScript SDK `dwolla` 1.1.1 (serverURL changed as in seed000):
// an MX client (mx-platform-node) verifies an MX Bank account and requests an authorization
// code; customers.exchanges.create({links.exchangePartner, token}) makes the token exchange
// (the SDK's CreateTokenBasedExchange), customers.fundingSources.create a verified bank, and
// events.list has customer_funding_source_added and _verified. A used code is an
// InvalidExchangeToken.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dwolla } from 'dwolla';
import * as errors from 'dwolla/models/errors';
import * as c from '../lib/common.mjs';
import { verifiedAccountCode } from '../lib/mx_processor.mjs';

const SUITE = 'typescript-secure-exchange';
const dwolla = new Dwolla({ serverURL: c.BASE, security: { clientID: c.KEY, clientSecret: c.SECRET } });
const state = c.flowState();

function location(res, what) {
  const loc = res && res.headers && res.headers.location;
  assert.ok(Array.isArray(loc) && loc.length === 1, `${what}: headers.location[0] (got ${JSON.stringify(res)})`);
  return loc[0];
}

describe('dwolla 1.1.1: secure exchange with an MX authorization code', { timeout: 120000 }, () => {
  it('the MX client verifies an account and requests an authorization code (mx-platform-node)', async () => {
    state.set('mx', await verifiedAccountCode(SUITE));
  });

  it('customers.create and exchangePartners.list (MX)', async () => {
    const res = await dwolla.customers.create({ type: 'unverified', firstName: 'Sec', lastName: 'Ure', email: c.uniqueEmail(SUITE) });
    state.set('customerId', c.assertLocation(location(res, 'customers.create'), 'customers'));
    const partners = (await dwolla.exchangePartners.list()).embedded.exchangePartners;
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    assert.ok(mx, 'MX among the partners');
    state.set('mxPartner', mx);
  });

  it('customers.exchanges.create({links.exchangePartner, token}) → Location; exchanges.get is active', async () => {
    const [customerId, mxPartner, mx] = state.need('customerId', 'mxPartner', 'mx');
    const res = await dwolla.customers.exchanges.create({
      id: customerId,
      requestBody: { links: { exchangePartner: { href: mxPartner.links.self.href } }, token: mx.code },
    });
    const exchangeId = c.assertLocation(location(res, 'customers.exchanges.create'), 'exchanges');
    const exchange = await dwolla.exchanges.get({ id: exchangeId });
    assert.equal(exchange.status, 'active');
    state.set('exchangeHref', `${c.BASE}/exchanges/${exchangeId}`);
  });

  it('the same code again throws an SDK error with InvalidExchangeToken (401)', async () => {
    const [customerId, mxPartner, mx] = state.need('customerId', 'mxPartner', 'mx');
    let thrown;
    try {
      await dwolla.customers.exchanges.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: mxPartner.links.self.href } }, token: mx.code },
      });
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof errors.DwollaError, `an SDK HTTP error, got ${thrown}`);
    assert.equal(thrown.statusCode, 401);
    assert.equal(JSON.parse(thrown.body).code, 'InvalidExchangeToken');
  });

  it('customers.fundingSources.create({links.exchange}) → fundingSources.get verified; events.list has both topics', async () => {
    const [customerId, exchangeHref] = state.need('customerId', 'exchangeHref');
    const res = await dwolla.customers.fundingSources.create({
      id: customerId,
      createCustomerFundingSource: { links: { exchange: { href: exchangeHref } }, bankAccountType: 'checking', name: 'Secure Checking' },
    });
    const id = c.assertLocation(location(res, 'customers.fundingSources.create'), 'funding-sources');
    const fs = await dwolla.fundingSources.get({ id });
    assert.equal(fs.status, 'verified');
    assert.equal(fs.bankName, 'MX Bank');
    const events = (await dwolla.events.list({ limit: 200 })).embedded.events;
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      assert.ok(events.find((e) => e.topic === topic && e.resourceId === id), `${topic} for ${id}`);
    }
  });
});
