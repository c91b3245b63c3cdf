// The end user's part of Dwolla's Plaid flow (step 5, §8): open Link with the link token an
// exchange session handed out (`externalProviderSessionToken`) from a host page written for
// Plaid, and click through it in Debian's Chromium (through playwright-core; no browser is
// downloaded). The page asks for Plaid's CDN script
// (https://cdn.plaid.com/link/v2/stable/link-initialize.js) as react-plaid-link always does;
// the browser answers that one request with openiav's Link script (page.route), so the front
// end runs unchanged. Every other request to Plaid's hosts is refused.
//
//   Connect → Continue (consent) → search "Platypus" → First Platypus Bank → user_good /
//   pass_good → Submit → Plaid Checking → Continue → Success → Continue → onSuccess
//
// Two host pages: `react` (react-plaid-link's usePlaidLink({ token, onSuccess }), bundled with
// esbuild when the helper starts) and `plain` (Plaid.create and handler.open()).
//
// One implementation for every suite: Node imports completeLink(); Python runs this file:
//
//   node compat/plaid/complete_link.mjs <link-token> --mx-base <url> [--host react|plain]
//        [--subtype checking|savings] [--screenshots DIR]
//
// which prints one JSON line ({"ok":true,"publicToken":…,"metadata":…,"events":[…]} or
// {"ok":false,"error":…}) and exits 0 or 1.
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), PLAID_STEP_TIMEOUT_MS (default 15000),
// MX_BASE_URL (openiav's aggregation listener, where Link is served) when --mx-base is absent.

import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const STEP_TIMEOUT_MS = Number(process.env.PLAID_STEP_TIMEOUT_MS || 15000);
const CDN_SCRIPT = 'https://cdn.plaid.com/link/v2/stable/link-initialize.js';

/** The same flags as compat/widget and compat/dwolla. */
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

let bundle = null;
/** host/react.jsx bundled with React and react-plaid-link (once per process). */
async function reactBundle() {
  if (!bundle) {
    const out = await esbuild.build({
      entryPoints: [path.join(HERE, 'host', 'react.jsx')],
      bundle: true,
      write: false,
      format: 'iife',
      jsx: 'automatic',
      minify: true,
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    bundle = out.outputFiles[0].text;
  }
  return bundle;
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The host pages' server on 127.0.0.1:<free port> (an origin of its own). */
export function startHostServer() {
  const files = {
    '/react.html': ['text/html; charset=utf-8', () => fs.readFile(path.join(HERE, 'host', 'react.html'))],
    '/react.js': ['text/javascript; charset=utf-8', reactBundle],
    '/plain.html': ['text/html; charset=utf-8', () => fs.readFile(path.join(HERE, 'host', 'plain.html'))],
    '/plain.js': ['text/javascript; charset=utf-8', () => fs.readFile(path.join(HERE, 'host', 'plain.js'))],
  };
  const server = http.createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url, 'http://host.invalid');
      const file = files[pathname];
      if (file) return send(res, 200, file[0], await file[1]());
      if (pathname === '/favicon.ico') {
        res.writeHead(204);
        return res.end();
      }
      return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    } catch (err) {
      return send(res, 500, 'text/plain; charset=utf-8', `${err.stack || err}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

/**
 * Completes Link for `linkToken` as the end user. Returns {ok: true, publicToken, metadata,
 * events, screenshots} or throws an Error saying what Link showed instead (and saves
 * NN-FAILED-<what>.png).
 */
export async function completeLink(
  linkToken,
  {
    mxBase = process.env.MX_BASE_URL,
    host: hostPage = 'react',
    subtype = 'checking',
    institution = 'First Platypus Bank',
    searchFor = 'Platypus',
    username = 'user_good',
    password = 'pass_good',
    screenshotDir = null,
  } = {},
) {
  if (!mxBase) throw new Error('completeLink: no mxBase (openiav aggregation base URL) given');
  const linkScript = await (await fetch(`${mxBase}/link/v2/stable/link-initialize.js`)).text();
  const host = await startHostServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const shots = [];
  const pageErrors = [];
  let n = 0;
  try {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`console (${msg.location().url}): ${msg.text()}`);
    });
    // Playwright tries the routes added last first: the refusal of Plaid's hosts goes first, and
    // the one change a Plaid front end needs (Plaid's script is openiav's) after it.
    await page.route(/^https:\/\/([a-z0-9-]+\.)*plaid\.com\//, (route) => route.abort());
    await page.route(CDN_SCRIPT, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: linkScript }));
    if (screenshotDir) await fs.mkdir(screenshotDir, { recursive: true });

    const shot = async (label) => {
      if (!screenshotDir) return;
      n += 1;
      const file = path.join(screenshotDir, `${String(n).padStart(2, '0')}-${label}.png`);
      await page.screenshot({ path: file });
      shots.push(file);
    };
    const frame = page.frameLocator('iframe[title="Plaid Link"]');
    const describe = async () => {
      const view = await frame.locator('main.pane').getAttribute('data-view', { timeout: 1000 }).catch(() => null);
      const h1 = await frame.locator('h1').first().innerText({ timeout: 1000 }).catch(() => '');
      const alerts = await frame.getByRole('alert').allInnerTexts().catch(() => []);
      return `view=${JSON.stringify(view)} h1=${JSON.stringify(norm(h1))} alerts=${JSON.stringify(alerts.map(norm))}`;
    };
    const expect = async (locator, what) => {
      try {
        await locator.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
      } catch {
        const now = await describe();
        await shot(`FAILED-${what.replace(/[^A-Za-z0-9]+/g, '-')}`).catch(() => {});
        const errors = pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : '';
        throw new Error(`link: expected ${what} within ${STEP_TIMEOUT_MS} ms; Link shows ${now}${errors}`);
      }
      return locator;
    };

    await page.goto(`${host.url}/${hostPage}.html?token=${encodeURIComponent(linkToken)}`);
    const connect = page.locator('#connect:not([disabled])');
    await expect(connect, 'the host page ready (onLoad)');
    await shot('host-page');
    await connect.click();

    await (await expect(frame.locator('#link-consent-continue'), 'the consent screen')).isVisible();
    await shot('consent');
    await frame.locator('#link-consent-continue').click();

    const search = await expect(frame.locator('#link-search'), 'the institution search');
    await search.fill(searchFor);
    // The search answers after a short pause; its results replace the full list.
    await frame.locator('#link-institutions button.institution').nth(1).waitFor({ state: 'detached' });
    const bank = frame.locator('button.institution', { hasText: institution });
    await expect(bank, `${institution} in the search results`);
    await shot('select-institution');
    await bank.click();

    await (await expect(frame.locator('#link-username'), 'the credentials screen')).fill(username);
    await frame.locator('#link-password').fill(password);
    await shot('credentials');
    await frame.locator('#link-submit-credentials').click();

    const account = frame.locator(`#link-accounts input[data-subtype="${subtype}"]`);
    await expect(frame.locator('#link-accounts'), 'the account selection');
    await account.check();
    await shot('select-account');
    await frame.locator('#link-accounts-continue').click();

    await expect(frame.locator('#link-connected'), 'the success screen');
    await shot('connected');
    await frame.locator('#link-connected-continue').click();

    await page.waitForFunction(() => window.__result || window.__exit, null, { timeout: STEP_TIMEOUT_MS });
    const outcome = await page.evaluate(() => ({ result: window.__result, exit: window.__exit, events: window.__events }));
    await shot('done');
    if (!outcome.result) throw new Error(`link: onExit instead of onSuccess: ${JSON.stringify(outcome.exit)}`);
    const frameGone = (await page.locator('iframe[title="Plaid Link"]').isVisible()) === false;
    if (!frameGone) throw new Error('link: the Link overlay is still shown after onSuccess');
    return {
      ok: true,
      publicToken: outcome.result.public_token,
      metadata: outcome.result.metadata,
      events: outcome.events.filter((e) => e.callback === 'onEvent').map((e) => ({ eventName: e.eventName, metadata: e.metadata })),
      callbacks: outcome.events.map((e) => e.callback),
      screenshots: shots,
    };
  } finally {
    await browser.close().catch(() => {});
    await host.close();
  }
}

/**
 * Opens Link for `linkToken`, logs in at First Platypus Bank with a wrong password, checks that
 * Link shows the error, then closes Link with its exit button. Returns {error, metadata,
 * events} of onExit and the onEvent calls.
 */
export async function exitLinkAfterWrongPassword(linkToken, { mxBase = process.env.MX_BASE_URL, host: hostPage = 'react', screenshotDir = null } = {}) {
  const linkScript = await (await fetch(`${mxBase}/link/v2/stable/link-initialize.js`)).text();
  const host = await startHostServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1000, height: 720 } })).newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.route(/^https:\/\/([a-z0-9-]+\.)*plaid\.com\//, (route) => route.abort());
    await page.route(CDN_SCRIPT, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: linkScript }));
    await page.goto(`${host.url}/${hostPage}.html?token=${encodeURIComponent(linkToken)}`);
    await page.locator('#connect:not([disabled])').click();
    const frame = page.frameLocator('iframe[title="Plaid Link"]');
    await frame.locator('#link-consent-continue').click();
    await frame.locator('button.institution', { hasText: 'First Platypus Bank' }).click();
    await frame.locator('#link-username').fill('user_good');
    await frame.locator('#link-password').fill('not-the-password');
    await frame.locator('#link-submit-credentials').click();
    const shown = await frame.locator('#link-error').innerText();
    if (screenshotDir) {
      await fs.mkdir(screenshotDir, { recursive: true });
      await page.screenshot({ path: path.join(screenshotDir, '01-invalid-credentials.png') });
    }
    await frame.locator('#link-exit').click();
    await page.waitForFunction(() => window.__exit, null, { timeout: STEP_TIMEOUT_MS });
    const outcome = await page.evaluate(() => ({ exit: window.__exit, events: window.__events }));
    return {
      shown,
      error: outcome.exit.error,
      metadata: outcome.exit.metadata,
      events: outcome.events.filter((e) => e.callback === 'onEvent').map((e) => ({ eventName: e.eventName, metadata: e.metadata })),
      overlayHidden: !(await page.locator('iframe[title="Plaid Link"]').isVisible()),
    };
  } finally {
    await browser.close().catch(() => {});
    await host.close();
  }
}

async function main(argv) {
  const args = { host: 'react', subtype: 'checking', screenshotDir: null, mxBase: process.env.MX_BASE_URL };
  let token = null;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--mx-base') args.mxBase = argv[++i];
    else if (a === '--host') args.host = argv[++i];
    else if (a === '--subtype') args.subtype = argv[++i];
    else if (a === '--screenshots') args.screenshotDir = argv[++i];
    else token = a;
  }
  try {
    if (!token) throw new Error('usage: complete_link.mjs <link-token> --mx-base <url> [--host react|plain] [--subtype checking|savings] [--screenshots DIR]');
    const result = await completeLink(token, args);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err.message || err) })}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
