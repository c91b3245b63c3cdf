// Verification without instant verification: micro-deposits, reached from the search step's
// "Connect with routing and account numbers" or by choosing an institution that does not
// support account verification (U.S. Bank). The API then lists the micro-deposit.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();
const ROUTING = '021000021';
const ACCOUNT = '1234567890';

async function fillAndSend(w, accountType) {
  await w.step('microdeposits', { heading: 'Enter your account details' });
  await w.frame.getByLabel('Routing number', { exact: true }).fill(ROUTING);
  await w.frame.getByLabel('Account number', { exact: true }).fill(ACCOUNT);
  const type = w.frame.getByLabel('Account type', { exact: true });
  const options = (await type.locator('option').allInnerTexts()).map((s) => s.trim());
  assert.ok(options.includes('Checking') && options.includes('Savings'), `Checking and Savings offered (${options})`);
  await type.selectOption({ label: accountType });
  await w.shot('microdeposits-filled');
  await w.button('Continue').click();
  await w.step('microdepositsSent', { heading: 'Check your bank account' });
  await w.button('Done').click();
  await w.shot('after-done');

  const deposits = await h.listMicroDeposits(w.user.guid);
  assert.equal(deposits.length, 1, `one micro-deposit (${JSON.stringify(deposits)})`);
  assert.equal(deposits[0].routing_number, ROUTING);
  assert.ok(String(deposits[0].account_number).endsWith(ACCOUNT.slice(-4)), 'the account number entered');
  assert.equal(deposits[0].account_type, accountType.toUpperCase());
  assert.deepEqual(await w.metadataOf('onMemberConnected'), [], 'no member connected');
  await w.finish();
}

describe('micro-deposits', () => {
  it('microdeposits from search', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'verification' });
    await w.step('search', { heading: 'Select your institution' });
    await w.button('Connect with routing and account numbers').click();
    await fillAndSend(w, 'Checking');
  });

  it('microdeposits for us bank', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'verification' });
    await w.step('search', { heading: 'Select your institution' });
    await w.choosePopular('U.S. Bank');
    await fillAndSend(w, 'Savings');
  });
});
