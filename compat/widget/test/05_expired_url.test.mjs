// Widget URLs are single use: the second load of a URL shows "This link has expired", and a
// direct GET of a used URL answers 410.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

describe('widget URL', () => {
  it('reused url', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'aggregation' });
    await w.step('search', { heading: 'Select your institution', shot: 'first-use' });
    await w.waitForCallback('onLoaded');
    await w.finish();

    // The same URL again, in a new host page.
    const again = await w.openHost({ url: w.url });
    await w.expect(w.heading('This link has expired'), 'the expired page in the iframe');
    await w.shot('second-use');
    assert.deepEqual(await w.invalid(), [], 'onInvalidMessageError never fires');
    assert.deepEqual(
      (await w.callbacks()).filter((e) => e.callback === 'onMemberConnected'),
      [],
      'no flow on the expired page',
    );
    await again.close();

    const res = await fetch(w.url);
    assert.equal(res.status, 410, 'a used widget URL answers 410');
    assert.match(await res.text(), /This link has expired/);
  });

  it('unknown token', { timeout: h.TEST_TIMEOUT_MS }, async () => {
    const res = await fetch(`${h.BASE}/md/connect/not-a-real-token`);
    assert.ok([404, 410].includes(res.status), `an unknown token is refused (HTTP ${res.status})`);
  });
});
