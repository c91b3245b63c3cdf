// Verification mode (IAV), end to end: search "MX Bank" by typing, mxuser/password, connecting,
// pick the first account, connected, Done. Then the API lists the member CONNECTED and releases
// exactly the chosen account's numbers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './helpers.mjs';

const env = h.setup();

describe('verification mode', () => {
  it('verification flow', { timeout: h.TEST_TIMEOUT_MS }, async (t) => {
    const w = await env.widget(t, { mode: 'verification' });

    // search
    await w.step('search', { heading: 'Select your institution' });
    const loaded = await w.waitForCallback('onLoaded');
    assert.equal(loaded[0].initial_step, 'search');
    await w.expect(w.button('Connect with routing and account numbers'), 'the micro-deposit entry on the search step');
    await w.expect(w.button('Chase'), 'popular institutions');

    const search = w.frame.getByLabel('Search institutions');
    await search.click();
    await search.pressSequentially('MX Bank', { delay: 40 });
    await w.expect(w.button('Chase'), 'Chase filtered out by the search', { state: 'hidden' });
    await w.expect(w.button('MX Bank'), 'MX Bank among the results');
    await w.expect(w.button('MX Bank (OAuth)'), 'MX Bank (OAuth) among the results');
    await w.shot('search-results');
    await w.button('MX Bank').click();

    // enterCreds → connecting
    await w.enterCredentials('mxuser', 'password');
    await w.step('connecting', { heading: 'Connecting to MX Bank' });
    await w.expect(w.frame.getByRole('status'), 'a role=status element while connecting');

    // selectAccount: the first account
    await w.step('selectAccount', { heading: 'Select your account' });
    const radios = w.frame.getByRole('radio');
    assert.ok((await radios.count()) >= 1, 'accounts to choose from');
    const first = radios.first();
    const chosenLabel = await first.evaluate(
      (el) => (el.labels && el.labels[0] ? el.labels[0].innerText : el.getAttribute('aria-label') || '').trim(),
    );
    assert.ok(chosenLabel, 'the account radio has a label');
    await first.check();
    await w.shot('selectAccount-chosen');
    assert.deepEqual(await w.metadataOf('onSubmitMFA'), [], 'no onSubmitMFA before the account is chosen');
    await w.button('Continue').click();

    // connected → Done
    await w.step('connected', { heading: 'Connected' });
    const memberGuid = await h.assertConnected(w);
    const submitted = await w.waitForCallback('onSubmitMFA');
    assert.equal(submitted[0].member_guid, memberGuid, 'onSubmitMFA after choosing the account');
    await h.pressDone(w);

    // Callbacks
    const inst = await h.assertInstitutionEvents(w, 'mxbank');
    const creds = await w.metadataOf('onEnterCredentials');
    assert.equal(creds.length, 1, 'onEnterCredentials fires once');
    assert.deepEqual(creds[0].institution, { code: inst.code, guid: inst.guid });
    const order = (await w.callbacks()).map((e) => e.callback);
    const at = (name) => order.indexOf(name);
    assert.ok(at('onLoaded') < at('onSelectedInstitution'), `loaded before selectedInstitution (${order})`);
    assert.ok(at('onSelectedInstitution') < at('onEnterCredentials'), `selectedInstitution before enterCredentials (${order})`);
    assert.ok(at('onEnterCredentials') < at('onMemberStatusUpdate'), `enterCredentials before memberStatusUpdate (${order})`);
    assert.ok(at('onSubmitMFA') < at('onMemberConnected'), `submitMFA before memberConnected (${order})`);
    assert.ok(at('onMemberConnected') < at('onConnectedPrimaryAction'), `memberConnected before primaryAction (${order})`);
    assert.ok(order.includes('onStepChange'), 'onStepChange fired');
    await w.finish();

    // API: only the chosen account's numbers are released.
    const numbers = await h.listAccountNumbers(w.user.guid, memberGuid);
    assert.equal(numbers.length, 1, `exactly one account number (${JSON.stringify(numbers)})`);
    assert.match(numbers[0].routing_number, /^\d{9}$/);
    assert.match(numbers[0].account_number, /^\d+$/);
    const account = await h.readAccount(w.user.guid, numbers[0].account_guid);
    assert.ok(
      chosenLabel.includes(account.name),
      `the released account (${account.name}) is the chosen one (${JSON.stringify(chosenLabel)})`,
    );
  });
});
