// The harness every TypeScript-SDK suite shares: an HTTP client that logs the wire (for failure
// messages) and keeps raw GET bodies (for byte checks), and the assertions on SDK calls and errors.

import assert from 'node:assert/strict';
import * as errors from 'dwolla/models/errors';
import { HTTPClient } from 'dwolla/lib/http.js';

/** A fresh wire log, raw-body map and the helpers that read them. */
export function sdkHarness() {
  const wire = [];
  const rawBodies = new Map();

  function loggingClient() {
    const client = new HTTPClient();
    client.addHook('response', async (res, req) => {
      const text = await res.clone().text().catch(() => '');
      wire.push(`${req.method} ${req.url} → ${res.status} [${res.headers.get('content-type') || 'no content-type'}] ${text.slice(0, 600)}`);
      if (wire.length > 50) wire.shift();
      if (req.method === 'GET') rawBodies.set(new URL(req.url).pathname, text);
    });
    return client;
  }

  function errorText(err) {
    const parts = [`${err && err.constructor ? err.constructor.name : typeof err}: ${err && err.message}`];
    if (err && err.cause) parts.push(`cause: ${err.cause.message || err.cause}`);
    if (err && err.rawValue !== undefined) parts.push(`raw value: ${JSON.stringify(err.rawValue).slice(0, 600)}`);
    return parts.join('; ');
  }

  /** Awaits an SDK call; a throw becomes a failure with the call, the SDK's error and the wire. */
  async function sdk(what, promise) {
    const mark = wire.length;
    try {
      return await promise;
    } catch (err) {
      const seen = wire.slice(mark);
      throw new assert.AssertionError({
        message: `${what} threw ${errorText(err)}\n  server answered: ${seen.length ? seen.join('\n  ') : '(no HTTP response)'}`,
      });
    }
  }

  /** The error an SDK call throws; fails if it resolves. */
  async function sdkError(what, promise) {
    let value;
    try {
      value = await promise;
    } catch (err) {
      return err;
    }
    assert.fail(`${what}: expected an error, got ${JSON.stringify(value)}`);
  }

  /**
   * Checks a thrown HTTP error: one of the SDK's typed errors, or APIError (both extend DwollaError;
   * a ResponseValidationError means the error body did not match the SDK's schema) with `status`
   * and body code `code`. Returns the parsed body.
   */
  function assertHttpError(t, err, status, code) {
    t.diagnostic(`${status} ${code} arrived as ${err && err.constructor ? err.constructor.name : typeof err}`);
    assert.ok(err instanceof errors.DwollaError, `an SDK HTTP error (DwollaError), got ${errorText(err)}\n  wire: ${wire.slice(-1)}`);
    assert.ok(!(err instanceof errors.ResponseValidationError), `the error body matches the SDK's error schema: ${errorText(err)}`);
    assert.equal(err.statusCode, status, `${errorText(err)}`);
    let body;
    try {
      body = JSON.parse(err.body);
    } catch {
      assert.fail(`the error body is JSON: ${err.body}`);
    }
    assert.equal(body.code, code, `body code in ${err.body}`);
    assert.match(err.contentType, /^application\/vnd\.dwolla\.v1\.hal\+json/, 'errors are served with the HAL media type');
    return body;
  }

  function location(res, what) {
    const loc = res && res.headers && res.headers.location;
    assert.ok(Array.isArray(loc) && loc.length === 1, `${what}: headers.location[0] (got ${JSON.stringify(res)})`);
    return loc[0];
  }

  return { wire, rawBodies, loggingClient, errorText, sdk, sdkError, assertHttpError, location };
}
