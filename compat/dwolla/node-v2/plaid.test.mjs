// Dwolla's Plaid flow (dwolla-wire.md §8, Plaid column) with `dwolla-v2` 3.4.2, unchanged
// except for its URLs: customer → partner "Plaid" by case-insensitive name → exchange session →
// externalProviderSessionToken (a link token) → Link completed as the end user from a
// react-plaid-link page (compat/plaid/complete_link.mjs) → exchange with plaid.publicToken →
// verified funding source → its two events and their signed webhooks. The spent public token is refused afterwards. Then
// Dwolla's secure exchange with a processor token made through openiav's minimal Plaid API.

import { after, before, describe, it } from 'node:test';
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
  let hooks = null;
  before(async () => {
    hooks = await c.subscribedReceiver(dwolla);
  });
  after(async () => {
    if (hooks) await hooks.close();
  });

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
    await c.assertFundingSourceWebhooks(hooks, fsId);
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

  it('secure exchange: a processor token from the Plaid API → exchange {token} → verified funding source', async () => {
    const [customerId, plaid] = state.need('customerId', 'plaid');
    const keys = { client_id: process.env.MX_CLIENT_ID, secret: process.env.MX_API_KEY };
    const plaidApi = async (p, body) => {
      const r = await fetch(`${c.MX_BASE}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...keys, ...body }) });
      const json = await r.json();
      assert.equal(r.status, 200, `${p}: ${JSON.stringify(json)}`);
      return json;
    };
    const { public_token } = await plaidApi('/sandbox/public_token/create', { institution_id: 'ins_109510', initial_products: ['auth'] });
    const { access_token } = await plaidApi('/item/public_token/exchange', { public_token });
    // The item's accounts, as an app reads them: a link token in update mode shows them after login.
    const { link_token } = await plaidApi('/link/token/create', { user: { client_user_id: 'sandbox' }, access_token });
    const opened = await (await fetch(`${c.MX_BASE}/link/api/open`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link_token }) })).json();
    const login = await (await fetch(`${c.MX_BASE}/link/api/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-link-session': opened.session_token },
      body: JSON.stringify({ username: 'user_good', password: 'pass_good' }),
    })).json();
    const account = login.metadata.accounts.find((a) => a.subtype === 'savings') || login.metadata.accounts[0];
    const { processor_token } = await plaidApi('/processor/token/create', { access_token, account_id: account.id, processor: 'dwolla' });
    assert.match(processor_token, /^processor-sandbox-/);
    const partner = { 'exchange-partner': { href: `${c.DWOLLA_SANDBOX}/exchange-partners/${plaid.id}` } };
    const ex = await dwolla.post(`customers/${customerId}/exchanges`, { _links: partner, token: processor_token });
    const exchangeId = c.assertLocation(ex.headers.get('location'), 'exchanges');
    const fs = await dwolla.post(`customers/${customerId}/funding-sources`, {
      _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } },
      bankAccountType: 'checking',
      name: 'Pat Plaid via processor token',
    });
    const source = await dwolla.get(fs.headers.get('location'));
    assert.equal(source.body.status, 'verified');
    assert.equal(source.body.bankName, 'Tattersall Federal Credit Union');
  });
});
