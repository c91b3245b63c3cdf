// Shared set-up for the dashboard suite: the MX and Dwolla APIs over fetch (to seed data and to
// check each action's effect), Debian's Chromium through playwright-core, a webhook receiver,
// logging in through the dashboard's form, screenshots, and axe-core scans.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run the suite through compat/dashboard/run.sh)`);
  return value;
}

export const MX_BASE = env('MX_BASE_URL').replace(/\/+$/, '');
export const DWOLLA_BASE = env('DWOLLA_BASE_URL').replace(/\/+$/, '');
export const MX_CLIENT_ID = env('MX_CLIENT_ID');
export const MX_API_KEY = env('MX_API_KEY');
export const DWOLLA_KEY = env('DWOLLA_KEY');
export const DWOLLA_SECRET = env('DWOLLA_SECRET');
export const RECEIVER_PORT = Number(env('WEBHOOK_RECEIVER_PORT'));
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SCREENSHOT_DIR =
  process.env.DASHBOARD_SCREENSHOT_DIR || path.join(HERE, '..', 'artifacts', 'screenshots');
export const TIMEOUT_MS = Number(process.env.DASHBOARD_STEP_TIMEOUT_MS || 15000);
export const TEST_TIMEOUT_MS = Number(process.env.DASHBOARD_TEST_TIMEOUT_MS || 120000);
export const ROOT = '/_openiav/dashboard';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// --- APIs -------------------------------------------------------------------------------------

async function call(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.status, body, text, headers: res.headers };
}

const MX_AUTH = `Basic ${Buffer.from(`${MX_CLIENT_ID}:${MX_API_KEY}`).toString('base64')}`;

/** One MX Platform API call (v20111101). */
export function mx(method, urlPath, body) {
  return call(MX_BASE + urlPath, {
    method,
    headers: {
      Authorization: MX_AUTH,
      Accept: 'application/vnd.mx.api.v1+json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

let dwollaToken = null;

/** One Dwolla API call with an application token; a `Location` answer carries `id`. */
export async function dwolla(method, urlPath, body) {
  if (!dwollaToken) {
    const basic = Buffer.from(`${DWOLLA_KEY}:${DWOLLA_SECRET}`).toString('base64');
    const r = await call(`${DWOLLA_BASE}/token`, {
      method: 'POST',
      headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(r.status, 200, r.text);
    dwollaToken = r.body.access_token;
  }
  const url = urlPath.startsWith('http') ? urlPath : DWOLLA_BASE + urlPath;
  const r = await call(url, {
    method,
    headers: {
      Authorization: `Bearer ${dwollaToken}`,
      Accept: 'application/vnd.dwolla.v1.hal+json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/vnd.dwolla.v1.hal+json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const location = r.headers.get('location');
  return { ...r, location, id: location ? location.split('/').pop() : null };
}

/** Polls `probe` until it answers a truthy value. */
export async function eventually(what, probe, timeoutMs = TIMEOUT_MS) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An MX user with a member on MX Bank (`mxuser`/`password`), aggregated: {user, member}. */
export async function seedMxMember() {
  const u = await mx('POST', '/users', { user: { email: `dash-${Date.now()}@example.com` } });
  assert.equal(u.status, 200, u.text);
  const user = u.body.user.guid;
  const creds = await mx('GET', '/institutions/mxbank/credentials');
  assert.equal(creds.status, 200, creds.text);
  const field = (type) => creds.body.credentials.find((c) => c.field_type === type);
  const [login, pass] = [field('LOGIN'), field('PASSWORD')];
  const m = await mx('POST', `/users/${user}/members`, {
    member: {
      institution_code: 'mxbank',
      credentials: [
        { guid: login.guid, value: 'mxuser' },
        { guid: pass.guid, value: 'password' },
      ],
    },
  });
  assert.ok([200, 202].includes(m.status), m.text);
  const member = m.body.member.guid;
  await eventually('the member to connect', async () => {
    const s = await mx('GET', `/users/${user}/members/${member}/status`);
    return s.body?.member?.connection_status === 'CONNECTED' && !s.body.member.is_being_aggregated;
  });
  return { user, member };
}

/** A verified personal Dwolla customer with an unverified bank added by numbers: {customer, bank}. */
export async function seedDwollaCustomer(email) {
  const c = await dwolla('POST', '/customers', {
    firstName: 'Dana',
    lastName: 'Board',
    email,
    type: 'personal',
    address1: '99-99 33rd St',
    city: 'Some City',
    state: 'NY',
    postalCode: '11101',
    dateOfBirth: '1970-01-01',
    ssn: '1234',
  });
  assert.equal(c.status, 201, c.text);
  const fs = await dwolla('POST', `/customers/${c.id}/funding-sources`, {
    routingNumber: '222222226',
    accountNumber: String(10_000_000 + Math.floor(Math.random() * 80_000_000)),
    bankAccountType: 'checking',
    name: 'Dashboard checking',
  });
  assert.equal(fs.status, 201, fs.text);
  return { customer: c.id, bank: fs.id };
}

/** The id of the customer's balance. */
export async function balanceOf(customer) {
  const r = await dwolla('GET', `/customers/${customer}/funding-sources`);
  assert.equal(r.status, 200, r.text);
  const balance = r.body._embedded['funding-sources'].find((f) => f.type === 'balance');
  assert.ok(balance, r.text);
  return balance.id;
}

// --- webhook receiver -------------------------------------------------------------------------

/** Every request the receiver got: {path, body}. */
export const received = [];

let receiver = null;

async function startReceiver() {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve, reject) => {
    receiver.once('error', reject);
    receiver.listen(RECEIVER_PORT, '127.0.0.1', resolve);
  });
}

export const RECEIVER_URL = `http://127.0.0.1:${RECEIVER_PORT}`;

/** The tenant's Dwolla webhook subscription to the receiver, made if there is none. */
export async function ensureSubscription() {
  const subs = await dwolla('GET', '/webhook-subscriptions');
  assert.equal(subs.status, 200, subs.text);
  if (subs.body._embedded['webhook-subscriptions'].length > 0) return;
  const r = await dwolla('POST', '/webhook-subscriptions', { url: `${RECEIVER_URL}/dwolla`, secret: 'dashboard-webhook-secret' });
  assert.equal(r.status, 201, r.text);
}

// --- browser ----------------------------------------------------------------------------------

let browser = null;

before(async () => {
  await fs.mkdir(SCREENSHOT_DIR, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  await startReceiver();
});

after(async () => {
  if (browser) await browser.close();
  if (receiver) await new Promise((r) => receiver.close(r));
});

const AXE_PATH = require.resolve('axe-core');

/**
 * One test's dashboard session: a browser context that enforces the CSP (the dashboard must
 * work under it), its page, numbered screenshots, and axe scans.
 */
export class Dashboard {
  constructor(name, base = MX_BASE) {
    this.name = name;
    this.base = base;
    this.shot = 0;
    this.cspViolations = [];
  }

  async open() {
    this.dir = path.join(SCREENSHOT_DIR, this.name);
    await fs.mkdir(this.dir, { recursive: true });
    this.context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    this.context.setDefaultTimeout(TIMEOUT_MS);
    this.page = await this.context.newPage();
    this.page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) this.cspViolations.push(msg.text());
    });
    return this;
  }

  async close() {
    assert.deepEqual(this.cspViolations, [], 'the dashboard never trips its own CSP');
    if (this.context) await this.context.close();
  }

  url(p = '') {
    return `${this.base}${ROOT}${p}`;
  }

  async goto(p = '') {
    const res = await this.page.goto(this.url(p));
    return res;
  }

  /** Saves <dir>/<NN>-<label>.png; answers the file. */
  async screenshot(label) {
    this.shot += 1;
    const file = path.join(this.dir, `${String(this.shot).padStart(2, '0')}-${label}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** Logs in through the form with the sandbox tenant's MX (or Dwolla) credentials. */
  async login(via = 'mx') {
    await this.goto('/login');
    if (via === 'mx') {
      await this.page.getByLabel('Client id').fill(MX_CLIENT_ID);
      await this.page.getByLabel('API key').fill(MX_API_KEY);
      await this.page.getByRole('button', { name: 'Log in with MX credentials' }).click();
    } else {
      await this.page.getByLabel('Key', { exact: true }).fill(DWOLLA_KEY);
      await this.page.getByLabel('Secret').fill(DWOLLA_SECRET);
      await this.page.getByRole('button', { name: 'Log in with Dwolla credentials' }).click();
    }
    await this.page.waitForURL(this.url());
    await this.page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  }

  /** The flash message on the page. */
  async flash() {
    return (await this.page.locator('.flash').textContent())?.trim();
  }

  /**
   * Runs axe-core's WCAG 2 A/AA rules on the page as it is now and asserts no violation. The
   * dashboard's CSP forbids every script, so axe is injected into a second context of the same
   * session created with `bypassCSP` for that alone; the page under test keeps its CSP.
   */
  async axe(label) {
    const state = await this.context.storageState();
    const scan = await browser.newContext({ bypassCSP: true, storageState: state, viewport: { width: 1280, height: 900 } });
    try {
      const page = await scan.newPage();
      await page.goto(this.page.url());
      assert.equal(await page.title(), await this.page.title(), `axe scans the same page (${label})`);
      await page.addScriptTag({ path: AXE_PATH });
      const result = await page.evaluate(() =>
        window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] } }),
      );
      const violations = result.violations.map(
        (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`,
      );
      assert.deepEqual(violations, [], `axe violations on ${label}`);
      assert.ok(result.passes.length > 10, `axe ran its checks on ${label}`);
    } finally {
      await scan.close();
    }
  }
}

/** Opens a logged-in dashboard for one test. */
export async function loggedIn(name, via = 'mx') {
  const d = await new Dashboard(name).open();
  await d.login(via);
  return d;
}
