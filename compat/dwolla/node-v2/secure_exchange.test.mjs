// Secure exchange with Dwolla's Node SDK `dwolla-v2` 3.4.2 (URLs changed as in seed000): an MX
// client (mx-platform-node) verifies an MX Bank account and requests an authorization code for
// it; Dwolla's customer gets a token exchange from that code and a verified funding source from
// the exchange, with customer_funding_source_added and _verified. A used code is an
// InvalidExchangeToken; a Finicity token exchange is refused as unsupported.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dwollaV2 from 'dwolla-v2';
import * as c from '../lib/common.mjs';
import { verifiedAccountCode } from '../lib/mx_processor.mjs';

const { Client } = dwollaV2;
const SUITE = 'node-v2-secure-exchange';

const dwolla = new Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
dwolla.apiUrl = c.BASE;
dwolla.tokenUrl = `${c.BASE}/token`;

const state = c.flowState();

/** The rejection of `promise` (dwolla-v2 rejects every status ≥ 400 with .status/.body). */
async function rejection(promise, what) {
  try {
    const res = await promise;
    assert.fail(`${what}: expected an error, the server answered ${res.status} ${JSON.stringify(res.body)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.equal(typeof err.status, 'number', `${what}: the error carries .status (${err.message})`);
    return err;
  }
}

async function partnerHref(name) {
  const res = await dwolla.get('/exchange-partners');
  const p = res.body._embedded['exchange-partners'].find((x) => x.name.toLowerCase() === name.toLowerCase());
  assert.ok(p, `a partner named ${name}`);
  return `${c.DWOLLA_SANDBOX}/exchange-partners/${p.id}`;
}

describe('dwolla-v2 3.4.2: secure exchange with an MX authorization code', { timeout: 120000 }, () => {
  let hooks = null;
  before(async () => {
    hooks = await c.subscribedReceiver(dwolla);
  });
  after(async () => {
    if (hooks) await hooks.close();
  });

  it('the MX client verifies an account and requests an authorization code (mx-platform-node)', async () => {
    const mx = await verifiedAccountCode(SUITE);
    assert.equal(typeof mx.code, 'string');
    state.set('mx', mx);
  });

  it('a customer: POST /customers → 201 Location', async () => {
    const res = await dwolla.post('customers', { firstName: 'Sec', lastName: 'Ure', email: c.uniqueEmail(SUITE) });
    assert.equal(res.status, 201);
    state.set('customerId', c.assertLocation(res.headers.get('location'), 'customers'));
  });

  it('POST customers/{id}/exchanges {exchange-partner MX, token} → 201 Location; the exchange is active', async () => {
    const [customerId, mx] = state.need('customerId', 'mx');
    const body = { _links: { 'exchange-partner': { href: await partnerHref('MX') } }, token: mx.code };
    const res = await dwolla.post(`customers/${customerId}/exchanges`, body);
    assert.equal(res.status, 201);
    const location = res.headers.get('location');
    c.assertLocation(location, 'exchanges');
    const exchange = await dwolla.get(location);
    assert.equal(exchange.body.status, 'active');
    state.set('exchangeHref', location);
  });

  it('the same code again is an InvalidExchangeToken (401)', async () => {
    const [customerId, mx] = state.need('customerId', 'mx');
    const body = { _links: { 'exchange-partner': { href: await partnerHref('MX') } }, token: mx.code };
    const err = await rejection(dwolla.post(`customers/${customerId}/exchanges`, body), 'a used code');
    assert.equal(err.status, 401);
    assert.equal(err.body.code, 'InvalidExchangeToken');
  });

  it('POST customers/{id}/funding-sources {exchange} → a verified bank', async () => {
    const [customerId, exchangeHref] = state.need('customerId', 'exchangeHref');
    const body = { _links: { exchange: { href: exchangeHref } }, bankAccountType: 'checking', name: 'Secure Checking' };
    const res = await dwolla.post(`customers/${customerId}/funding-sources`, body);
    assert.equal(res.status, 201);
    const location = res.headers.get('location');
    const id = c.assertLocation(location, 'funding-sources');
    const fs = await dwolla.get(location);
    assert.equal(fs.body.status, 'verified');
    assert.equal(fs.body.bankName, 'MX Bank');
    assert.equal(fs.body.name, 'Secure Checking');
    state.set('fundingSourceId', id);
  });

  it('GET /events lists customer_funding_source_added and _verified for it', async () => {
    const fsId = state.need('fundingSourceId');
    const events = (await dwolla.get('events', { limit: 200 })).body._embedded.events;
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      assert.ok(events.find((e) => e.topic === topic && e.resourceId === fsId), `${topic} for ${fsId}`);
    }
    await c.assertFundingSourceWebhooks(hooks, fsId);
  });

  it('a Finicity token exchange is refused: 403 Forbidden, not supported here', async () => {
    const customerId = state.need('customerId');
    const body = { _links: { 'exchange-partner': { href: await partnerHref('Finicity') } }, token: 'dG9rZW4=' };
    const err = await rejection(dwolla.post(`customers/${customerId}/exchanges`, body), 'Finicity');
    assert.equal(err.status, 403);
    assert.equal(err.body.code, 'Forbidden');
    assert.equal(err.body.message, 'Token exchanges with Finicity are not supported by this server.');
  });
});
