// The end user's part of the Visa flow (Dwolla's open-banking/visa guide): a host app whose
// `/create-funding-source` path is the session's redirect URL (REDIRECT_URL of Dwolla's Visa sample
// app), and Debian's Chromium (through playwright-core; no browser is downloaded) sent to the
// exchange session's `_links["external-provider-session"].href`:
//
//   choose a bank → username / password → Allow → choose an account → Connect account
//     → Dwolla's /redirect/tink → the host's /create-funding-source?exchange=<id>
//
// or, for the failing test users and Cancel, → /create-funding-source?error=<CODE>.
//
// One implementation for both suites: node-v2/visa.test.mjs imports completeVisa(); the Python
// suite runs this file as a subprocess:
//
//   node compat/dwolla/browser/visa_bank.mjs <bank-page-url> [--username U] [--password P]
//        [--account NAME] [--cancel-at bank|login|consent|account] [--screenshots DIR]
//
// which prints one JSON line ({"ok":true,"landed":…,"exchange":…,"error":…} or
// {"ok":false,"error":…}) and exits 0 or 1.
//
// Environment: VISA_REDIRECT_URL (the redirect URL run.sh configured for the sandbox tenant, whose
// port the host app listens on), CHROMIUM_PATH (default /usr/bin/chromium),
// DWOLLA_STEP_TIMEOUT_MS (default 15000).

import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT_MS } from './complete_widget.mjs';

/** The redirect URL the sandbox tenant allows for Visa sessions. */
export const REDIRECT_URL = process.env.VISA_REDIRECT_URL || '';

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/**
 * The host app on REDIRECT_URL's port: its redirect path answers a page naming what it landed
 * with (the sample app would create the funding source there). Resolves to {landings, close()}.
 */
export function startHostApp() {
  if (!REDIRECT_URL) throw new Error('VISA_REDIRECT_URL must be set (run the suites through compat/dwolla/run.sh)');
  const target = new URL(REDIRECT_URL);
  const landings = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, REDIRECT_URL);
    if (url.pathname !== target.pathname) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found\n');
    }
    landings.push(url.href);
    const exchange = url.searchParams.get('exchange');
    const error = url.searchParams.get('error');
    const text = exchange ? `Bank connected: exchange ${exchange}` : `The bank connection ended: ${error}`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    return res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Create funding source</title>` +
        `<style>body{font-family:system-ui,sans-serif;margin:3rem}</style></head><body>` +
        `<h1 id="landed" data-exchange="${escapeHtml(exchange || '')}" data-error="${escapeHtml(error || '')}">` +
        `${escapeHtml(text)}</h1></body></html>`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(target.port), target.hostname, () =>
      resolve({
        landings,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      }),
    );
  });
}

const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

/**
 * Works the bank page at `url` as the end user and waits to land on the redirect URL. Returns
 * {ok: true, landed, exchange, error, screenshots} or throws an Error that says what the page
 * showed instead (and saves NN-FAILED-<what>.png).
 */
export async function completeVisa(
  url,
  { screenshotDir = null, username = 'u51613239', password = 'cty440', bank = 'Visa Demo Bank', account = null, cancelAt = null } = {},
) {
  const host = await startHostApp();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const shots = [];
  let n = 0;
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 760 } });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    if (screenshotDir) await fs.mkdir(screenshotDir, { recursive: true });
    const shot = async (label) => {
      if (!screenshotDir) return;
      n += 1;
      const file = path.join(screenshotDir, `${String(n).padStart(2, '0')}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true });
      shots.push(file);
    };
    const step = async (name) => {
      const frame = page.locator(`.frame[data-step="${name}"]`);
      try {
        await frame.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
      } catch {
        const now = await page.locator('.frame').getAttribute('data-step', { timeout: 1000 }).catch(() => null);
        const h1 = await page.locator('h1').first().innerText({ timeout: 1000 }).catch(() => '');
        await shot(`FAILED-${name}`).catch(() => {});
        throw new Error(`bank page: expected step ${name}; it shows data-step=${JSON.stringify(now)} h1=${JSON.stringify(norm(h1))} at ${page.url()}`);
      }
      await shot(name);
    };
    const button = (name) => page.getByRole('button', { name, exact: true });
    const cancel = async (at) => {
      if (cancelAt !== at) return false;
      await button('Cancel').click();
      return true;
    };
    const landed = async () => {
      const prefix = REDIRECT_URL;
      await page.waitForURL((u) => u.href.startsWith(prefix), { timeout: STEP_TIMEOUT_MS });
      await page.locator('#landed').waitFor({ state: 'visible' });
      await shot('landed');
      const href = page.url();
      const q = new URL(href).searchParams;
      return { ok: true, landed: href, exchange: q.get('exchange'), error: q.get('error'), screenshots: shots };
    };

    const res = await page.goto(url);
    if (res.status() !== 200) throw new Error(`the bank page answered ${res.status()}: ${norm(await res.text()).slice(0, 200)}`);
    await step('bank');
    if (await cancel('bank')) return await landed();
    await button(bank).click();

    await step('login');
    if (await cancel('login')) return await landed();
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await shot('login-filled');
    await button('Log in').click();

    // A failing test user goes straight back to the app with the bank's error.
    const consent = page.locator('.frame[data-step="consent"]');
    const back = page.locator('#landed');
    await consent.or(back).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS }).catch(() => {});
    if ((await back.count()) > 0) return await landed();
    await step('consent');
    if (await cancel('consent')) return await landed();
    await button('Allow').click();

    await step('account');
    if (await cancel('account')) return await landed();
    const choice = account ? page.getByRole('radio', { name: new RegExp(account) }) : page.getByRole('radio').first();
    await choice.check();
    await shot('account-chosen');
    await button('Connect account').click();
    return await landed();
  } finally {
    await browser.close().catch(() => {});
    await host.close();
  }
}

// --- command line (the Python suite) --------------------------------------------------------
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const url = args.shift();
  const options = {};
  const names = { '--username': 'username', '--password': 'password', '--account': 'account', '--cancel-at': 'cancelAt', '--screenshots': 'screenshotDir', '--bank': 'bank' };
  while (args.length) {
    const flag = args.shift();
    if (!names[flag] || !args.length) {
      console.log(JSON.stringify({ ok: false, error: `unknown or incomplete option ${flag}` }));
      process.exit(1);
    }
    options[names[flag]] = args.shift();
  }
  try {
    console.log(JSON.stringify(await completeVisa(url, options)));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) }));
    process.exit(1);
  }
}
