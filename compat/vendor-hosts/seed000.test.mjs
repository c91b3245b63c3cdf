// Seed 000 against `openiav serve --vendor-hosts`, as an app that hard-codes the vendors' hosts
// runs it: Dwolla's dwolla-v2 3.4.2 with `environment: "sandbox"` (apiUrl and tokenUrl are the
// SDK's own, https://api-sandbox.dwolla.com) and MX's mx-platform-node 2.1.0 with its default base
// path (https://int-api.mx.com), neither changed in any way. run.sh makes the vendors' hosts
// resolve to openiav (a hosts file of this process's own mount namespace) and has Node trust
// openiav's CA (NODE_EXTRA_CA_CERTS=$(openiav ca path)).
//
// The MX side: a user and an MX Bank member (mxuser/password) verified through the SDK, and a
// Connect widget URL on MX's widget host, completed over HTTP as the page's script does it. The
// Dwolla side: token, webhook subscription, customer, MX exchange session whose widget URL is on
// MX's widget host, the end user's widget steps there in Chromium through MX's web-widget-sdk
// (compat/dwolla/browser/complete_widget.mjs), available exchange connections, exchange, verified
// funding source, its events and its two signed webhooks.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns/promises';
import dwollaV2 from 'dwolla-v2';
import { createRequire } from 'node:module';
import mxPlatform from 'mx-platform-node';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeWidget } from '../dwolla/browser/complete_widget.mjs';
import * as c from '../dwolla/lib/common.mjs';

const { Client } = dwollaV2;
const { Configuration, UsersApi, InstitutionsApi, MembersApi, AccountsApi, WidgetsApi } = mxPlatform;
// The SDK's built-in server, which every API class uses when the configuration names none.
const { BASE_PATH } = createRequire(import.meta.url)('mx-platform-node/dist/base.js');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCREENSHOTS = process.env.VENDOR_HOSTS_SCREENSHOT_DIR || path.join(HERE, 'artifacts', 'screenshots');
const VENDOR_IP = process.env.VENDOR_HOSTS_IP;
const MX_CLIENT_ID = process.env.MX_CLIENT_ID;
const MX_API_KEY = process.env.MX_API_KEY;
const DWOLLA_SANDBOX = 'https://api-sandbox.dwolla.com';
const MX_API = 'https://int-api.mx.com';
const MX_WIDGETS = 'https://int-widgets.moneydesktop.com';
const HOSTS = ['api-sandbox.dwolla.com', 'api.dwolla.com', 'int-api.mx.com', 'api.mx.com', 'int-widgets.moneydesktop.com', 'widgets.moneydesktop.com'];

// Exactly as the vendors' READMEs construct them.
const dwolla = new Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
const mxConfig = new Configuration({
  username: MX_CLIENT_ID,
  password: MX_API_KEY,
  baseOptions: { headers: { Accept: 'application/vnd.mx.api.v1+json' } },
});
const users = new UsersApi(mxConfig);
const institutions = new InstitutionsApi(mxConfig);
const members = new MembersApi(mxConfig);
const accounts = new AccountsApi(mxConfig);
const widgets = new WidgetsApi(mxConfig);

const state = c.flowState();
const secret = c.randomSecret();
let receiver = null;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** dwolla-v2 calls; a rejection names the request and gives the server's answer. */
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

/** Polls the member through the SDK until it is challenged or done aggregating. */
async function settle(member, user) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const status = (await members.readMemberStatus(member, user)).data.member;
    if (status.connection_status === 'CHALLENGED' || status.is_being_aggregated === false) return status;
    assert.ok(Date.now() < deadline, `member ${member} never settled: ${JSON.stringify(status)}`);
    await sleep(50);
  }
}

/**
 * The end user's part of the widget, as the page's script does it: open the URL (once), read the
 * session token from the page, then call the widget's API on the same host with it.
 */
async function completeWidgetOverApi(url) {
  const page = await fetch(url);
  assert.equal(page.status, 200, `GET ${url}`);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  const html = await page.text();
  const session = /<meta name="mx-widget-session" content="([^"]+)"/.exec(html)?.[1];
  assert.ok(session, 'the widget page carries its session token');
  const origin = new URL(url).origin;
  const call = async (method, path, body) => {
    const res = await fetch(`${origin}/md/connect/api${path}`, {
      method,
      headers: { 'x-widget-session': session, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert.equal(res.status, 200, `${method} ${path} → ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const follow = async (guid, outcome) => {
    const deadline = Date.now() + 15000;
    for (;;) {
      const m = (await call('GET', `/members/${guid}`)).member;
      if (m.outcome === outcome) return m;
      assert.ok(Date.now() < deadline, `member ${guid} never reached ${outcome}: ${JSON.stringify(m)}`);
      await sleep(50);
    }
  };
  const inst = (await call('GET', '/institutions/mxbank')).institution;
  const guid = (type) => inst.credentials.find((cr) => cr.field_type === type).guid;
  const created = await call('POST', '/members', {
    institution_code: 'mxbank',
    credentials: [{ guid: guid('LOGIN'), value: 'mxuser' }, { guid: guid('PASSWORD'), value: 'password' }],
  });
  const member = created.member.guid;
  const selecting = await follow(member, 'select_account');
  const challenge = selecting.challenges[0];
  const account = challenge.options[0];
  await call('PUT', `/members/${member}/answers`, { answers: [{ guid: challenge.guid, value: account.value }] });
  const connected = await follow(member, 'connected');
  assert.equal(connected.has_verified_account, true, JSON.stringify(connected));
  return { member, account: account.label };
}

describe('vendor-host mode: seed 000 with dwolla-v2 (sandbox) and mx-platform-node (default base path), unchanged', { timeout: 120000 }, () => {
  before(async () => {
    receiver = await c.startWebhookReceiver();
  });
  after(async () => {
    const sub = state.values.subscription;
    if (sub) await dwolla.delete(sub).catch(() => {});
    if (receiver) await receiver.close();
  });

  it('the SDKs aim at the vendors\' own hosts, which resolve to openiav here', async () => {
    assert.equal(dwolla.apiUrl, DWOLLA_SANDBOX, 'dwolla-v2 sandbox apiUrl is its own');
    assert.equal(dwolla.tokenUrl, `${DWOLLA_SANDBOX}/token`, 'dwolla-v2 sandbox tokenUrl is its own');
    assert.equal(mxConfig.basePath, undefined, 'no base path given to mx-platform-node');
    assert.equal(BASE_PATH, MX_API, "mx-platform-node's built-in base path");
    assert.ok(process.env.NODE_EXTRA_CA_CERTS, 'Node trusts the CA of `openiav ca path`');
    for (const host of HOSTS) {
      const { address } = await dns.lookup(host, { family: 4 });
      assert.equal(address, VENDOR_IP, `${host} resolves to openiav`);
    }
  });

  it('MX: a user and an MX Bank member verified through mx-platform-node on int-api.mx.com', async () => {
    const user = (await users.createUser({ user: { id: `vendor-hosts-${process.pid}-${Date.now()}` } })).data.user.guid;
    const creds = (await institutions.listInstitutionCredentials('mxbank')).data.credentials;
    const guid = (name) => creds.find((cr) => cr.field_name === name).guid;
    const created = await members.createMember(user, {
      member: {
        institution_code: 'mxbank',
        credentials: [{ guid: guid('LOGIN'), value: 'mxuser' }, { guid: guid('PASSWORD'), value: 'password' }],
        skip_aggregation: true,
      },
    });
    const member = created.data.member.guid;
    assert.equal((await members.verifyMember(member, user)).status, 200);
    const challenged = await settle(member, user);
    assert.equal(challenged.connection_status, 'CHALLENGED', JSON.stringify(challenged));
    const challenge = challenged.challenges[0];
    await members.resumeAggregation(member, user, { member: { challenges: [{ guid: challenge.guid, value: challenge.options[0].value }] } });
    const connected = await settle(member, user);
    assert.equal(connected.connection_status, 'CONNECTED', JSON.stringify(connected));
    const listed = (await accounts.listUserAccounts(user)).data.accounts;
    assert.ok(listed.length >= 1, 'the member has accounts');
  });

  it('MX: a Connect widget URL from mx-platform-node is on the widget host, which serves the widget', async () => {
    const user = (await users.createUser({ user: { id: `vendor-hosts-widget-${process.pid}-${Date.now()}` } })).data.user.guid;
    const widget = (await widgets.requestWidgetURL(user, { widget_url: { widget_type: 'connect_widget', mode: 'verification' } })).data.widget_url;
    assert.ok(widget.url.startsWith(`${MX_WIDGETS}/md/connect/`), `the widget URL is on MX's widget host: ${widget.url}`);
    // The end user's steps over HTTP, as the page's script takes them.
    const { member } = await completeWidgetOverApi(widget.url);
    const listed = (await members.listMembers(user)).data.members;
    assert.ok(listed.some((m) => m.guid === member && m.connection_status === 'CONNECTED'), JSON.stringify(listed));
  });

  it('Dwolla: a token from the sandbox host', async () => {
    const token = await dwolla.auth.client();
    assert.equal(typeof token.access_token, 'string');
    const root = await explain(token.get('/'), 'GET /');
    for (const link of Object.values(root.body._links)) {
      assert.ok(link.href.startsWith(`${DWOLLA_SANDBOX}/`), `links are on the sandbox host: ${link.href}`);
    }
  });

  it('webhook subscription: POST /webhook-subscriptions → 201 Location', async () => {
    const res = await api.post('webhook-subscriptions', { url: receiver.url, secret });
    assert.equal(res.status, 201);
    c.assertLocation(res.headers.get('location'), 'webhook-subscriptions');
    state.set('subscription', res.headers.get('location'));
  });

  it('customer: POST /customers → 201 Location on the sandbox host', async () => {
    const res = await api.post('customers', { firstName: 'Jane', lastName: 'Doe', email: c.uniqueEmail('vendor-hosts') });
    assert.equal(res.status, 201);
    state.set('customerId', c.assertLocation(res.headers.get('location'), 'customers'));
  });

  it('exchange session with MX: the widget URL is on MX\'s widget host', async () => {
    const customerId = state.need('customerId');
    const partners = (await api.get('/exchange-partners')).body._embedded['exchange-partners'];
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    assert.ok(mx, `MX among ${partners.map((p) => p.name).join(', ')}`);
    assert.equal(mx._links.self.href, `${DWOLLA_SANDBOX}/exchange-partners/${mx.id}`);
    state.set('mx', mx);
    const res = await api.post(`customers/${customerId}/exchange-sessions`, { _links: { 'exchange-partner': { href: mx._links.self.href } } });
    assert.equal(res.status, 201);
    const session = await api.get(res.headers.get('location'));
    const url = session.body._links['external-provider-session'].href;
    assert.ok(url.startsWith(`${MX_WIDGETS}/md/connect/`), `external-provider-session on MX's widget host: ${url}`);
    state.set('widgetUrl', url);
  });

  it('the end user completes MX Connect on the widget host in Chromium (ConnectWidget → onConnectedPrimaryAction)', { timeout: 60000 }, async () => {
    // Chromium resolves the widget host through this namespace's hosts file and trusts the CA
    // through the NSS database run.sh made in $HOME.
    const result = await completeWidget(state.need('widgetUrl'), { screenshotDir: SCREENSHOTS });
    assert.equal(result.ok, true);
    assert.match(String(result.memberGuid), /^MBR-/, 'onMemberConnected carried the member');
    state.set('chosenAccount', result.account);
  });

  it('available exchange connections, exchange, and a verified funding source', async () => {
    const [customerId, mx, chosen] = state.need('customerId', 'mx', 'chosenAccount');
    const conns = (await api.get(`/customers/${customerId}/available-exchange-connections`)).body._embedded['available-exchange-connections'];
    assert.ok(conns.length >= 1, JSON.stringify(conns));
    const conn = conns.find((x) => chosen.includes(x.name)) || conns[0];
    const exchange = await api.post(`customers/${customerId}/exchanges`, {
      _links: { 'exchange-partner': { href: mx._links.self.href } },
      mx: { availableConnectionToken: conn.availableConnectionToken },
    });
    assert.equal(exchange.status, 201);
    const exchangeUrl = exchange.headers.get('location');
    c.assertLocation(exchangeUrl, 'exchanges');
    const fs = await api.post(`customers/${customerId}/funding-sources`, {
      _links: { exchange: { href: exchangeUrl } },
      bankAccountType: 'checking',
      name: "Jane Doe's Checking",
    });
    assert.equal(fs.status, 201);
    const fsId = c.assertLocation(fs.headers.get('location'), 'funding-sources');
    const read = await api.get(fs.headers.get('location'));
    assert.equal(read.body.status, 'verified');
    assert.equal(read.body._links.customer.href, `${DWOLLA_SANDBOX}/customers/${customerId}`);
    state.set('fundingSourceId', fsId);
  });

  it('events and signed webhooks for the funding source', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    const fsId = state.need('fundingSourceId');
    state.need('subscription');
    const events = (await api.get('events', { limit: 200 })).body._embedded.events;
    for (const topic of c.FUNDING_SOURCE_TOPICS) {
      const e = events.find((x) => x.topic === topic && x.resourceId === fsId);
      assert.ok(e, `${topic} for ${fsId}`);
      assert.equal(e._links.resource.href, `${DWOLLA_SANDBOX}/funding-sources/${fsId}`);
    }
    const found = await c.waitForDeliveries(receiver, fsId);
    for (const d of found) {
      const body = c.assertSignedDelivery(d, secret);
      assert.ok(body._links.resource.href.startsWith(`${DWOLLA_SANDBOX}/`), body._links.resource.href);
    }
  });
});
