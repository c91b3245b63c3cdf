// Products: a widget URL whose data_request.products names statements or investments offers only
// institutions that support them (MX Bank yes, Chase no), and MX Bank connected with investments
// requested has holdings through the API.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

/** Types `text` into the institution search. */
async function search(w, text) {
  const box = w.frame.getByLabel('Search institutions');
  await box.click();
  await box.fill('');
  await box.pressSequentially(text, { delay: 30 });
}

/** On the search step: Chase (no statements, no investments) is never offered, MX Bank is. */
async function offersOnlySupportingBanks(w, product) {
  await w.step('search', { heading: 'Select your institution', shot: `search-${product}` });
  await w.expect(w.button('Chase'), `Chase is not offered for ${product}`, { state: 'hidden' });
  await search(w, 'Chase');
  await w.page.waitForTimeout(500);
  await w.expect(w.button('Chase'), `Chase is not found for ${product}`, { state: 'hidden' });
  await w.shot(`search-chase-${product}`);
  await search(w, 'MX Bank');
  await w.expect(w.button('MX Bank'), `MX Bank among the results for ${product}`);
}

describe('requested products', () => {
  it('statements widget offers only institutions with statements', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { data_request: { products: ['statements'] } });
    await offersOnlySupportingBanks(w, 'statements');
    await w.finish();
  });

  it('investments widget offers only institutions with investments and gathers holdings', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { data_request: { products: ['investments'] } });
    await offersOnlySupportingBanks(w, 'investments');
    await w.button('MX Bank').click();
    await w.enterCredentials('mxuser', 'password');
    await w.step('connected', { heading: 'Connected' });
    const memberGuid = await h.assertConnected(w);
    await h.pressDone(w);
    await w.finish();

    const res = await h.api('GET', `/users/${w.user.guid}/members/${memberGuid}/investment_holdings`);
    assert.equal(res.status, 200, res.text);
    const holdings = res.body.investment_holdings;
    assert.ok(holdings.length >= 3, res.text);
    for (const x of holdings) assert.match(x.guid, /^HOL-/);
    const account = await h.readAccount(w.user.guid, holdings[0].account_guid);
    assert.equal(account.type, 'INVESTMENT');
    const total = holdings.reduce((sum, x) => sum + Math.round(x.market_value * 100), 0);
    assert.equal(total, Math.round(account.balance * 100), 'market values add up to the balance');
  });
});
