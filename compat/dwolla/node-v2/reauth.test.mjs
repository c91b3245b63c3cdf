// Open-banking re-authentication of an MX exchange with Dwolla's Node SDK `dwolla-v2` 3.4.2,
// unchanged except for its URLs: the MX flow to a verified funding source (its balance reads),
// then the sandbox simulation that makes the exchange's MX member lose its connection
//
//   dwolla.post('sandbox-simulations', { _links: { exchange: { href } }, simulate: 'reauth-required' })
//
// after which the balance rejects with 400 UpdateCredentials (its _links.about is where the
// re-authentication session is created), the customer_exchange_reauth_required webhook arrives,
// the re-auth session's widget opens at the member's credentials (update-credentials mode) and
// is completed in Chromium, and the balance reads again.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import dwollaV2 from 'dwolla-v2';
import { completeWidget } from '../browser/complete_widget.mjs';
import * as c from '../lib/common.mjs';

const { Client } = dwollaV2;
const SUITE = 'node-v2';
const TOPIC = 'customer_exchange_reauth_required';

const dwolla = new Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
dwolla.apiUrl = c.BASE;
dwolla.tokenUrl = `${c.BASE}/token`;

const state = c.flowState();
const secret = c.randomSecret();
let receiver = null;

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

/** The rejection of `promise` (dwolla-v2 rejects every status ≥ 400 with an Error carrying .status/.body). */
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

const describeError = (err) => `${err.status} ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}`;
const shots = (name) => path.join(c.SCREENSHOT_ROOT, `${SUITE}-reauth`, name);

describe('dwolla-v2 3.4.2: re-authentication of an MX exchange', { timeout: 240000 }, () => {
  before(async () => {
    receiver = await c.startWebhookReceiver();
  });
  after(async () => {
    const sub = state.values.subscription;
    if (sub) await dwolla.delete(sub).catch(() => {});
    if (receiver) await receiver.close();
  });

  it('set-up: a webhook subscription, a customer and MX', async () => {
    const sub = await api.post('webhook-subscriptions', { url: receiver.url, secret });
    state.set('subscription', sub.headers.get('location'));
    const res = await api.post('customers', { firstName: 'Rea', lastName: 'Auth', email: c.uniqueEmail(`${SUITE}-reauth`) });
    state.set('customerId', c.assertLocation(res.headers.get('location'), 'customers'));
    const partners = (await api.get('/exchange-partners')).body._embedded['exchange-partners'];
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    assert.ok(mx, `MX among ${partners.map((p) => p.name).join(', ')}`);
    state.set('mx', mx);
  });

  it('the MX flow to a verified funding source whose balance reads', { timeout: 90000 }, async () => {
    const [customerId, mx] = state.need('customerId', 'mx');
    const partnerHref = `${c.DWOLLA_SANDBOX}/exchange-partners/${mx.id}`;
    const session = await api.post(`customers/${customerId}/exchange-sessions`, { _links: { 'exchange-partner': { href: partnerHref } } });
    const widgetUrl = (await api.get(session.headers.get('location'))).body._links['external-provider-session'].href;
    const widget = await completeWidget(widgetUrl, { screenshotDir: shots('1-connect') });
    state.set('memberGuid', widget.memberGuid);
    state.set('chosenAccount', widget.account);
    const connections = (await api.get(`/customers/${customerId}/available-exchange-connections`)).body._embedded['available-exchange-connections'];
    const connection = connections.find((a) => a.name === widget.account) || connections[0];
    const exchange = await api.post(`customers/${customerId}/exchanges`, {
      _links: { 'exchange-partner': { href: partnerHref } },
      mx: { availableConnectionToken: connection.availableConnectionToken },
    });
    const exchangeId = state.set('exchangeId', c.assertLocation(exchange.headers.get('location'), 'exchanges'));
    const fs = await api.post(`customers/${customerId}/funding-sources`, {
      _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } },
      bankAccountType: 'checking',
      name: 'Rea Auth Checking',
    });
    const fsId = state.set('fundingSourceId', c.assertLocation(fs.headers.get('location'), 'funding-sources'));
    const balance = await api.get(`funding-sources/${fsId}/balance`);
    assert.equal(balance.status, 200);
    assert.equal(balance.body.available.currency, 'USD', JSON.stringify(balance.body));
  });

  it('a simulation body with an unknown `simulate` → 400 ValidationError at /simulate', async () => {
    const exchangeId = state.need('exchangeId');
    const err = await rejection(
      dwolla.post('sandbox-simulations', { _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } }, simulate: 'meteor' }),
      'unknown simulation',
    );
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'ValidationError', describeError(err));
    assert.equal(err.body._embedded?.errors?.[0]?.path, '/simulate', describeError(err));
  });

  it('POST sandbox-simulations {_links.exchange, simulate: reauth-required} → 200', async () => {
    const exchangeId = state.need('exchangeId');
    const res = await api.post('sandbox-simulations', {
      _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } },
      simulate: 'reauth-required',
    });
    assert.equal(res.status, 200);
    assert.equal(res.body._links.exchange.href, `${c.BASE}/exchanges/${exchangeId}`);
  });

  it('the balance rejects with 400 UpdateCredentials pointing at the re-auth exchange sessions', async () => {
    const [fsId, exchangeId] = state.need('fundingSourceId', 'exchangeId');
    const err = await rejection(dwolla.get(`funding-sources/${fsId}/balance`), 'balance after the loss');
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'UpdateCredentials', describeError(err));
    assert.equal(
      err.body.message,
      'Re-authentication is required in order to access account data. Please initiate the exchange session flow to regain access.',
    );
    assert.deepEqual(err.body._links.about, {
      href: `${c.BASE}/exchanges/${exchangeId}/exchange-sessions`,
      type: 'application/vnd.dwolla.v1.hal+json',
      'resource-type': 'exchange-session',
    });
    state.set('reauthHref', err.body._links.about.href);
  });

  it('the customer_exchange_reauth_required webhook arrives, signed', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    const [exchangeId, customerId] = state.need('exchangeId', 'customerId');
    const [delivery] = await c.waitForDeliveries(receiver, exchangeId, [TOPIC]);
    const body = c.assertSignedDelivery(delivery, secret);
    assert.equal(body._links.resource.href, `${c.BASE}/exchanges/${exchangeId}`);
    assert.equal(body._links.customer.href, `${c.BASE}/customers/${customerId}`);
    const events = (await api.get('events', { limit: 200 })).body._embedded.events.filter((e) => e.resourceId === exchangeId);
    assert.deepEqual(events.map((e) => e.topic), [TOPIC], 'one event for the loss');
  });

  it('the re-auth session (POST the about link) opens the widget at the member, completed in Chromium', { timeout: 90000 }, async () => {
    const [reauthHref, memberGuid, chosen] = state.need('reauthHref', 'memberGuid', 'chosenAccount');
    const created = await api.post(reauthHref, {});
    assert.equal(created.status, 201);
    const session = await api.get(created.headers.get('location'));
    const url = session.body._links['external-provider-session'].href;
    assert.equal(new URL(url).origin, c.MX_BASE);
    const widget = await completeWidget(url, { screenshotDir: shots('2-update-credentials'), updateCredentials: true, account: chosen });
    assert.equal(widget.updatedMemberGuid, memberGuid, 'onUpdateCredentials named the exchange member');
    assert.equal(widget.memberGuid, memberGuid, 'the same member connected again');
  });

  it('the balance reads again', async () => {
    const fsId = state.need('fundingSourceId');
    const balance = await api.get(`funding-sources/${fsId}/balance`);
    assert.equal(balance.status, 200);
    assert.equal(typeof balance.body.available.value, 'string');
  });
});
