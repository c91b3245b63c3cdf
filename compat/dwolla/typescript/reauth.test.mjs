// Open-banking re-authentication of an MX exchange with Dwolla's TypeScript SDK `dwolla` 1.1.1,
// unchanged except for its server URL: the MX flow to a verified funding source whose balance
// parses (fundingSources.balance.get), the sandbox simulation that makes the exchange's member
// lose its connection, then fundingSources.balance.get throws the SDK's HTTP error with 400
// UpdateCredentials, the customer_exchange_reauth_required webhook arrives,
// exchanges.exchangeSessions.createReAuth gives a session whose widget opens at the member's
// credentials (completed in Chromium), and the balance parses again.
//
// The one call not made through the SDK is the simulation's body: the SDK's
// sandboxSimulations.simulate() sends none (it only processes bank transfers), so the
// re-authentication simulation is POSTed with fetch and a token from POST /token.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Dwolla } from 'dwolla';
import { completeWidget } from '../browser/complete_widget.mjs';
import * as c from '../lib/common.mjs';
import { sdkHarness } from '../lib/ts_sdk.mjs';

const SUITE = 'typescript';
const TOPIC = 'customer_exchange_reauth_required';

// --- the SDK, and a log of the wire for failure messages ---------------------------------------

const { loggingClient, sdk, sdkError, assertHttpError, location } = sdkHarness();

const dwolla = new Dwolla({
  serverURL: c.BASE,
  security: { clientID: c.KEY, clientSecret: c.SECRET },
  httpClient: loggingClient(),
});

const state = c.flowState();
const secret = c.randomSecret();
let receiver = null;

const shots = (name) => path.join(c.SCREENSHOT_ROOT, `${SUITE}-reauth`, name);

/** POST /sandbox-simulations with a body (the SDK's simulate() sends none). */
async function simulate(body) {
  const tokenRes = await fetch(`${c.BASE}/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${c.KEY}:${c.SECRET}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const { access_token: token } = await tokenRes.json();
  const res = await fetch(`${c.BASE}/sandbox-simulations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.dwolla.v1.hal+json', 'Content-Type': 'application/vnd.dwolla.v1.hal+json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('dwolla 1.1.1 (TypeScript SDK): re-authentication of an MX exchange', { timeout: 240000 }, () => {
  before(async () => {
    receiver = await c.startWebhookReceiver();
  });
  after(async () => {
    const sub = state.values.subscriptionId;
    if (sub) await dwolla.webhookSubscriptions.delete({ id: sub }).catch(() => {});
    if (receiver) await receiver.close();
  });

  it('the MX flow to a verified funding source whose balance parses', { timeout: 90000 }, async () => {
    const sub = await sdk('webhookSubscriptions.create', dwolla.webhookSubscriptions.create({ url: receiver.url, secret }));
    state.set('subscriptionId', c.assertLocation(location(sub, 'webhookSubscriptions.create'), 'webhook-subscriptions'));
    const email = c.uniqueEmail(`${SUITE}-reauth`);
    const created = await sdk('customers.create', dwolla.customers.create({ type: 'unverified', firstName: 'Rea', lastName: 'Auth', email }));
    const customerId = state.set('customerId', c.assertLocation(location(created, 'customers.create'), 'customers'));
    const partners = (await sdk('exchangePartners.list', dwolla.exchangePartners.list())).embedded.exchangePartners;
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    const session = await sdk(
      'customers.exchangeSessions.create',
      dwolla.customers.exchangeSessions.create({ id: customerId, requestBody: { links: { exchangePartner: { href: mx.links.self.href } } } }),
    );
    const sessionId = c.assertLocation(location(session, 'customers.exchangeSessions.create'), 'exchange-sessions');
    const widgetUrl = (await sdk('exchangeSessions.get', dwolla.exchangeSessions.get({ id: sessionId }))).links.externalProviderSession.href;
    const widget = await completeWidget(widgetUrl, { screenshotDir: shots('1-connect') });
    state.set('memberGuid', widget.memberGuid);
    state.set('chosenAccount', widget.account);
    const connections = (await sdk('customers.listAvailableConnections', dwolla.customers.listAvailableConnections({ id: customerId }))).embedded
      .availableExchangeConnections;
    const connection = connections.find((a) => a.name === widget.account) || connections[0];
    const exchange = await sdk(
      'customers.exchanges.create',
      dwolla.customers.exchanges.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: mx.links.self.href } }, mx: { availableConnectionToken: connection.availableConnectionToken } },
      }),
    );
    const exchangeId = state.set('exchangeId', c.assertLocation(location(exchange, 'customers.exchanges.create'), 'exchanges'));
    const fs = await sdk(
      'customers.fundingSources.create',
      dwolla.customers.fundingSources.create({
        id: customerId,
        createCustomerFundingSource: { links: { exchange: { href: `${c.BASE}/exchanges/${exchangeId}` } }, bankAccountType: 'checking', name: 'Rea Auth' },
      }),
    );
    const fsId = state.set('fundingSourceId', c.assertLocation(location(fs, 'customers.fundingSources.create'), 'funding-sources'));
    const balance = await sdk('fundingSources.balance.get', dwolla.fundingSources.balance.get({ id: fsId }));
    assert.ok(balance, 'a balance');
  });

  it('after the simulation, fundingSources.balance.get throws 400 UpdateCredentials', async (t) => {
    const [exchangeId, fsId] = state.need('exchangeId', 'fundingSourceId');
    const sim = await simulate({ _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } }, simulate: 'reauth-required' });
    assert.equal(sim.status, 200, JSON.stringify(sim.body));
    const err = await sdkError('fundingSources.balance.get', dwolla.fundingSources.balance.get({ id: fsId }));
    const body = assertHttpError(t, err, 400, 'UpdateCredentials');
    assert.deepEqual(body._links.about, {
      href: `${c.BASE}/exchanges/${exchangeId}/exchange-sessions`,
      type: 'application/vnd.dwolla.v1.hal+json',
      'resource-type': 'exchange-session',
    });
  });

  it('the customer_exchange_reauth_required webhook arrives, signed', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    const exchangeId = state.need('exchangeId');
    const [delivery] = await c.waitForDeliveries(receiver, exchangeId, [TOPIC]);
    const body = c.assertSignedDelivery(delivery, secret);
    assert.equal(body._links.resource.href, `${c.BASE}/exchanges/${exchangeId}`);
  });

  it('exchanges.exchangeSessions.createReAuth → a widget at the member\'s credentials, completed; the balance parses again', { timeout: 90000 }, async () => {
    const [exchangeId, memberGuid, chosen, fsId] = state.need('exchangeId', 'memberGuid', 'chosenAccount', 'fundingSourceId');
    const res = await sdk('exchanges.exchangeSessions.createReAuth', dwolla.exchanges.exchangeSessions.createReAuth({ id: exchangeId }));
    const sessionId = c.assertLocation(location(res, 'exchanges.exchangeSessions.createReAuth'), 'exchange-sessions');
    const session = await sdk('exchangeSessions.get', dwolla.exchangeSessions.get({ id: sessionId }));
    const widget = await completeWidget(session.links.externalProviderSession.href, {
      screenshotDir: shots('2-update-credentials'),
      updateCredentials: true,
      account: chosen,
    });
    assert.equal(widget.updatedMemberGuid, memberGuid);
    const balance = await sdk('fundingSources.balance.get', dwolla.fundingSources.balance.get({ id: fsId }));
    assert.ok(balance, 'a balance');
  });
});
