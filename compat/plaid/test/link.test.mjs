// Link completed in Chromium from two front ends written for Plaid: react-plaid-link's
// usePlaidLink and a plain Plaid.create page, each with Plaid's CDN script answered by
// openiav's. Both end in onSuccess with a public token and Plaid's metadata shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { completeLink, exitLinkAfterWrongPassword } from '../complete_link.mjs';
import { dwolla } from './dwolla.mjs';

const SHOTS = process.env.PLAID_SCREENSHOT_DIR || null;

function assertSuccessShape(result, linkSessionEvents) {
  assert.match(result.publicToken, /^public-sandbox-[0-9a-f-]{36}$/);
  const m = result.metadata;
  assert.deepEqual(m.institution, { name: 'First Platypus Bank', institution_id: 'ins_109508' });
  assert.equal(m.accounts.length, 1);
  const [account] = m.accounts;
  assert.deepEqual(
    { name: account.name, mask: account.mask, type: account.type, subtype: account.subtype, verification_status: account.verification_status },
    { name: 'Plaid Checking', mask: '0000', type: 'depository', subtype: 'checking', verification_status: null },
  );
  assert.equal(m.account_id, account.id);
  assert.ok(m.link_session_id);
  const names = linkSessionEvents.map((e) => e.eventName);
  for (const name of ['OPEN', 'TRANSITION_VIEW', 'SELECT_INSTITUTION', 'SUBMIT_CREDENTIALS', 'HANDOFF']) {
    assert.ok(names.includes(name), `${name} in ${names}`);
  }
  assert.equal(names.at(-1), 'HANDOFF');
  const views = linkSessionEvents.filter((e) => e.eventName === 'TRANSITION_VIEW').map((e) => e.metadata.view_name);
  assert.deepEqual(views, ['CONSENT', 'SELECT_INSTITUTION', 'CREDENTIAL', 'SELECT_ACCOUNT', 'CONNECTED']);
  for (const e of linkSessionEvents) {
    assert.equal(e.metadata.link_session_id, m.link_session_id, e.eventName);
    assert.ok(e.metadata.timestamp && e.metadata.request_id, e.eventName);
  }
  const selected = linkSessionEvents.find((e) => e.eventName === 'SELECT_INSTITUTION');
  assert.equal(selected.metadata.institution_id, 'ins_109508');
}

test('react-plaid-link usePlaidLink completes Link and calls onSuccess', async () => {
  const d = await dwolla();
  const token = await d.linkToken();
  const result = await completeLink(token, { host: 'react', screenshotDir: SHOTS && path.join(SHOTS, 'react') });
  assertSuccessShape(result, result.events);
});

test('a plain Plaid.create page completes Link and calls onSuccess', async () => {
  const d = await dwolla();
  const token = await d.linkToken();
  const result = await completeLink(token, { host: 'plain', screenshotDir: SHOTS && path.join(SHOTS, 'plain') });
  assert.equal(result.callbacks[0], 'onLoad');
  assertSuccessShape(result, result.events);
});

test('a wrong password shows INVALID_CREDENTIALS, reports it in ERROR, and Exit calls onExit with it', async () => {
  const d = await dwolla();
  const token = await d.linkToken();
  const r = await exitLinkAfterWrongPassword(token, { host: 'react', screenshotDir: SHOTS && path.join(SHOTS, 'exit') });
  assert.match(r.shown, /credentials were not correct/);
  const error = r.events.find((e) => e.eventName === 'ERROR');
  assert.ok(error, `ERROR in ${r.events.map((e) => e.eventName)}`);
  assert.deepEqual(
    { code: error.metadata.error_code, type: error.metadata.error_type, message: error.metadata.error_message, view: error.metadata.view_name },
    { code: 'INVALID_CREDENTIALS', type: 'ITEM_ERROR', message: 'the provided credentials were not correct', view: 'CREDENTIAL' },
  );
  const exit = r.events.find((e) => e.eventName === 'EXIT');
  assert.equal(exit.metadata.exit_status, 'requires_credentials');
  assert.equal(r.error.error_code, 'INVALID_CREDENTIALS');
  assert.equal(r.error.error_type, 'ITEM_ERROR');
  assert.deepEqual(r.metadata.institution, { name: 'First Platypus Bank', institution_id: 'ins_109508' });
  assert.equal(r.metadata.status, 'requires_credentials');
  assert.ok(r.metadata.link_session_id && r.metadata.request_id);
  assert.ok(r.overlayHidden, 'Exit closes the overlay');
});
