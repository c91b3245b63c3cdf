// Shared set-up for the widget suite: the MX Platform API over fetch, Debian's Chromium through
// playwright-core, the host page (host/server.mjs) on an origin of its own, and a WidgetSession
// per test that opens the widget in the host page, drives it, takes screenshots and checks the
// SDK callbacks the host page recorded.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startHostServer } from '../host/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run the suite through compat/widget/run.sh)`);
  return value;
}

export const BASE = env('MX_BASE_URL').replace(/\/+$/, '');
export const CLIENT_ID = env('MX_CLIENT_ID');
export const API_KEY = env('MX_API_KEY');
export const ACCEPT = 'application/vnd.mx.api.v1+json';
export const AUTHORIZATION = `Basic ${Buffer.from(`${CLIENT_ID}:${API_KEY}`).toString('base64')}`;
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SCREENSHOT_DIR = process.env.WIDGET_SCREENSHOT_DIR || path.join(HERE, '..', 'artifacts', 'screenshots');
/** How long to wait for one widget step (or any other single browser action). */
export const STEP_TIMEOUT_MS = Number(process.env.WIDGET_STEP_TIMEOUT_MS || 15000);
/** node:test timeout of one test. */
export const TEST_TIMEOUT_MS = Number(process.env.WIDGET_TEST_TIMEOUT_MS || 90000);

/** Widget events carry connection statuses as their numeric ids (mx-wire.md §4.1). */
export const STATUS = {
  DENIED: 2,
  CHALLENGED: 3,
  REJECTED: 4,
  LOCKED: 5,
  CONNECTED: 6,
  FAILED: 14,
};

/** Exact MX Bank messages (the widget contract). */
export const MESSAGES = {
  UNAUTHORIZED: 'The credentials entered do not match those at MX Bank. Please correct them below to continue.',
  LOCKED:
    'Your account is locked. Please log in to the appropriate website for MX Bank and follow the steps to resolve the issue.',
  SERVER_ERROR: 'There was a problem validating your credentials with MX Bank. Please try again later.',
};

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// --- MX Platform API ------------------------------------------------------------------------

/** One API call with Basic auth and the v20111101 Accept header; returns {status, body, text, headers}. */
export async function api(method, urlPath, body, { headers = {} } = {}) {
  const res = await fetch(BASE + urlPath, {
    method,
    headers: {
      Authorization: AUTHORIZATION,
      Accept: ACCEPT,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, body: json, text, headers: res.headers };
}

function describeResponse(res) {
  return `HTTP ${res.status} ${res.text.slice(0, 500)}`;
}

let counter = 0;
export function uniqueId(prefix = 'compat-widget') {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}`;
}

/** POST /users → the created user ({guid: "USR-…", id, …}). */
export async function createUser() {
  const id = uniqueId();
  const res = await api('POST', '/users', { user: { id, metadata: 'compat/widget' } });
  assert.equal(res.status, 200, `POST /users → ${describeResponse(res)}`);
  const user = res.body.user;
  assert.match(user.guid, /^USR-/);
  assert.equal(user.id, id);
  return user;
}

/**
 * POST /users/{guid}/widget_urls with {"widget_url": {widget_type: "connect_widget", ...fields}} → the URL.
 * Checks the response shape and that the URL is openiav's /md/connect/<token>.
 */
export async function requestWidgetUrl(user, fields = {}) {
  const res = await api('POST', `/users/${user.guid}/widget_urls`, {
    widget_url: { widget_type: 'connect_widget', ...fields },
  });
  assert.equal(res.status, 200, `POST /users/${user.guid}/widget_urls → ${describeResponse(res)}`);
  const w = res.body && res.body.widget_url;
  assert.ok(w, `widget_url in ${res.text}`);
  assert.equal(w.type, 'connect_widget');
  assert.equal(w.user_id, user.id);
  assert.equal(typeof w.url, 'string');
  const url = new URL(w.url);
  assert.equal(url.origin, new URL(BASE).origin, `${w.url} is served by the aggregation listener`);
  assert.match(url.pathname, /^\/md\/connect\/[^/]+$/, `${w.url} is /md/connect/<token>`);
  return w.url;
}

/** GET /institutions/{code}, as v20250224 (whose InstitutionResponse carries the `guid`). */
export async function readInstitution(code) {
  const res = await api('GET', `/institutions/${code}`, undefined, {
    headers: { Accept: 'application/json', 'Accept-Version': 'v20250224' },
  });
  assert.equal(res.status, 200, `GET /institutions/${code} → ${describeResponse(res)}`);
  return res.body.institution;
}

export async function listMembers(userGuid) {
  const res = await api('GET', `/users/${userGuid}/members`);
  assert.equal(res.status, 200, `GET /users/${userGuid}/members → ${describeResponse(res)}`);
  return res.body.members;
}

export async function listAccountNumbers(userGuid, memberGuid) {
  const res = await api('GET', `/users/${userGuid}/members/${memberGuid}/account_numbers`);
  assert.equal(res.status, 200, `GET …/members/${memberGuid}/account_numbers → ${describeResponse(res)}`);
  return res.body.account_numbers;
}

export async function readAccount(userGuid, accountGuid) {
  const res = await api('GET', `/users/${userGuid}/accounts/${accountGuid}`);
  assert.equal(res.status, 200, `GET /users/${userGuid}/accounts/${accountGuid} → ${describeResponse(res)}`);
  return res.body.account;
}

export async function listMicroDeposits(userGuid) {
  const res = await api('GET', `/users/${userGuid}/micro_deposits`);
  assert.equal(res.status, 200, `GET /users/${userGuid}/micro_deposits → ${describeResponse(res)}`);
  return res.body.micro_deposits;
}

/** The member as GET /users/{guid}/members lists it; fails if it is not listed. */
export async function listedMember(userGuid, memberGuid) {
  const members = await listMembers(userGuid);
  const member = members.find((m) => m.guid === memberGuid);
  assert.ok(member, `member ${memberGuid} is listed by GET /users/${userGuid}/members (${JSON.stringify(members)})`);
  return member;
}

// --- browser and host page, once per test file ----------------------------------------------

/**
 * Registers before/after hooks that start Chromium and the host server once for the file.
 * Returns an object whose `widget(t, options)` opens a WidgetSession for test context `t`.
 */
export function setup() {
  const shared = { browser: null, host: null };
  before(async () => {
    shared.host = await startHostServer();
    shared.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  after(async () => {
    if (shared.browser) await shared.browser.close();
    if (shared.host) await shared.host.close();
  });
  return {
    get browser() {
      return shared.browser;
    },
    get hostUrl() {
      return shared.host.url;
    },
    /** A session for test `t` (closed automatically when the test ends). */
    session(t) {
      const s = new WidgetSession(shared.browser, shared.host.url, t.name);
      t.after(() => s.close());
      return s;
    },
    /** Creates a user, requests a widget URL with `fields` and opens it in the host page. */
    async widget(t, fields = {}) {
      const s = this.session(t);
      await s.open(fields);
      return s;
    },
  };
}

/** A file-name-safe form of `name` (test names → folders, lower case; step labels keep their case). */
export function slug(name, { lower = true } = {}) {
  return (lower ? name.toLowerCase() : name)
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
}

const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

/** One test's browser context, host page, widget frame, screenshots and recorded callbacks. */
export class WidgetSession {
  constructor(browser, hostUrl, testName) {
    this.browser = browser;
    this.hostUrl = hostUrl;
    this.testName = testName;
    this.dir = path.join(SCREENSHOT_DIR, slug(testName));
    this.shots = 0;
    this.context = null;
    this.page = null;
    this.frame = null;
    this.user = null;
    this.url = null;
    this.pageErrors = [];
  }

  /** Creates a user, requests a widget URL (`fields` go into widget_url) and opens it in the host. */
  async open(fields = {}) {
    this.user = await createUser();
    this.url = await requestWidgetUrl(this.user, fields);
    await this.openHost({ url: this.url });
    return this;
  }

  /** The browser context of this test (created on first use). */
  async ensureContext() {
    if (!this.context) {
      await fs.mkdir(this.dir, { recursive: true });
      this.context = await this.browser.newContext({ viewport: { width: 1000, height: 720 } });
      this.context.setDefaultTimeout(STEP_TIMEOUT_MS);
    }
    return this.context;
  }

  /** Opens the host page with `query` (e.g. {url} or {proxy, authorization, mode}) in a new page. */
  async openHost(query) {
    await this.ensureContext();
    this.page = await this.context.newPage();
    this.page.on('pageerror', (err) => this.pageErrors.push(`host page: ${err.message}`));
    this.page.on('console', (msg) => {
      if (msg.type() === 'error') this.pageErrors.push(`console (${msg.location().url}): ${msg.text()}`);
    });
    const res = await this.page.goto(`${this.hostUrl}/?${new URLSearchParams(query)}`);
    assert.equal(res.status(), 200, 'host page loads');
    this.frame = this.page.frameLocator('iframe[data-test-id="mx-widget-iframe"]');
    return this.page;
  }

  /** The widget's root element. */
  get root() {
    return this.frame.locator('#mx-widget');
  }

  heading(name) {
    return this.frame.getByRole('heading', { level: 1, name, exact: true });
  }

  button(name) {
    return this.frame.getByRole('button', { name, exact: true });
  }

  /** The first non-empty role=alert element. */
  get alert() {
    return this.frame.getByRole('alert').filter({ hasText: /\S/ }).first();
  }

  async alertText() {
    await this.alert.waitFor();
    return norm(await this.alert.innerText());
  }

  /** Saves a screenshot of the host page as <dir>/<NN>-<label>.png. */
  async shot(label, page = this.page) {
    this.shots += 1;
    const file = path.join(this.dir, `${String(this.shots).padStart(2, '0')}-${slug(label, { lower: false })}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  /** What the host page and the widget show right now (for failure messages). */
  async describe() {
    const iframes = await this.page.locator('iframe[data-test-id="mx-widget-iframe"]').count().catch(() => 0);
    if (!iframes) {
      const ssoErrors = await this.page.evaluate(() => window.__ssoErrors).catch(() => []);
      return `no widget iframe in the host page${ssoErrors.length ? ` (onSsoUrlLoadError: ${ssoErrors.join('; ')})` : ''}`;
    }
    const root = this.root;
    if ((await root.count().catch(() => 0)) === 0) {
      const body = await this.frame.locator('body').innerText({ timeout: 1000 }).catch(() => '');
      return `no #mx-widget in the iframe; its text: ${JSON.stringify(norm(body).slice(0, 300))}`;
    }
    const step = await root.getAttribute('data-step', { timeout: 1000 }).catch(() => null);
    const h1 = await this.frame.locator('h1').first().innerText({ timeout: 1000 }).catch(() => '');
    const alerts = await this.frame.getByRole('alert').allInnerTexts().catch(() => []);
    return `data-step=${JSON.stringify(step)} h1=${JSON.stringify(norm(h1))} alerts=${JSON.stringify(alerts.map(norm).filter(Boolean))}`;
  }

  /** Waits for `locator`; on timeout, screenshots the page and fails with what the widget shows. */
  async expect(locator, what, { timeout = STEP_TIMEOUT_MS, state = 'visible' } = {}) {
    try {
      await locator.waitFor({ state, timeout });
    } catch (err) {
      const now = await this.describe();
      await this.shot(`FAILED-${what}`).catch(() => {});
      const errors = this.pageErrors.length ? `; page errors: ${this.pageErrors.join(' | ')}` : '';
      throw new assert.AssertionError({ message: `expected ${what} within ${timeout} ms; widget shows ${now}${errors}` });
    }
  }

  /** Waits for `#mx-widget[data-step=name]` (and `heading`, if given) and takes a screenshot. */
  async step(name, { heading, shot = name } = {}) {
    await this.expect(this.frame.locator(`#mx-widget[data-step="${name}"]`), `step ${name}`, { state: 'attached' });
    if (heading) await this.expect(this.heading(heading), `step ${name} with <h1> ${JSON.stringify(heading)}`);
    if (shot) await this.shot(shot);
  }

  /**
   * After a submit: if the widget shows `connecting` before `next` appears, screenshot it.
   * Returns true when connecting was seen. `next` is a locator for the state that follows.
   */
  async passConnecting(next) {
    const connecting = this.frame.locator('#mx-widget[data-step="connecting"]');
    await this.expect(connecting.or(next).first(), 'connecting or the next step', { state: 'attached' });
    if ((await connecting.count()) > 0) {
      await this.shot('connecting');
      return true;
    }
    return false;
  }

  /** Fills the enterCreds form and presses Continue. */
  async enterCredentials(username, password, { institution = 'MX Bank' } = {}) {
    await this.step('enterCreds', { heading: institution, shot: 'enterCreds' });
    await this.frame.getByLabel('Username', { exact: true }).fill(username);
    await this.frame.getByLabel('Password', { exact: true }).fill(password);
    await this.shot('enterCreds-filled');
    await this.button('Continue').click();
  }

  /** On the search step, clicks the popular institution button `name`. */
  async choosePopular(name) {
    await this.expect(this.button(name), `institution button ${JSON.stringify(name)}`);
    await this.button(name).click();
  }

  /** Every callback the host page recorded ({callback, metadata}), onMessage included. */
  async events() {
    return this.page.evaluate(() => window.__events);
  }

  async invalid() {
    return this.page.evaluate(() => window.__invalid);
  }

  /** The recorded SDK callbacks other than onMessage/onInvalidMessageError. */
  async callbacks() {
    return (await this.events()).filter((e) => e.callback !== 'onMessage' && e.callback !== 'onInvalidMessageError');
  }

  /** Metadata of every `name` callback so far. */
  async metadataOf(name) {
    return (await this.callbacks()).filter((e) => e.callback === name).map((e) => e.metadata);
  }

  /** Waits until `count` `name` callbacks were recorded; returns their metadata. */
  async waitForCallback(name, { count = 1, timeout = STEP_TIMEOUT_MS } = {}) {
    try {
      await this.page.waitForFunction(
        ([n, c]) => window.__events.filter((e) => e.callback === n).length >= c,
        [name, count],
        { timeout },
      );
    } catch {
      const seen = (await this.callbacks()).map((e) => e.callback).join(', ');
      throw new assert.AssertionError({ message: `expected SDK callback ${name} within ${timeout} ms; got: ${seen}` });
    }
    return this.metadataOf(name);
  }

  /** Waits for an onMemberStatusUpdate with connection_status `status`. */
  async waitForStatusUpdate(status, { timeout = STEP_TIMEOUT_MS } = {}) {
    try {
      await this.page.waitForFunction(
        (st) => window.__events.some((e) => e.callback === 'onMemberStatusUpdate' && e.metadata.connection_status === st),
        status,
        { timeout },
      );
    } catch {
      const seen = (await this.metadataOf('onMemberStatusUpdate')).map((u) => u.connection_status);
      throw new assert.AssertionError({
        message: `expected onMemberStatusUpdate with connection_status ${status} within ${timeout} ms; saw [${seen.join(', ')}]`,
      });
    }
  }

  /**
   * The checks every test makes at its end: no onInvalidMessageError, onLoad first and before
   * onLoaded, user_guid/session_guid on every event, onMessage saw objects with mx: true.
   */
  async finish() {
    await this.page.waitForTimeout(200); // messages still in flight
    const invalid = await this.invalid();
    assert.deepEqual(invalid, [], `onInvalidMessageError never fires: ${JSON.stringify(invalid)}`);
    assertEnvelope(await this.events(), this.user.guid);
  }

  async close() {
    if (this.context) {
      const ctx = this.context;
      this.context = null;
      await ctx.close().catch(() => {});
    }
  }
}

/** Checks that hold for the callbacks of every widget load (see finish()). */
export function assertEnvelope(events, userGuid) {
  const callbacks = events.filter((e) => e.callback !== 'onMessage' && e.callback !== 'onInvalidMessageError');
  const order = callbacks.map((e) => e.callback).join(', ');
  assert.ok(callbacks.length > 0, 'the widget posted SDK messages');
  assert.equal(callbacks[0].callback, 'onLoad', `onLoad fires first (${order})`);
  assert.equal(callbacks.filter((e) => e.callback === 'onLoad').length, 1, `onLoad fires once (${order})`);
  const loaded = callbacks.findIndex((e) => e.callback === 'onLoaded');
  assert.ok(loaded > 0, `onLoaded fires after onLoad (${order})`);
  assert.equal(callbacks.filter((e) => e.callback === 'onLoaded').length, 1, `onLoaded fires once (${order})`);

  const sessions = new Set();
  for (const e of callbacks) {
    if (e.callback === 'onLoad') continue; // the SDK hands onLoad only {type}
    assert.equal(e.metadata.user_guid, userGuid, `${e.callback}.user_guid is the API user's guid`);
    assert.equal(typeof e.metadata.session_guid, 'string', `${e.callback}.session_guid is a string`);
    assert.ok(e.metadata.session_guid.length > 0, `${e.callback}.session_guid is not empty`);
    sessions.add(e.metadata.session_guid);
  }
  assert.equal(sessions.size, 1, `one session_guid per widget load (${[...sessions].join(', ')})`);

  for (const e of events.filter((x) => x.callback === 'onMessage')) {
    assert.equal(typeof e.metadata, 'object', `postMessage data is an object, not ${JSON.stringify(e.metadata)}`);
    assert.equal(e.metadata.mx, true, `postMessage data has mx: true (${JSON.stringify(e.metadata)})`);
    assert.match(String(e.metadata.type), /^mx\//, 'postMessage type starts with mx/');
  }

  // stepChange {previous, current}: strings, and each change starts where the last one ended.
  const changes = callbacks.filter((e) => e.callback === 'onStepChange').map((e) => e.metadata);
  for (const [i, c] of changes.entries()) {
    assert.equal(typeof c.previous, 'string', 'stepChange.previous is a string');
    assert.equal(typeof c.current, 'string', 'stepChange.current is a string');
    assert.notEqual(c.previous, c.current, `stepChange changes the step (${JSON.stringify(c)})`);
    if (i > 0) {
      assert.equal(c.previous, changes[i - 1].current, `stepChange chain: ${JSON.stringify(changes)}`);
    }
  }
}

/** Checks onSelectedInstitution/onEnterCredentials against the institution the API serves. */
export async function assertInstitutionEvents(session, code) {
  const inst = await readInstitution(code);
  const selected = await session.metadataOf('onSelectedInstitution');
  assert.ok(selected.length >= 1, 'onSelectedInstitution fired');
  const s = selected[selected.length - 1];
  assert.equal(s.code, inst.code);
  assert.match(inst.guid, /^INS-/, 'the API serves the institution guid');
  assert.equal(s.guid, inst.guid);
  assert.equal(s.name, inst.name);
  assert.equal(typeof s.url, 'string', 'selectedInstitution.url is a string');
  return inst;
}

/**
 * Checks the callbacks of a connection that ended in memberConnected: memberStatusUpdate with a
 * numeric status for that member (CONNECTED among them), then the API lists the member CONNECTED.
 * Returns the member guid.
 */
export async function assertConnected(session, { statuses = [] } = {}) {
  const connected = await session.waitForCallback('onMemberConnected');
  assert.equal(connected.length, 1, 'onMemberConnected fires once');
  const memberGuid = connected[0].member_guid;
  assert.match(memberGuid, /^MBR-/);
  for (const s of [...statuses, STATUS.CONNECTED]) await session.waitForStatusUpdate(s);
  const updates = await session.metadataOf('onMemberStatusUpdate');
  assert.ok(updates.length >= 1, 'onMemberStatusUpdate fired');
  for (const u of updates) {
    assert.equal(u.member_guid, memberGuid, 'memberStatusUpdate is about the connected member');
    assert.equal(typeof u.connection_status, 'number', 'memberStatusUpdate.connection_status is a number');
  }
  const seen = updates.map((u) => u.connection_status);
  for (const s of [...statuses, STATUS.CONNECTED]) {
    assert.ok(seen.includes(s), `memberStatusUpdate reported status ${s} (saw ${seen.join(', ')})`);
  }
  const member = await listedMember(session.user.guid, memberGuid);
  assert.equal(member.connection_status, 'CONNECTED');
  return memberGuid;
}

/** Checks a connection that failed with `status`; returns the member guid. */
export async function assertNotConnected(session, status, apiStatus) {
  await session.waitForStatusUpdate(status);
  assert.deepEqual(await session.metadataOf('onMemberConnected'), [], 'no onMemberConnected');
  const updates = await session.metadataOf('onMemberStatusUpdate');
  const memberGuid = updates[0].member_guid;
  assert.match(memberGuid, /^MBR-/);
  for (const u of updates) {
    assert.equal(u.member_guid, memberGuid, 'memberStatusUpdate is about one member');
    assert.equal(typeof u.connection_status, 'number', 'memberStatusUpdate.connection_status is a number');
  }
  const seen = updates.map((u) => u.connection_status);
  assert.ok(seen.includes(status), `memberStatusUpdate reported status ${status} (saw ${seen.join(', ')})`);
  const member = await listedMember(session.user.guid, memberGuid);
  assert.equal(member.connection_status, apiStatus);
  return memberGuid;
}

/** Clicks Done on the connected step and waits for onConnectedPrimaryAction. */
export async function pressDone(session) {
  await session.button('Done').click();
  const done = await session.waitForCallback('onConnectedPrimaryAction');
  assert.equal(done.length, 1, 'onConnectedPrimaryAction fires once');
  await session.shot('after-done');
}
