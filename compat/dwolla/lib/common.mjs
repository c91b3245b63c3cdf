// What the two Node suites (node-v2/ and typescript/) share: the environment run.sh sets, the
// flow state with its "blocked by an earlier step" guard, the webhook receiver and its checks.
// The SDK calls themselves live in each suite; nothing here talks to openiav.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run the suites through compat/dwolla/run.sh)`);
  return value;
}

/** The payments (Dwolla) listener, e.g. http://127.0.0.1:8081 (no trailing slash). */
export const BASE = env('DWOLLA_BASE_URL').replace(/\/+$/, '');
/** The aggregation (MX) listener, which serves the Connect widget. */
export const MX_BASE = env('MX_BASE_URL').replace(/\/+$/, '');
export const KEY = env('DWOLLA_KEY');
export const SECRET = env('DWOLLA_SECRET');
export const SCREENSHOT_ROOT = process.env.DWOLLA_SCREENSHOT_DIR || path.join(HERE, '..', 'artifacts', 'screenshots');
/** Dwolla's sandbox host, as the seed's sample code writes it into body hrefs. */
export const DWOLLA_SANDBOX = 'https://api-sandbox.dwolla.com';
export const WEBHOOK_WAIT_MS = Number(process.env.DWOLLA_WEBHOOK_WAIT_MS || 15000);
export const TEST_TIMEOUT_MS = 60000;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const FUNDING_SOURCE_TOPICS = ['customer_funding_source_added', 'customer_funding_source_verified'];

/** The id at the end of a Location or href. */
export function idOf(href) {
  return String(href).slice(String(href).lastIndexOf('/') + 1);
}

/** Asserts that `location` is `<BASE>/<collection>/<uuid>` and returns the uuid. */
export function assertLocation(location, collection) {
  assert.equal(typeof location, 'string', `a Location header (got ${JSON.stringify(location)})`);
  const prefix = `${BASE}/${collection}/`;
  assert.ok(location.startsWith(prefix), `Location ${location} starts with ${prefix}`);
  const id = location.slice(prefix.length);
  assert.match(id, UUID, `Location ${location} ends with a lower-case UUID`);
  return id;
}

let counter = 0;
/** A unique e-mail address for a customer of this run. */
export function uniqueEmail(suite) {
  counter += 1;
  return `compat-dwolla-${suite}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/**
 * The flow's state. `need(key)` returns a value an earlier step stored or throws, so that a step
 * whose prerequisite failed fails too (it is not skipped) and says which step blocked it.
 */
export function flowState() {
  const values = {};
  return {
    values,
    set(key, value) {
      values[key] = value;
      return value;
    },
    need(...keys) {
      const missing = keys.filter((k) => values[k] === undefined || values[k] === null);
      if (missing.length) throw new Error(`blocked: an earlier step did not produce ${missing.join(', ')}`);
      return keys.length === 1 ? values[keys[0]] : keys.map((k) => values[k]);
    },
  };
}

/** 32 random characters for a webhook subscription's secret. */
export function randomSecret() {
  return crypto.randomBytes(16).toString('hex');
}

/**
 * A webhook receiver on 127.0.0.1:<free port>. Every request is kept with its raw body bytes and
 * answered 200. Resolves to {url, deliveries, close()}; `url` is …/hook.
 */
export function startWebhookReceiver() {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({
        method: req.method,
        path: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        at: Date.now(),
      });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hook`,
        deliveries,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

function parseDelivery(d) {
  try {
    return JSON.parse(d.body.toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * Waits (up to WEBHOOK_WAIT_MS) until the receiver holds a delivery of each of `topics` about
 * `resourceId`. Returns those deliveries; fails with what did arrive.
 */
export async function waitForDeliveries(receiver, resourceId, topics = FUNDING_SOURCE_TOPICS) {
  const deadline = Date.now() + WEBHOOK_WAIT_MS;
  for (;;) {
    const found = topics.map((topic) =>
      receiver.deliveries.find((d) => {
        const b = parseDelivery(d);
        return b && b.topic === topic && b.resourceId === resourceId;
      }),
    );
    if (found.every(Boolean)) return found;
    if (Date.now() > deadline) {
      const seen = receiver.deliveries.map((d) => {
        const b = parseDelivery(d);
        return b ? `${b.topic}(${b.resourceId})` : `unparsable body ${JSON.stringify(d.body.toString('utf8').slice(0, 80))}`;
      });
      assert.fail(
        `within ${WEBHOOK_WAIT_MS} ms the receiver got no ${topics.filter((_, i) => !found[i]).join(' / ')} ` +
          `delivery for funding source ${resourceId}; it got ${receiver.deliveries.length} request(s): [${seen.join(', ')}]`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A webhook receiver subscribed through `client` (a dwolla-v2 Client) for one test file.
 * `close()` deletes the subscription and stops the receiver.
 */
export async function subscribedReceiver(client) {
  const receiver = await startWebhookReceiver();
  const secret = randomSecret();
  const sub = await client.post('webhook-subscriptions', { url: receiver.url, secret });
  const location = sub.headers.get('location');
  return {
    receiver,
    secret,
    close: async () => {
      await client.delete(location).catch(() => {});
      await receiver.close();
    },
  };
}

/** Waits for both funding-source webhooks about `fundingSourceId` and checks each is signed. */
export async function assertFundingSourceWebhooks(hooks, fundingSourceId) {
  const deliveries = await waitForDeliveries(hooks.receiver, fundingSourceId);
  for (const d of deliveries) assertSignedDelivery(d, hooks.secret);
}

/**
 * Checks one delivery: POST to /hook; X-Request-Signature-SHA-256 = lower-case hex
 * HMAC-SHA256(secret, raw body); X-Dwolla-Topic = body.topic; compact JSON with id, resourceId,
 * topic, created (RFC 3339) and _links.resource.href.
 */
export function assertSignedDelivery(d, secret) {
  const raw = d.body.toString('utf8');
  assert.equal(d.method, 'POST', 'webhooks are POSTed');
  assert.equal(d.path, '/hook', 'webhooks go to the subscription URL');
  const signature = d.headers['x-request-signature-sha-256'];
  const expected = crypto.createHmac('sha256', secret).update(d.body).digest('hex');
  assert.equal(signature, expected, `X-Request-Signature-SHA-256 is hex(HMAC-SHA256(secret, raw body)) for body ${raw}`);
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    assert.fail(`the webhook body is JSON: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  assert.equal(d.headers['x-dwolla-topic'], body.topic, 'X-Dwolla-Topic is the body topic');
  assert.equal(JSON.stringify(body), raw, 'the webhook body is compact JSON');
  assert.equal(typeof body.id, 'string', `body.id in ${raw}`);
  assert.ok(body.id.length > 0, 'body.id is not empty');
  assert.equal(typeof body.resourceId, 'string', `body.resourceId in ${raw}`);
  assert.equal(typeof body.topic, 'string', `body.topic in ${raw}`);
  assert.equal(typeof body.created, 'string', `body.created in ${raw}`);
  assert.ok(!Number.isNaN(Date.parse(body.created)) && /(Z|[+-]\d\d:\d\d)$/.test(body.created), `created is RFC 3339: ${body.created}`);
  assert.equal(typeof body?._links?.resource?.href, 'string', `body._links.resource.href in ${raw}`);
  assert.ok(body._links.resource.href.endsWith(`/${body.resourceId}`), '_links.resource.href ends with the resourceId');
  return body;
}
