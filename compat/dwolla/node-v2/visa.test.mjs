// The Visa open-banking flow (Dwolla's open-banking/visa guide; dwolla-wire.md §8) with Dwolla's
// Node SDK `dwolla-v2` 3.4.2, unchanged except for its URLs, against the second server run.sh
// starts with --visa-partner (the TypeScript SDK refuses a partner list that holds Visa, so this
// file runs on that server only):
//
//   customer → GET /exchange-partners, pick "Visa" (case-insensitive) → POST exchange-sessions
//   with redirect-url → GET the session → the browser opens external-provider-session, signs in
//   as u51613239 / cty440, picks an account → lands on the host's /create-funding-source
//   ?exchange=<id> → POST funding-sources {_links.exchange} → verified, with its two events.
//
// Then the authentication-error user (?error=AUTHENTICATION_ERROR) and Cancel (?error=USER_CANCELLED).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import dwollaV2 from 'dwolla-v2';
import { completeVisa, REDIRECT_URL } from '../browser/visa_bank.mjs';
import * as c from '../lib/common.mjs';

const { Client } = dwollaV2;
const SUITE = 'visa-node-v2';
const BROWSER_TIMEOUT_MS = 60000;

const dwolla = new Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
dwolla.apiUrl = c.BASE;
dwolla.tokenUrl = `${c.BASE}/token`;

const state = c.flowState();

function explain(promise, request) {
  return promise.catch((err) => {
    const answer = err && err.status ? `${err.status} ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}` : String(err);
    throw new assert.AssertionError({ message: `${request} → ${answer}` });
  });
}
const api = {
  get: (p, q) => explain(dwolla.get(p, q), `GET ${p}`),
  post: (p, body) => explain(dwolla.post(p, body), `POST ${p} ${JSON.stringify(body)}`),
};

/** POST customers/{id}/exchange-sessions with Visa and the redirect URL; returns the bank page URL. */
async function visaSession(customerUrl) {
  const visa = state.need('visa');
  const res = await api.post(`${customerUrl}/exchange-sessions`, {
    _links: {
      'exchange-partner': { href: `${c.DWOLLA_SANDBOX}/exchange-partners/${visa.id}` },
      'redirect-url': { href: REDIRECT_URL },
    },
  });
  assert.equal(res.status, 201);
  const location = res.headers.get('location');
  c.assertLocation(location, 'exchange-sessions');
  const session = await api.get(location);
  const link = session.body._links['external-provider-session'];
  assert.ok(link, `the session has _links["external-provider-session"]: ${JSON.stringify(session.body)}`);
  assert.equal(link['resource-type'], 'text/html');
  return link.href;
}

describe('Visa open banking with dwolla-v2 (redirect flow)', { concurrency: false }, () => {
  let hooks = null;
  before(async () => {
    hooks = await c.subscribedReceiver(dwolla);
  });
  after(async () => {
    if (hooks) await hooks.close();
  });

  it('(a) exchange partners: GET /exchange-partners lists Visa (case-insensitive name)', async () => {
    const res = await api.get('/exchange-partners');
    const partners = res.body._embedded['exchange-partners'];
    const visa = partners.find((p) => String(p.name).toLowerCase() === 'visa');
    assert.ok(visa, `Visa among ${partners.map((p) => p.name).join(', ')}`);
    assert.match(visa.id, c.UUID);
    state.set('visa', visa);
  });

  it('(b) customer: POST /customers → 201 Location', async () => {
    const res = await api.post('customers', { firstName: 'Vera', lastName: 'Visa', email: c.uniqueEmail(SUITE) });
    state.set('customerUrl', res.headers.get('location'));
    c.assertLocation(state.values.customerUrl, 'customers');
  });

  it('(c) exchange session with redirect-url: _links["external-provider-session"] is the bank page', async () => {
    const href = await visaSession(state.need('customerUrl'));
    const url = new URL(href);
    assert.equal(url.origin, c.MX_BASE, 'the bank page is served on the aggregation listener');
    assert.equal(url.pathname, '/1.0/account-check/connect');
    assert.deepEqual([...url.searchParams.keys()], ['client_id', 'redirect_uri', 'authorization_code', 'market', 'locale', 'state', 'session_id']);
    assert.equal(url.searchParams.get('redirect_uri'), `${c.BASE}/redirect/tink`);
    state.set('pageUrl', href);
  });

  it('(d) the end user signs in as u51613239 and picks an account → redirect URL ?exchange=', { timeout: BROWSER_TIMEOUT_MS }, async () => {
    const result = await completeVisa(state.need('pageUrl'), {
      username: 'u51613239',
      password: 'cty440',
      account: 'Everyday Checking',
      screenshotDir: path.join(c.SCREENSHOT_ROOT, SUITE),
    });
    assert.ok(result.landed.startsWith(`${REDIRECT_URL}?exchange=`), `landed on ${result.landed}`);
    assert.match(result.exchange, c.UUID);
    state.set('exchange', result.exchange);
  });

  it('(e) exchange: GET /exchanges/{id} is active and the customer\'s', async () => {
    const res = await api.get(`exchanges/${state.need('exchange')}`);
    assert.equal(res.body.status, 'active');
    assert.equal(res.body._links.customer.href, state.need('customerUrl'));
  });

  it('(f) funding source from the exchange → verified, with added and verified events', async () => {
    const res = await api.post(`${state.need('customerUrl')}/funding-sources`, {
      _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${state.need('exchange')}` } },
      bankAccountType: 'checking',
      name: 'Visa Checking',
    });
    const location = res.headers.get('location');
    const id = c.assertLocation(location, 'funding-sources');
    const fs = await api.get(location);
    assert.equal(fs.body.status, 'verified');
    assert.equal(fs.body.bankName, 'Visa Demo Bank');
    assert.equal(fs.body.bankAccountType, 'checking');
    const events = await api.get('events', { limit: 200 });
    const topics = events.body._embedded.events.filter((e) => e.resourceId === id).map((e) => e.topic).reverse();
    assert.deepEqual(topics, c.FUNDING_SOURCE_TOPICS);
    await c.assertFundingSourceWebhooks(hooks, id);
  });

  it('(g) the authentication-error user u92721594 lands with ?error=AUTHENTICATION_ERROR', { timeout: BROWSER_TIMEOUT_MS }, async () => {
    const href = await visaSession(state.need('customerUrl'));
    const result = await completeVisa(href, { username: 'u92721594', password: 'nbs589' });
    assert.equal(result.landed, `${REDIRECT_URL}?error=AUTHENTICATION_ERROR`);
  });

  it('(h) Cancel lands with ?error=USER_CANCELLED', { timeout: BROWSER_TIMEOUT_MS }, async () => {
    const href = await visaSession(state.need('customerUrl'));
    const result = await completeVisa(href, { cancelAt: 'consent' });
    assert.equal(result.landed, `${REDIRECT_URL}?error=USER_CANCELLED`);
    const exchanges = await api.get(`${state.need('customerUrl')}/exchanges`);
    assert.equal(exchanges.body.total, 1, 'only the first session made an exchange');
  });
});
