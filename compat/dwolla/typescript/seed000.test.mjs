// Seed 000 (MX instant account verification) end to end with Dwolla's TypeScript SDK `dwolla`
// 1.1.1 (Speakeasy-generated), unchanged except for its server URL (dwolla-wire.md §15):
//
//   new Dwolla({ serverURL: BASE, security: { clientID, clientSecret } })
//
// This SDK validates every response strictly (HAL content type, closed enums, required fields,
// RFC 3339 dates), so each call that returns a parsed model is itself a check of the wire
// format. The suite is plain ESM JavaScript run by node --test against the package's ESM build.
//
// An HTTPClient response hook (the SDK's documented extension point) keeps a log of the
// exchanges, only so that a failure can quote what the server answered.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Dwolla } from 'dwolla';
import * as errors from 'dwolla/models/errors';
import { completeWidget } from '../browser/complete_widget.mjs';
import * as c from '../lib/common.mjs';
import { sdkHarness } from '../lib/ts_sdk.mjs';

const SUITE = 'typescript';

// --- the SDK, and a log of the wire for failure messages ---------------------------------------

const { wire, loggingClient, errorText, sdk, sdkError, assertHttpError, location } = sdkHarness();

const dwolla = new Dwolla({
  serverURL: c.BASE,
  security: { clientID: c.KEY, clientSecret: c.SECRET },
  httpClient: loggingClient(),
});

/** An SDK instance whose API calls carry a garbage bearer token (the token request is untouched). */
function withGarbageToken() {
  const client = loggingClient();
  client.addHook('beforeRequest', (req) => {
    if (!new URL(req.url).pathname.endsWith('/token')) req.headers.set('Authorization', 'Bearer garbage-token-0000000000000000');
    return req;
  });
  return new Dwolla({ serverURL: c.BASE, security: { clientID: c.KEY, clientSecret: c.SECRET }, httpClient: client });
}

const state = c.flowState();
const secret = c.randomSecret();
let receiver = null;

async function partnerNamed(name) {
  const partners = state.need('partners');
  const p = partners.find((x) => x.name.toLowerCase() === name.toLowerCase());
  assert.ok(p, `a partner named ${name} in ${partners.map((x) => x.name).join(', ')}`);
  return p;
}

describe('dwolla 1.1.1 (TypeScript SDK): seed 000 MX IAV flow', { timeout: 180000 }, () => {
  before(async () => {
    receiver = await c.startWebhookReceiver();
  });
  after(async () => {
    const sub = state.values.subscriptionId;
    if (sub) await dwolla.webhookSubscriptions.delete({ id: sub }).catch(() => {});
    if (receiver) await receiver.close();
  });

  it('(a) token: tokens.create (Basic auth) parses {accessToken, tokenType, expiresIn}', async () => {
    const basicAuth = `Basic ${Buffer.from(`${c.KEY}:${c.SECRET}`).toString('base64')}`;
    const token = await sdk('tokens.create', dwolla.tokens.create({ basicAuth }, { grantType: 'client_credentials' }));
    assert.equal(typeof token.accessToken, 'string');
    assert.ok(token.accessToken.length >= 16, 'a non-trivial access token');
    assert.equal(token.tokenType.toLowerCase(), 'bearer');
    assert.equal(typeof token.expiresIn, 'number');
    // The client-credentials hook fetches its own token for the root call.
    const root = await sdk('root.get', dwolla.root.get());
    assert.ok(root && root.links, `root links in ${JSON.stringify(root)}`);
  });

  it('webhook subscription: webhookSubscriptions.create({url, secret}) → 201 Location', async () => {
    const res = await sdk('webhookSubscriptions.create', dwolla.webhookSubscriptions.create({ url: receiver.url, secret }));
    const id = c.assertLocation(location(res, 'webhookSubscriptions.create'), 'webhook-subscriptions');
    state.set('subscriptionId', id);
    const sub = await sdk('webhookSubscriptions.get', dwolla.webhookSubscriptions.get({ id }));
    assert.equal(sub.url, receiver.url);
    assert.equal(sub.paused, false);
  });

  it('(b) customer: customers.create({type: "unverified", firstName, lastName, email}) → Location; customers.get', async () => {
    const email = c.uniqueEmail(SUITE);
    const res = await sdk(
      'customers.create',
      dwolla.customers.create({ type: 'unverified', firstName: 'Jane', lastName: 'Doe', email }),
    );
    const id = c.assertLocation(location(res, 'customers.create'), 'customers');
    const customer = await sdk('customers.get', dwolla.customers.get({ id }));
    assert.equal(customer.id, id);
    assert.equal(customer.type, 'unverified');
    assert.equal(customer.status, 'unverified');
    assert.equal(customer.email, email);
    assert.ok(customer.created instanceof Date, 'created parsed as a date');
    state.set('customerId', id);
  });

  it('(c) exchange partners: exchangePartners.list() parses and lists MX', async () => {
    const list = await sdk('exchangePartners.list', dwolla.exchangePartners.list());
    const partners = list.embedded && list.embedded.exchangePartners;
    assert.ok(Array.isArray(partners), `embedded.exchangePartners in ${JSON.stringify(list)}`);
    state.set('partners', partners);
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    assert.ok(mx, `MX among ${partners.map((p) => p.name).join(', ')}`);
    assert.equal(mx.status, 'active');
    assert.equal(mx.links.self.href, `${c.BASE}/exchange-partners/${mx.id}`);
    const one = await sdk('exchangePartners.get', dwolla.exchangePartners.get({ id: mx.id }));
    assert.equal(one.name, 'MX');
    state.set('mx', mx);
  });

  it('(d) exchange session: customers.exchangeSessions.create with MX → Location', async () => {
    const [customerId, mx] = state.need('customerId', 'mx');
    const res = await sdk(
      'customers.exchangeSessions.create',
      dwolla.customers.exchangeSessions.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: mx.links.self.href } } },
      }),
    );
    state.set('sessionId', c.assertLocation(location(res, 'customers.exchangeSessions.create'), 'exchange-sessions'));
  });

  it('(e) exchange session: exchangeSessions.get → links.externalProviderSession.href', async () => {
    const [sessionId, mx] = state.need('sessionId', 'mx');
    const session = await sdk('exchangeSessions.get', dwolla.exchangeSessions.get({ id: sessionId }));
    assert.ok(session.created instanceof Date);
    assert.equal(session.links.self.href, `${c.BASE}/exchange-sessions/${sessionId}`);
    assert.equal(session.links.exchangePartner.href, `${c.BASE}/exchange-partners/${mx.id}`);
    const eps = session.links.externalProviderSession;
    assert.ok(eps, `links.externalProviderSession in ${JSON.stringify(session)}`);
    assert.equal(eps.resourceType, 'text/html');
    const url = new URL(eps.href);
    assert.equal(url.origin, c.MX_BASE, 'the widget is served by the aggregation listener');
    assert.match(url.pathname, /^\/md\/connect\//);
    state.set('widgetUrl', eps.href);
  });

  it('(f) the end user completes MX Connect in Chromium (ConnectWidget → onConnectedPrimaryAction)', { timeout: 60000 }, async () => {
    const widgetUrl = state.need('widgetUrl');
    const result = await completeWidget(widgetUrl, { screenshotDir: path.join(c.SCREENSHOT_ROOT, SUITE) });
    assert.equal(result.ok, true);
    assert.match(String(result.memberGuid), /^MBR-/, 'onMemberConnected carried the member');
    state.set('chosenAccount', result.account);
  });

  it('(g) available exchange connections: customers.listAvailableConnections', async () => {
    const [customerId, chosen] = state.need('customerId', 'chosenAccount');
    const res = await sdk('customers.listAvailableConnections', dwolla.customers.listAvailableConnections({ id: customerId }));
    assert.equal(res.links.self.href, `${c.BASE}/customers/${customerId}/available-exchange-connections`);
    assert.equal(res.links.customers.href, `${c.BASE}/customers/${customerId}`);
    const connections = res.embedded.availableExchangeConnections;
    assert.ok(connections.length >= 1, 'at least one connection');
    const selected = connections.find((a) => a.name === chosen) || connections[0];
    assert.ok(chosen.includes(selected.name), `the account chosen in the widget (${chosen}) is offered: ${JSON.stringify(connections)}`);
    state.set('connection', selected);
  });

  it('(h) exchange: customers.exchanges.create({links.exchangePartner, mx.availableConnectionToken}) → Location; exchanges.get', async () => {
    const [customerId, mx, connection] = state.need('customerId', 'mx', 'connection');
    const res = await sdk(
      'customers.exchanges.create',
      dwolla.customers.exchanges.create({
        id: customerId,
        requestBody: {
          links: { exchangePartner: { href: mx.links.self.href } },
          mx: { availableConnectionToken: connection.availableConnectionToken },
        },
      }),
    );
    const exchangeId = c.assertLocation(location(res, 'customers.exchanges.create'), 'exchanges');
    const exchange = await sdk('exchanges.get', dwolla.exchanges.get({ id: exchangeId }));
    assert.equal(exchange.id, exchangeId);
    assert.equal(exchange.status, 'active');
    assert.ok(exchange.created instanceof Date);
    state.set('exchangeId', exchangeId);
    state.set('exchangeHref', `${c.BASE}/exchanges/${exchangeId}`);
  });

  it('(i) funding source: customers.fundingSources.create({links.exchange, checking, name}) → fundingSources.get verified', async () => {
    const [customerId, exchangeHref] = state.need('customerId', 'exchangeHref');
    const res = await sdk(
      'customers.fundingSources.create',
      dwolla.customers.fundingSources.create({
        id: customerId,
        createCustomerFundingSource: { links: { exchange: { href: exchangeHref } }, bankAccountType: 'checking', name: "Jane Doe's Checking" },
      }),
    );
    const id = c.assertLocation(location(res, 'customers.fundingSources.create'), 'funding-sources');
    state.set('fundingSourceId', id);
    const fs = await sdk('fundingSources.get', dwolla.fundingSources.get({ id }));
    assert.equal(fs.id, id);
    assert.equal(fs.status, 'verified');
    assert.equal(fs.type, 'bank');
    assert.equal(fs.bankAccountType, 'checking');
    assert.equal(fs.name, "Jane Doe's Checking");
    assert.ok(typeof fs.bankName === 'string' && fs.bankName.length > 0, 'bankName');
    assert.match(fs.fingerprint, /^[0-9a-f]{64}$/);
    assert.deepEqual(fs.channels, ['ach']);
    assert.ok(fs.created instanceof Date);
  });

  it('(j) events: events.list parses and contains customer_funding_source_added and _verified', async () => {
    const fsId = state.need('fundingSourceId');
    const list = await sdk('events.list', dwolla.events.list({ limit: 200 }));
    const events = (list.embedded && list.embedded.events) || [];
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      const e = events.find((x) => x.topic === topic && x.resourceId === fsId);
      assert.ok(e, `${topic} for ${fsId} among ${JSON.stringify(events.map((x) => [x.topic, x.resourceId]))}`);
      assert.ok(e.created instanceof Date);
      const one = await sdk('events.get', dwolla.events.get({ id: e.id }));
      assert.equal(one.topic, topic);
    }
  });

  it('webhooks: customer_funding_source_added and _verified arrive, signed with the subscription secret', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    state.need('subscriptionId');
    const fsId = state.need('fundingSourceId');
    const found = await c.waitForDeliveries(receiver, fsId);
    for (const d of found) c.assertSignedDelivery(d, secret);
    for (const d of receiver.deliveries) c.assertSignedDelivery(d, secret);
  });

  // --- seed 004's error table (and two more), through the SDK's error classes -----------------

  it('error: an invalid exchange-partner href → 400 ValidationError', async (t) => {
    const customerId = state.need('customerId');
    const err = await sdkError(
      'unknown partner',
      dwolla.customers.exchangeSessions.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: `${c.BASE}/exchange-partners/00000000-0000-4000-8000-000000000000` } } },
      }),
    );
    const body = assertHttpError(t, err, 400, 'ValidationError');
    assert.ok(JSON.stringify(body).includes('/_links/exchange-partner/href'), `names /_links/exchange-partner/href: ${err.body}`);
  });

  it('error: Plaid with a redirect URL that is not a URL → 400, path /_links/redirect-url/href', async (t) => {
    const customerId = state.need('customerId');
    const plaid = await partnerNamed('Plaid');
    const err = await sdkError(
      'Plaid bad redirect',
      dwolla.customers.exchangeSessions.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: plaid.links.self.href }, redirectUrl: { href: 'not a url' } } },
      }),
    );
    const body = assertHttpError(t, err, 400, 'ValidationError');
    assert.equal(body._embedded?.errors?.[0]?.path, '/_links/redirect-url/href', err.body);
  });

  it('error: an exchange session with Finicity → 403 Forbidden', async (t) => {
    const customerId = state.need('customerId');
    const finicity = await partnerNamed('Finicity');
    const err = await sdkError(
      'Finicity session',
      dwolla.customers.exchangeSessions.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: finicity.links.self.href } } },
      }),
    );
    assertHttpError(t, err, 403, 'Forbidden');
  });

  it('error: an exchange session for an unknown customer → 404 NotFoundError', async (t) => {
    const mx = state.need('mx');
    const err = await sdkError(
      'unknown customer',
      dwolla.customers.exchangeSessions.create({
        id: '00000000-0000-4000-8000-000000000000',
        requestBody: { links: { exchangePartner: { href: mx.links.self.href } } },
      }),
    );
    assertHttpError(t, err, 404, 'NotFound');
    assert.ok(err instanceof errors.NotFoundError, `the SDK's NotFoundError (got ${errorText(err)})`);
  });

  it('error: the same bank added twice → 400 DuplicateResource with _links.about', async (t) => {
    const customerId = state.need('customerId');
    const bank = { routingNumber: '222222226', accountNumber: '123456789', bankAccountType: 'checking', name: 'Compat duplicate' };
    const first = await sdk('customers.fundingSources.create (numbers)', dwolla.customers.fundingSources.create({ id: customerId, createCustomerFundingSource: bank }));
    const firstId = c.assertLocation(location(first, 'customers.fundingSources.create'), 'funding-sources');
    const err = await sdkError(
      'duplicate bank',
      dwolla.customers.fundingSources.create({ id: customerId, createCustomerFundingSource: { ...bank, name: 'Compat duplicate 2' } }),
    );
    const body = assertHttpError(t, err, 400, 'DuplicateResource');
    assert.equal(body._links?.about?.href, `${c.BASE}/funding-sources/${firstId}`, err.body);
  });

  it('error: a garbage access token → 401 InvalidAccessToken', async (t) => {
    const bad = withGarbageToken();
    const err = await sdkError('garbage token', bad.customers.list({}));
    assertHttpError(t, err, 401, 'InvalidAccessToken');
  });
});
