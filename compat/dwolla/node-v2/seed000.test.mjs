// Seed 000 (MX instant account verification) end to end with Dwolla's Node SDK `dwolla-v2` 3.4.2,
// unchanged except for its URLs (dwolla-wire.md §15):
//
//   const c = new Client({ key, secret, environment: 'sandbox' });
//   c.apiUrl = BASE; c.tokenUrl = BASE + '/token';
//
// The calls are the seed's sample code: dwolla.get('/exchange-partners'), dwolla.post(
// `customers/${id}/exchange-sessions`, …), response.headers.get('location'), body hrefs on
// Dwolla's sandbox host, and so on. Then seed 004's error table, and webhooks.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import dwollaV2 from 'dwolla-v2';
import { completeWidget } from '../browser/complete_widget.mjs';
import * as c from '../lib/common.mjs';

const { Client } = dwollaV2;
const SUITE = 'node-v2';

const dwolla = new Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
dwolla.apiUrl = c.BASE;
dwolla.tokenUrl = `${c.BASE}/token`;

const state = c.flowState();
const secret = c.randomSecret();
let receiver = null;

/** The rejection of `promise` (dwolla-v2 rejects every status ≥ 400 with .status/.body). */
async function rejection(promise, what) {
  try {
    const res = await promise;
    assert.fail(`${what}: expected an error, the server answered ${res.status} ${JSON.stringify(res.body)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof Error, `${what}: dwolla-v2 rejects with an Error (got ${err})`);
    assert.equal(typeof err.status, 'number', `${what}: the error carries .status (${err.message})`);
    return err;
  }
}

/**
 * The flow's calls: dwolla.get/post/delete as the seed writes them; a rejection becomes a
 * failure that names the request and gives the server's answer.
 */
function explain(promise, request) {
  return promise.catch((err) => {
    const answer = err && err.status ? `${err.status} ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}` : String(err);
    throw new assert.AssertionError({ message: `${request} → ${answer}` });
  });
}
const api = {
  get: (p, q) => explain(dwolla.get(p, q), `GET ${p}${q ? ` ${JSON.stringify(q)}` : ''}`),
  post: (p, body) => explain(dwolla.post(p, body), `POST ${p} ${JSON.stringify(body)}`),
};

function describeError(err) {
  return `${err.status} ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}`;
}

/** The partner named `name` (case-insensitive) from GET /exchange-partners. */
async function partnerNamed(name) {
  const partners = state.need('partners');
  const p = partners.find((x) => x.name.toLowerCase() === name.toLowerCase());
  assert.ok(p, `a partner named ${name} in ${partners.map((x) => x.name).join(', ')}`);
  return p;
}

/** A partner's href on Dwolla's sandbox host, as the seed's sample code would send it. */
const sandboxPartnerHref = (p) => `${c.DWOLLA_SANDBOX}/exchange-partners/${p.id}`;

describe('dwolla-v2 3.4.2: seed 000 MX IAV flow', { timeout: 180000 }, () => {
  before(async () => {
    receiver = await c.startWebhookReceiver();
  });
  after(async () => {
    const sub = state.values.subscription;
    if (sub) await dwolla.delete(sub).catch(() => {});
    if (receiver) await receiver.close();
  });

  it('(a) token: client.auth.client() returns a bearer token', async () => {
    const token = await dwolla.auth.client().catch((err) => assert.fail(`POST /token (form body client_id, client_secret, grant_type) → ${err.message}`));
    assert.equal(typeof token.access_token, 'string', `access_token in ${JSON.stringify(token)}`);
    assert.ok(token.access_token.length >= 16, 'a non-trivial access token');
    assert.equal(typeof token.expires_in, 'number', 'expires_in is a number (the TokenManager refetches on every call otherwise)');
    // The token works for an API call (the root lists the app's links).
    const root = await explain(token.get('/'), 'GET / with the token from client.auth.client()');
    assert.equal(root.status, 200);
    assert.ok(root.body._links, `_links in GET / ${JSON.stringify(root.body)}`);
    state.set('token', token);
  });

  it('webhook subscription: POST /webhook-subscriptions {url, secret} → 201 Location', async () => {
    const res = await api.post('webhook-subscriptions', { url: receiver.url, secret });
    assert.equal(res.status, 201);
    c.assertLocation(res.headers.get('location'), 'webhook-subscriptions');
    state.set('subscription', res.headers.get('location'));
  });

  it('(b) customer: POST /customers {firstName, lastName, email} → 201 Location', async () => {
    const email = c.uniqueEmail(SUITE);
    const res = await api.post('customers', { firstName: 'Jane', lastName: 'Doe', email });
    assert.equal(res.status, 201);
    const location = res.headers.get('location');
    const id = c.assertLocation(location, 'customers');
    const customer = await api.get(location);
    assert.equal(customer.status, 200);
    assert.equal(customer.body.id, id);
    assert.equal(customer.body.firstName, 'Jane');
    assert.equal(customer.body.lastName, 'Doe');
    assert.equal(customer.body.email, email);
    assert.equal(customer.body.type, 'unverified');
    assert.equal(customer.body.status, 'unverified');
    state.set('customerId', id);
  });

  it('(c) exchange partners: GET /exchange-partners lists MX (case-insensitive name)', async () => {
    const res = await api.get('/exchange-partners');
    assert.equal(res.status, 200);
    const partnersList = res.body._embedded['exchange-partners'];
    assert.ok(Array.isArray(partnersList), `_embedded.exchange-partners in ${JSON.stringify(res.body)}`);
    state.set('partners', partnersList);
    const mxPartner = partnersList.find((partner) => partner.name.toLowerCase() === 'mx');
    assert.ok(mxPartner, `MX among ${partnersList.map((p) => p.name).join(', ')}`);
    assert.equal(mxPartner._links.self.href, `${c.BASE}/exchange-partners/${mxPartner.id}`);
    state.set('mx', mxPartner);
  });

  it('(d) exchange session: POST customers/{id}/exchange-sessions with MX (href on Dwolla\'s host) → 201 Location', async () => {
    const [customerId, mx] = state.need('customerId', 'mx');
    const requestBody = { _links: { 'exchange-partner': { href: sandboxPartnerHref(mx) } } };
    const response = await api.post(`customers/${customerId}/exchange-sessions`, requestBody);
    assert.equal(response.status, 201);
    const location = response.headers.get('location');
    state.set('sessionId', c.assertLocation(location, 'exchange-sessions'));
  });

  it('(e) exchange session: GET /exchange-sessions/{id} → _links["external-provider-session"].href', async () => {
    const [sessionId, mx] = state.need('sessionId', 'mx');
    const response = await api.get(`/exchange-sessions/${sessionId}`);
    assert.equal(response.status, 200);
    const links = response.body._links;
    assert.equal(links.self.href, `${c.BASE}/exchange-sessions/${sessionId}`);
    assert.equal(links['exchange-partner'].href, `${c.BASE}/exchange-partners/${mx.id}`);
    const externalProviderSessionUrl = links['external-provider-session'] && links['external-provider-session'].href;
    assert.equal(typeof externalProviderSessionUrl, 'string', `external-provider-session in ${JSON.stringify(links)}`);
    const url = new URL(externalProviderSessionUrl);
    assert.equal(url.origin, c.MX_BASE, 'the widget is served by the aggregation listener');
    assert.match(url.pathname, /^\/md\/connect\//);
    state.set('widgetUrl', externalProviderSessionUrl);
  });

  it('(f) the end user completes MX Connect in Chromium (ConnectWidget → onConnectedPrimaryAction)', { timeout: 60000 }, async () => {
    const widgetUrl = state.need('widgetUrl');
    const result = await completeWidget(widgetUrl, { screenshotDir: path.join(c.SCREENSHOT_ROOT, SUITE) });
    assert.equal(result.ok, true);
    assert.match(String(result.memberGuid), /^MBR-/, 'onMemberConnected carried the member');
    state.set('chosenAccount', result.account);
  });

  it('(g) available exchange connections: GET /customers/{id}/available-exchange-connections', async () => {
    const [customerId, chosen] = state.need('customerId', 'chosenAccount');
    const response = await api.get(`/customers/${customerId}/available-exchange-connections`);
    assert.equal(response.status, 200);
    const connections = response.body._embedded['available-exchange-connections'];
    assert.ok(Array.isArray(connections) && connections.length >= 1, `connections in ${JSON.stringify(response.body)}`);
    for (const conn of connections) {
      assert.equal(typeof conn.availableConnectionToken, 'string');
      assert.equal(typeof conn.name, 'string');
    }
    const selected = connections.find((a) => a.name === chosen) || connections[0];
    assert.ok(chosen.includes(selected.name), `the account chosen in the widget (${chosen}) is offered: ${JSON.stringify(connections)}`);
    state.set('connection', selected);
  });

  it('(h) exchange: POST customers/{id}/exchanges {exchange-partner on Dwolla\'s host, mx.availableConnectionToken} → 201', async () => {
    const [customerId, mx, connection] = state.need('customerId', 'mx', 'connection');
    const requestBody = {
      _links: { 'exchange-partner': { href: sandboxPartnerHref(mx) } },
      mx: { availableConnectionToken: connection.availableConnectionToken },
    };
    const response = await api.post(`customers/${customerId}/exchanges`, requestBody);
    assert.equal(response.status, 201);
    const exchangeId = c.assertLocation(response.headers.get('location'), 'exchanges');
    const exchange = await api.get(`/exchanges/${exchangeId}`);
    assert.equal(exchange.body.id, exchangeId);
    assert.equal(exchange.body.status, 'active');
    assert.equal(exchange.body._links.customer.href, `${c.BASE}/customers/${customerId}`);
    state.set('exchangeId', exchangeId);
  });

  it('(i) funding source: POST customers/{id}/funding-sources {exchange on Dwolla\'s host, checking, name} → verified', async () => {
    const [customerId, exchangeId] = state.need('customerId', 'exchangeId');
    const exchangeUrl = `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}`;
    const requestBody = { _links: { exchange: { href: exchangeUrl } }, bankAccountType: 'checking', name: "Jane Doe's Checking" };
    const response = await api.post(`customers/${customerId}/funding-sources`, requestBody);
    assert.equal(response.status, 201);
    const location = response.headers.get('location');
    const id = c.assertLocation(location, 'funding-sources');
    state.set('fundingSourceId', id);
    const fs = await api.get(location);
    assert.equal(fs.status, 200);
    assert.equal(fs.body.id, id);
    assert.equal(fs.body.status, 'verified');
    assert.equal(fs.body.type, 'bank');
    assert.equal(fs.body.bankAccountType, 'checking');
    assert.equal(fs.body.name, "Jane Doe's Checking");
    assert.equal(typeof fs.body.bankName, 'string');
    assert.ok(fs.body.bankName.length > 0, 'bankName is not empty');
    assert.match(fs.body.fingerprint, /^[0-9a-f]{64}$/, 'fingerprint is 64 hex characters');
    assert.equal(fs.body.removed, false);
    assert.equal(fs.body._links.customer.href, `${c.BASE}/customers/${customerId}`);
  });

  it('(j) events: GET /events lists customer_funding_source_added and _verified for it', async () => {
    const fsId = state.need('fundingSourceId');
    const res = await api.get('events', { limit: 200 });
    assert.equal(res.status, 200);
    const events = res.body._embedded.events;
    assert.equal(typeof res.body.total, 'number');
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      const e = events.find((x) => x.topic === topic && x.resourceId === fsId);
      assert.ok(e, `${topic} for ${fsId} among ${JSON.stringify(events.map((x) => [x.topic, x.resourceId]))}`);
      assert.equal(e._links.resource.href, `${c.BASE}/funding-sources/${fsId}`);
    }
  });

  it('webhooks: customer_funding_source_added and _verified arrive, signed with the subscription secret', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    state.need('subscription');
    const fsId = state.need('fundingSourceId');
    const found = await c.waitForDeliveries(receiver, fsId);
    for (const d of found) c.assertSignedDelivery(d, secret);
    for (const d of receiver.deliveries) c.assertSignedDelivery(d, secret);
  });

  // --- seed 004's error table (and two more), through dwolla-v2's rejected Error -------------

  it('error: an invalid exchange-partner href → 400 ValidationError', async () => {
    const customerId = state.need('customerId');
    const err = await rejection(
      dwolla.post(`customers/${customerId}/exchange-sessions`, {
        _links: { 'exchange-partner': { href: `${c.DWOLLA_SANDBOX}/exchange-partners/00000000-0000-4000-8000-000000000000` } },
      }),
      'unknown partner',
    );
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'ValidationError', describeError(err));
    assert.ok(JSON.stringify(err.body).includes('/_links/exchange-partner/href'), `names /_links/exchange-partner/href: ${describeError(err)}`);
  });

  it('error: Plaid with a redirect URL that is not a URL → 400, path /_links/redirect-url/href', async () => {
    const customerId = state.need('customerId');
    const plaid = await partnerNamed('Plaid');
    const err = await rejection(
      dwolla.post(`customers/${customerId}/exchange-sessions`, {
        _links: { 'exchange-partner': { href: sandboxPartnerHref(plaid) }, 'redirect-url': { href: 'not a url' } },
      }),
      'Plaid bad redirect',
    );
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'ValidationError', describeError(err));
    assert.equal(err.body._embedded?.errors?.[0]?.path, '/_links/redirect-url/href', describeError(err));
  });

  it('error: an exchange session with Finicity → 403 Forbidden', async () => {
    const customerId = state.need('customerId');
    const finicity = await partnerNamed('Finicity');
    const err = await rejection(
      dwolla.post(`customers/${customerId}/exchange-sessions`, { _links: { 'exchange-partner': { href: sandboxPartnerHref(finicity) } } }),
      'Finicity session',
    );
    assert.equal(err.status, 403, describeError(err));
    assert.equal(err.body.code, 'Forbidden', describeError(err));
  });

  it('error: an exchange session for an unknown customer → 404 NotFound', async () => {
    const mx = state.need('mx');
    const err = await rejection(
      dwolla.post('customers/00000000-0000-4000-8000-000000000000/exchange-sessions', {
        _links: { 'exchange-partner': { href: sandboxPartnerHref(mx) } },
      }),
      'unknown customer',
    );
    assert.equal(err.status, 404, describeError(err));
    assert.equal(err.body.code, 'NotFound', describeError(err));
  });

  it('error: the same bank added twice → 400 DuplicateResource with _links.about', async () => {
    const customerId = state.need('customerId');
    const bank = { routingNumber: '222222226', accountNumber: '123456789', bankAccountType: 'checking', name: 'Compat duplicate' };
    const first = await api.post(`customers/${customerId}/funding-sources`, bank);
    assert.equal(first.status, 201);
    const firstId = c.assertLocation(first.headers.get('location'), 'funding-sources');
    const err = await rejection(dwolla.post(`customers/${customerId}/funding-sources`, { ...bank, name: 'Compat duplicate 2' }), 'duplicate bank');
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'DuplicateResource', describeError(err));
    assert.equal(err.body._links?.about?.href, `${c.BASE}/funding-sources/${firstId}`, describeError(err));
  });

  it('error: a garbage access token → 401 InvalidAccessToken', async () => {
    const bad = dwolla.token({ access_token: 'garbage-token-0000000000000000' });
    const err = await rejection(bad.get('customers'), 'garbage token');
    assert.equal(err.status, 401, describeError(err));
    assert.equal(err.body.code, 'InvalidAccessToken', describeError(err));
  });
});
