// The end user's part of seed 000 (step 2): open the MX Connect widget URL that the exchange
// session handed out (`_links["external-provider-session"].href`) in a page that mounts it with
// MX's unmodified @mxenabled/web-widget-sdk 0.0.15, exactly as the seed's React snippet does
// (`new ConnectWidget({ container, url, onConnectedPrimaryAction })`), and click through it in
// Debian's Chromium (through playwright-core; no browser is downloaded):
//
//   search "MX Bank" → MX Bank → mxuser / password → Continue → (connecting) → first account →
//   Continue → Connected → Done → onConnectedPrimaryAction
//
// or, with `updateCredentials` (a re-authentication session's URL: `current_member_guid` +
// `update_credentials`), the widget opens straight at the member's credentials:
//
//   (MX Bank's credentials) mxuser / password → Continue → onUpdateCredentials → (connecting) →
//   the account chosen before (`account`, by its label; else the first) → Continue → Connected →
//   Done → onConnectedPrimaryAction
//
// One implementation for the three suites: the Node suites import completeWidget(); the Python
// suite runs this file as a subprocess:
//
//   node compat/dwolla/browser/complete_widget.mjs <widget-url> [--screenshots DIR]
//        [--update-credentials [--account LABEL]]
//
// which prints one JSON line ({"ok":true,…} or {"ok":false,"error":…}) and exits 0 or 1.
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), DWOLLA_STEP_TIMEOUT_MS (default 15000).
// The host page is host.html beside this file, served with the SDK's UMD build on a free port of
// its own origin (the same arrangement as compat/widget/host/).

import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const STEP_TIMEOUT_MS = Number(process.env.DWOLLA_STEP_TIMEOUT_MS || 15000);

/** The same flags as compat/widget (test/helpers.mjs). */
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

/** The SDK's self-contained UMD build (the package's `exports` name only CJS and ESM). */
export function sdkUmdPath() {
  const cjs = require.resolve('@mxenabled/web-widget-sdk'); // …/dist/cjs/index.js
  return path.join(path.dirname(cjs), '..', 'umd', 'index.js');
}

export function sdkVersion() {
  const cjs = require.resolve('@mxenabled/web-widget-sdk');
  return require(path.join(path.dirname(cjs), '..', '..', 'package.json')).version;
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The host page's server on 127.0.0.1:<free port>. Resolves to {url, close()}. */
export function startHostServer() {
  const server = http.createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url, 'http://host.invalid');
      if (pathname === '/' || pathname === '/index.html') {
        return send(res, 200, 'text/html; charset=utf-8', await fs.readFile(path.join(HERE, 'host.html')));
      }
      if (pathname === '/sdk.js') {
        return send(res, 200, 'text/javascript; charset=utf-8', await fs.readFile(sdkUmdPath()));
      }
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
 * Completes the widget at `url` as the end user. Returns
 * {ok: true, memberGuid, account, steps, callbacks, screenshots} or throws an Error whose message
 * says what the widget showed instead (and saves NN-FAILED-<what>.png).
 */
export async function completeWidget(
  url,
  { screenshotDir = null, username = 'mxuser', password = 'password', updateCredentials = false, account: wanted = null } = {},
) {
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
    if (screenshotDir) await fs.mkdir(screenshotDir, { recursive: true });

    const shot = async (label) => {
      if (!screenshotDir) return;
      n += 1;
      const file = path.join(screenshotDir, `${String(n).padStart(2, '0')}-${label}.png`);
      await page.screenshot({ path: file });
      shots.push(file);
    };
    const frame = page.frameLocator('iframe[data-test-id="mx-widget-iframe"]');
    const describe = async () => {
      if ((await page.locator('iframe[data-test-id="mx-widget-iframe"]').count().catch(() => 0)) === 0) {
        return 'no widget iframe in the host page';
      }
      const root = frame.locator('#mx-widget');
      if ((await root.count().catch(() => 0)) === 0) {
        const body = await frame.locator('body').innerText({ timeout: 1000 }).catch(() => '');
        return `no #mx-widget in the iframe; its text: ${JSON.stringify(norm(body).slice(0, 300))}`;
      }
      const step = await root.getAttribute('data-step', { timeout: 1000 }).catch(() => null);
      const h1 = await frame.locator('h1').first().innerText({ timeout: 1000 }).catch(() => '');
      const alerts = await frame.getByRole('alert').allInnerTexts().catch(() => []);
      return `data-step=${JSON.stringify(step)} h1=${JSON.stringify(norm(h1))} alerts=${JSON.stringify(alerts.map(norm).filter(Boolean))}`;
    };
    const expect = async (locator, what, state = 'visible') => {
      try {
        await locator.waitFor({ state, timeout: STEP_TIMEOUT_MS });
      } catch {
        const now = await describe();
        await shot(`FAILED-${what.replace(/[^A-Za-z0-9]+/g, '-')}`).catch(() => {});
        const events = await page.evaluate(() => window.__events.filter((e) => e.callback !== 'onMessage').map((e) => e.callback)).catch(() => []);
        const errors = pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : '';
        throw new Error(`widget: expected ${what} within ${STEP_TIMEOUT_MS} ms; the widget shows ${now}; page callbacks: [${events.join(', ')}]${errors}`);
      }
    };
    const step = async (name) => {
      await expect(frame.locator(`#mx-widget[data-step="${name}"]`), `step ${name}`, 'attached');
      await shot(name);
    };
    const button = (name) => frame.getByRole('button', { name, exact: true });

    const res = await page.goto(`${host.url}/?${new URLSearchParams({ url })}`);
    if (res.status() !== 200) throw new Error(`host page answered ${res.status()}`);

    if (!updateCredentials) {
      // search: type the institution's name, choose MX Bank
      await step('search');
      const search = frame.getByLabel('Search institutions');
      await expect(search, 'the institution search box');
      await search.click();
      await search.pressSequentially('MX Bank', { delay: 30 });
      await expect(button('MX Bank'), 'MX Bank among the search results');
      await shot('search-results');
      await button('MX Bank').click();
    }

    // credentials (in update-credentials mode the widget opens here, at the member's bank)
    await step('enterCreds');
    if (updateCredentials) {
      const h1 = norm(await frame.locator('h1').first().innerText());
      if (h1 !== 'MX Bank') throw new Error(`widget: update-credentials opened at ${JSON.stringify(h1)}, not MX Bank's credentials`);
    }
    await frame.getByLabel('Username', { exact: true }).fill(username);
    await frame.getByLabel('Password', { exact: true }).fill(password);
    await shot('enterCreds-filled');
    await button('Continue').click();

    // (connecting) → select the first account
    const select = frame.locator('#mx-widget[data-step="selectAccount"]');
    const connecting = frame.locator('#mx-widget[data-step="connecting"]');
    await expect(connecting.or(select).first(), 'connecting or account selection', 'attached');
    if ((await connecting.count()) > 0) await shot('connecting');
    await step('selectAccount');
    const radios = frame.getByRole('radio');
    await expect(radios.first(), 'an account to choose');
    const first = wanted ? frame.getByRole('radio', { name: wanted, exact: true }) : radios.first();
    await expect(first, `the account ${JSON.stringify(wanted || 'first')} to choose`);
    const account = await first.evaluate((el) =>
      (el.labels && el.labels[0] ? el.labels[0].innerText : el.getAttribute('aria-label') || '').trim(),
    );
    await first.check();
    await shot('selectAccount-chosen');
    await button('Continue').click();

    // connected → Done → onConnectedPrimaryAction (the page unmounts the widget)
    await step('connected');
    await button('Done').click();
    try {
      await page.waitForFunction(() => window.__primaryAction === true, null, { timeout: STEP_TIMEOUT_MS });
    } catch {
      const now = await describe();
      await shot('FAILED-onConnectedPrimaryAction').catch(() => {});
      throw new Error(`widget: Done did not fire onConnectedPrimaryAction within ${STEP_TIMEOUT_MS} ms; the widget shows ${now}`);
    }
    await shot('after-done');

    const events = await page.evaluate(() => window.__events);
    const invalid = events.filter((e) => e.callback === 'onInvalidMessageError');
    if (invalid.length) throw new Error(`widget: onInvalidMessageError fired: ${JSON.stringify(invalid)}`);
    const connected = events.find((e) => e.callback === 'onMemberConnected');
    const updated = events.find((e) => e.callback === 'onUpdateCredentials');
    if (updateCredentials && !(updated && updated.metadata && updated.metadata.member_guid)) {
      throw new Error(`widget: no onUpdateCredentials with a member_guid; callbacks: ${events.map((e) => e.callback).join(', ')}`);
    }
    const steps = events.filter((e) => e.callback === 'onStepChange').map((e) => e.metadata && e.metadata.current);
    return {
      ok: true,
      memberGuid: connected && connected.metadata ? connected.metadata.member_guid : null,
      updatedMemberGuid: updated && updated.metadata ? updated.metadata.member_guid : null,
      account: norm(account),
      steps,
      callbacks: events.filter((e) => e.callback !== 'onMessage').map((e) => e.callback),
      screenshots: shots,
      sdk: sdkVersion(),
    };
  } finally {
    await browser.close().catch(() => {});
    await host.close();
  }
}

// --- command line (used by the Python suite) -------------------------------------------------
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const valued = ['--screenshots', '--account'];
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const url = args.find((a, i) => !a.startsWith('--') && (i === 0 || !valued.includes(args[i - 1])));
  if (!url) {
    console.error('usage: node complete_widget.mjs <widget-url> [--screenshots DIR] [--update-credentials [--account LABEL]]');
    process.exit(2);
  }
  try {
    const result = await completeWidget(url, {
      screenshotDir: opt('--screenshots') || null,
      updateCredentials: args.includes('--update-credentials'),
      account: opt('--account') || null,
    });
    console.log(JSON.stringify(result));
    process.exit(0);
  } catch (err) {
    console.log(JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) }));
    process.exit(1);
  }
}
