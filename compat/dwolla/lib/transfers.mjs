// What the two Node transfer suites share (node-v2/transfers.test.mjs, typescript/transfers.test.mjs):
// money as integer cents, unique correlation ids, waiting for a webhook delivery that matches a
// predicate, and the checks every transfer response must pass on the wire. Nothing here talks to
// openiav.

import assert from 'node:assert/strict';
import { WEBHOOK_WAIT_MS } from './common.mjs';

/** Dwolla's description of R01 (dwolla-transfers-wire.md §6). */
export const R01_DESCRIPTION = 'Insufficient Funds';
export const INSUFFICIENT_FUNDS = 'Insufficient funds.';
export const TRANSFER_STATUSES = ['pending', 'processed', 'failed', 'cancelled'];
/** RFC 3339 with milliseconds and `Z`, as Dwolla writes `created` (the TS SDK needs Z or an offset). */
export const RFC3339_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

/** "12.34" → 1234. Fails on anything but a non-negative decimal with at most two places. */
export function cents(value) {
  assert.match(String(value), /^\d+(\.\d{1,2})?$/, `a decimal amount string (got ${JSON.stringify(value)})`);
  const [whole, frac = ''] = String(value).split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

/** 1234 → "12.34". */
export function dollars(c) {
  return `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
}

let counter = 0;
/** A correlationId unique to this run, in Dwolla's alphabet (a-Z, 0-9, `-`, `.`, `_`). */
export function correlationId(suite) {
  counter += 1;
  return `compat-${suite}-${process.pid}-${Date.now()}-${counter}`;
}

function parse(d) {
  try {
    return JSON.parse(d.body.toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * Waits (up to WEBHOOK_WAIT_MS) for a delivery whose parsed body satisfies `predicate`; returns
 * {delivery, body}. Fails with `what` and every topic the receiver did get.
 */
export async function waitForDelivery(receiver, what, predicate) {
  const deadline = Date.now() + WEBHOOK_WAIT_MS;
  for (;;) {
    for (const d of receiver.deliveries) {
      const body = parse(d);
      if (body && predicate(body)) return { delivery: d, body };
    }
    if (Date.now() > deadline) {
      const seen = receiver.deliveries.map((d) => {
        const b = parse(d);
        return b ? `${b.topic}(${b.resourceId}${b.correlationId ? `, ${b.correlationId}` : ''})` : 'unparsable';
      });
      assert.fail(`within ${WEBHOOK_WAIT_MS} ms no webhook ${what}; the receiver got ${seen.length}: [${seen.join(', ')}]`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The wire checks of one transfer body (GET /transfers/{id}, the raw JSON): id, a known status,
 * USD amount, `created` RFC 3339 with Z, every `_links` value an object with an href.
 */
export function assertTransferWire(body, id) {
  const text = JSON.stringify(body);
  assert.equal(body.id, id, `id in ${text}`);
  assert.ok(TRANSFER_STATUSES.includes(body.status), `a transfer status in ${text}`);
  assert.equal(typeof body.amount?.value, 'string', `amount.value is a string in ${text}`);
  assert.equal(String(body.amount?.currency).toUpperCase(), 'USD', `amount.currency in ${text}`);
  assert.match(String(body.created), RFC3339_Z, `created is RFC 3339 with Z in ${text}`);
  assert.ok(body._links && typeof body._links === 'object' && !Array.isArray(body._links), `_links in ${text}`);
  for (const [rel, link] of Object.entries(body._links)) {
    assert.ok(link && typeof link === 'object' && !Array.isArray(link), `_links.${rel} is an object in ${text}`);
    assert.equal(typeof link.href, 'string', `_links.${rel}.href in ${text}`);
  }
  if (body.processingChannel !== undefined) {
    assert.ok(['real-time-payments', 'fed-now'].includes(body.processingChannel.destination), `processingChannel in ${text}`);
  }
}
