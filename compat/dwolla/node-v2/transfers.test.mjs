// Transfers with Dwolla's Node SDK `dwolla-v2` 3.4.2, unchanged except for its URLs: the MX flow
// (widget in Chromium) to a customer's verified bank, then
//   (1) $1.00 from that bank to the account's balance (GET /accounts/{id}/funding-sources), with a
//       correlationId → POST /sandbox-simulations → processed, the balance up $1.00, and the signed
//       completed webhooks carrying the correlationId; metadata on a transfer that touches a balance
//       is refused ("Metadata not supported for this type of transfer.");
//   (3) a pending bank → bank transfer with metadata cancelled, the customer's transfers listed with
//       filters, the fees of a
//       transfer with a facilitator fee, and a balance-sourced transfer refused with
//       "Insufficient funds.";
//   (2) the bank renamed R01 → a transfer fails at the next simulation, the failed webhook, and
//       GET /transfers/{id}/failure → R01 "Insufficient Funds".
// The calls are the ones Dwolla's docs write for this SDK: dwolla.post('transfers', body,
// {'Idempotency-Key': …}) and res.headers.get('location'), dwolla.post(transferUrl, {status:
// 'cancelled'}), dwolla.get(`${transferUrl}/failure`) and so on.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import dwollaV2 from 'dwolla-v2';
import { completeWidget } from '../browser/complete_widget.mjs';
import * as c from '../lib/common.mjs';
import * as t from '../lib/transfers.mjs';

const { Client } = dwollaV2;
const SUITE = 'node-v2';

const dwolla = new Client({ key: c.KEY, secret: c.SECRET, environment: 'sandbox' });
dwolla.apiUrl = c.BASE;
dwolla.tokenUrl = `${c.BASE}/token`;

const state = c.flowState();
let hooks = null;

const describeError = (err) => `${err.status} ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}`;
function explain(promise, request) {
  return promise.catch((err) => {
    const answer = err && err.status ? describeError(err) : String(err);
    throw new assert.AssertionError({ message: `${request} → ${answer}` });
  });
}
const api = {
  get: (p, q) => explain(dwolla.get(p, q), `GET ${p}${q ? ` ${JSON.stringify(q)}` : ''}`),
  post: (p, body, headers) => explain(dwolla.post(p, body, headers), `POST ${p} ${JSON.stringify(body)}`),
};

async function rejection(promise, what) {
  try {
    const res = await promise;
    assert.fail(`${what}: expected an error, the server answered ${res.status} ${JSON.stringify(res.body)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof Error, `${what}: dwolla-v2 rejects with an Error (got ${err})`);
    assert.equal(typeof err.status, 'number', `${what}: the error carries .status (${err.message})`);
    return err;
  }
}

const href = (p) => `${c.BASE}/${p}`;

/** POST /transfers with an Idempotency-Key; returns the new transfer's id (from Location). */
async function createTransfer(body) {
  const res = await api.post('transfers', body, { 'Idempotency-Key': crypto.randomUUID() });
  assert.equal(res.status, 201);
  assert.equal(res.body, '', `POST /transfers answers 201 with an empty body (got ${JSON.stringify(res.body)})`);
  return c.assertLocation(res.headers.get('location'), 'transfers');
}

/** GET /transfers/{id}, checked on the wire. */
async function getTransfer(id) {
  const res = await api.get(`transfers/${id}`);
  assert.equal(res.status, 200);
  t.assertTransferWire(res.body, id);
  return res.body;
}

/** The available balance of the account's balance funding source, in cents. */
async function accountBalanceCents() {
  const balanceId = state.need('accountBalanceId');
  const res = await api.get(`funding-sources/${balanceId}/balance`);
  assert.equal(res.status, 200);
  for (const key of ['_links', 'balance', 'total', 'lastUpdated']) assert.ok(res.body[key] !== undefined, `${key} in ${JSON.stringify(res.body)}`);
  assert.equal(res.body.balance.currency, 'USD', JSON.stringify(res.body));
  return t.cents(res.body.balance.value);
}

function bankToAccountBalance(amount, extra = {}) {
  const [bankId, balanceId] = state.need('bankId', 'accountBalanceId');
  return {
    _links: { source: { href: `${c.DWOLLA_SANDBOX}/funding-sources/${bankId}` }, destination: { href: `${c.DWOLLA_SANDBOX}/funding-sources/${balanceId}` } },
    amount: { currency: 'USD', value: amount },
    ...extra,
  };
}

describe('dwolla-v2 3.4.2: transfers', { timeout: 300000 }, () => {
  before(async () => {
    hooks = await c.subscribedReceiver(dwolla);
  });
  after(async () => {
    if (hooks) await hooks.close();
  });

  it('set-up: a customer and its verified bank through MX (widget in Chromium)', { timeout: 120000 }, async () => {
    const created = await api.post('customers', { firstName: 'Tess', lastName: 'Transfer', email: c.uniqueEmail(`${SUITE}-transfers`) });
    const customerId = state.set('customerId', c.assertLocation(created.headers.get('location'), 'customers'));
    const partners = (await api.get('/exchange-partners')).body._embedded['exchange-partners'];
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    assert.ok(mx, `MX among ${partners.map((p) => p.name).join(', ')}`);
    const partnerHref = `${c.DWOLLA_SANDBOX}/exchange-partners/${mx.id}`;
    const session = await api.post(`customers/${customerId}/exchange-sessions`, { _links: { 'exchange-partner': { href: partnerHref } } });
    const widgetUrl = (await api.get(session.headers.get('location'))).body._links['external-provider-session'].href;
    const widget = await completeWidget(widgetUrl, { screenshotDir: path.join(c.SCREENSHOT_ROOT, `${SUITE}-transfers`) });
    const connections = (await api.get(`/customers/${customerId}/available-exchange-connections`)).body._embedded['available-exchange-connections'];
    const connection = connections.find((a) => a.name === widget.account) || connections[0];
    const exchange = await api.post(`customers/${customerId}/exchanges`, {
      _links: { 'exchange-partner': { href: partnerHref } },
      mx: { availableConnectionToken: connection.availableConnectionToken },
    });
    const exchangeId = c.assertLocation(exchange.headers.get('location'), 'exchanges');
    const fs = await api.post(`customers/${customerId}/funding-sources`, {
      _links: { exchange: { href: `${c.DWOLLA_SANDBOX}/exchanges/${exchangeId}` } },
      bankAccountType: 'checking',
      name: 'Tess Checking',
    });
    const bankId = c.assertLocation(fs.headers.get('location'), 'funding-sources');
    const bank = await api.get(`funding-sources/${bankId}`);
    assert.equal(bank.body.status, 'verified', JSON.stringify(bank.body));
    state.set('bankId', bankId);
  });

  it('the account: GET / → _links.account; GET /accounts/{id}; its funding sources hold a balance', async () => {
    const root = await api.get('/');
    const accountHref = root.body._links?.account?.href;
    assert.equal(typeof accountHref, 'string', `_links.account in GET / ${JSON.stringify(root.body)}`);
    const accountId = c.idOf(accountHref);
    const account = await api.get(accountHref);
    assert.equal(account.status, 200);
    assert.equal(account.body.id, accountId, JSON.stringify(account.body));
    assert.equal(account.body._links?.self?.href, href(`accounts/${accountId}`), JSON.stringify(account.body));
    const list = await api.get(`accounts/${accountId}/funding-sources`, { removed: false });
    const sources = list.body._embedded?.['funding-sources'];
    assert.ok(Array.isArray(sources), `_embedded.funding-sources in ${JSON.stringify(list.body)}`);
    const balance = sources.find((s) => s.type === 'balance');
    assert.ok(balance, `a balance among the account's funding sources ${JSON.stringify(sources)}`);
    assert.equal(balance.status, 'verified', JSON.stringify(balance));
    assert.equal(balance._links?.balance?.href, href(`funding-sources/${balance.id}/balance`), JSON.stringify(balance));
    state.set('accountId', accountId);
    state.set('accountBalanceId', balance.id);
    const bank = sources.find((s) => s.type === 'bank' && s.status === 'verified');
    assert.ok(bank, `a verified bank among the account's funding sources ${JSON.stringify(sources)}`);
    state.set('accountBankId', bank.id);
    state.set('balanceBefore', await accountBalanceCents());
  });

  it('(1) POST /transfers $1.00 bank → account balance, with a correlationId → 201; GET → pending', async () => {
    const [customerId, accountId, bankId, balanceId] = state.need('customerId', 'accountId', 'bankId', 'accountBalanceId');
    const correlationId = state.set('correlationId', t.correlationId(SUITE));
    const id = await createTransfer(bankToAccountBalance('1.00', { correlationId }));
    state.set('transferId', id);
    const body = await getTransfer(id);
    assert.equal(body.status, 'pending');
    assert.deepEqual(body.amount, { value: '1.00', currency: 'USD' });
    assert.equal(body.correlationId, correlationId);
    assert.equal(body._links.self.href, href(`transfers/${id}`));
    assert.equal(body._links.source.href, href(`customers/${customerId}`));
    assert.equal(body._links.destination.href, href(`accounts/${accountId}`));
    assert.equal(body._links['source-funding-source'].href, href(`funding-sources/${bankId}`));
    assert.equal(body._links['destination-funding-source'].href, href(`funding-sources/${balanceId}`));
    assert.equal(body._links.cancel?.href, href(`transfers/${id}`), 'a pending transfer has a cancel link');
  });

  it('(1) POST /sandbox-simulations → 200; the transfer is processed and the account balance is $1.00 higher', async () => {
    const [id, before] = state.need('transferId', 'balanceBefore');
    const sim = await api.post('sandbox-simulations');
    assert.equal(sim.status, 200);
    assert.equal(sim.body._links?.self?.href, href('sandbox-simulations'), JSON.stringify(sim.body));
    assert.ok(Number.isInteger(sim.body.total) && sim.body.total >= 1, `total ≥ 1 in ${JSON.stringify(sim.body)}`);
    const body = await getTransfer(id);
    assert.equal(body.status, 'processed', JSON.stringify(body));
    assert.equal(body._links.cancel, undefined, 'no cancel link once processed');
    assert.equal(await accountBalanceCents(), before + 100, 'the account balance is credited when the transfer completes');
  });

  it('(1) the completed webhooks arrive signed, with the correlationId; the debit leg reads as processed', { timeout: c.WEBHOOK_WAIT_MS * 2 + 10000 }, async () => {
    const [id, correlationId, customerId] = state.need('transferId', 'correlationId', 'customerId');
    const completed = await t.waitForDelivery(
      hooks.receiver,
      `customer_transfer_completed / transfer_completed for transfer ${id}`,
      (b) => ['customer_transfer_completed', 'transfer_completed'].includes(b.topic) && b.resourceId === id,
    );
    const body = c.assertSignedDelivery(completed.delivery, hooks.secret);
    assert.equal(body.correlationId, correlationId, `correlationId in ${JSON.stringify(body)}`);
    assert.equal(body._links.resource.href, href(`transfers/${id}`));
    const leg = await t.waitForDelivery(
      hooks.receiver,
      `customer_bank_transfer_completed with correlationId ${correlationId}`,
      (b) => b.topic === 'customer_bank_transfer_completed' && b.correlationId === correlationId,
    );
    const legBody = c.assertSignedDelivery(leg.delivery, hooks.secret);
    assert.equal(legBody._links.customer?.href, href(`customers/${customerId}`), JSON.stringify(legBody));
    const debit = await getTransfer(legBody.resourceId);
    assert.equal(debit.status, 'processed', JSON.stringify(debit));
    assert.equal(debit._links['funded-transfer']?.href, href(`transfers/${id}`), `the leg's funded-transfer is the transfer: ${JSON.stringify(debit)}`);
  });

  it('(1) metadata on a transfer to a balance → 400 ValidationError at /metadata', async () => {
    const err = await rejection(
      dwolla.post('transfers', bankToAccountBalance('1.00', { metadata: { paymentId: 'compat-1' } }), { 'Idempotency-Key': crypto.randomUUID() }),
      'metadata with a balance',
    );
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'ValidationError', describeError(err));
    const [e] = err.body._embedded?.errors || [];
    assert.equal(e?.path, '/metadata', describeError(err));
    assert.equal(e?.message, 'Metadata not supported for this type of transfer.', describeError(err));
  });

  it('(3) cancel: a bank → bank transfer with metadata; POST /transfers/{id} {status: cancelled} → 200 cancelled', async () => {
    const [bankId, accountBankId, accountId] = state.need('bankId', 'accountBankId', 'accountId');
    const metadata = { paymentId: 'compat-1', note: 'to be cancelled' };
    const id = await createTransfer({
      _links: { source: { href: `${c.DWOLLA_SANDBOX}/funding-sources/${bankId}` }, destination: { href: `${c.DWOLLA_SANDBOX}/funding-sources/${accountBankId}` } },
      amount: { currency: 'USD', value: '2.50' },
      correlationId: t.correlationId(SUITE),
      metadata,
    });
    state.set('cancelledId', id);
    const pending = await getTransfer(id);
    assert.equal(pending.status, 'pending');
    assert.deepEqual(pending.metadata, metadata, JSON.stringify(pending));
    assert.equal(pending._links.destination.href, href(`accounts/${accountId}`));
    assert.equal(pending._links['destination-funding-source'].href, href(`funding-sources/${accountBankId}`));
    assert.equal(pending._links.cancel?.href, href(`transfers/${id}`));
    const res = await api.post(`transfers/${id}`, { status: 'cancelled' });
    assert.equal(res.status, 200);
    t.assertTransferWire(res.body, id);
    assert.equal(res.body.status, 'cancelled');
    const body = await getTransfer(id);
    assert.equal(body.status, 'cancelled');
    assert.equal(body._links.cancel, undefined, 'no cancel link once cancelled');
    const again = await rejection(dwolla.post(`transfers/${id}`, { status: 'cancelled' }), 'cancelling twice');
    assert.equal(again.status, 400, describeError(again));
    assert.equal(again.body.code, 'ValidationError', describeError(again));
  });

  it('(3) list: GET /customers/{id}/transfers filtered by correlationId and by status', async () => {
    const [customerId, id, correlationId, cancelledId] = state.need('customerId', 'transferId', 'correlationId', 'cancelledId');
    const byCorrelation = await api.get(`customers/${customerId}/transfers`, { correlationId });
    const found = byCorrelation.body._embedded?.transfers;
    assert.ok(Array.isArray(found), `_embedded.transfers in ${JSON.stringify(byCorrelation.body)}`);
    assert.ok(found.some((x) => x.id === id), `the transfer ${id} is listed: ${JSON.stringify(byCorrelation.body)}`);
    for (const x of found) {
      t.assertTransferWire(x, x.id);
      assert.equal(x.correlationId, correlationId, `only transfers with the correlationId: ${JSON.stringify(x)}`);
    }
    assert.equal(byCorrelation.body.total, found.length, `total in ${JSON.stringify(byCorrelation.body)}`);
    const cancelled = (await api.get(`customers/${customerId}/transfers`, { status: 'cancelled' })).body;
    assert.ok(cancelled._embedded.transfers.some((x) => x.id === cancelledId), `the cancelled transfer is listed: ${JSON.stringify(cancelled)}`);
    assert.ok(cancelled._embedded.transfers.every((x) => x.status === 'cancelled'), `only cancelled transfers: ${JSON.stringify(cancelled)}`);
    assert.ok(!cancelled._embedded.transfers.some((x) => x.id === id), 'the processed transfer is not among the cancelled ones');
  });

  it('(3) fees: a transfer with a $0.10 facilitator fee → GET /transfers/{id}/fees lists it', async () => {
    const [customerId, accountId] = state.need('customerId', 'accountId');
    const id = await createTransfer(
      bankToAccountBalance('1.00', {
        fees: [{ _links: { 'charge-to': { href: `${c.DWOLLA_SANDBOX}/customers/${customerId}` } }, amount: { value: '0.10', currency: 'USD' } }],
      }),
    );
    const res = await api.get(`transfers/${id}/fees`);
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.transactions), `a top-level transactions array in ${JSON.stringify(res.body)}`);
    assert.equal(res.body.total, 1, JSON.stringify(res.body));
    const [fee] = res.body.transactions;
    t.assertTransferWire(fee, fee.id);
    assert.notEqual(fee.id, id);
    assert.deepEqual(fee.amount, { value: '0.10', currency: 'USD' });
    assert.equal(fee._links['created-from-transfer']?.href, href(`transfers/${id}`), JSON.stringify(fee));
    assert.equal(fee._links.source?.href, href(`customers/${customerId}`), JSON.stringify(fee));
    assert.equal(fee._links.destination?.href, href(`accounts/${accountId}`), JSON.stringify(fee));
  });

  it('(3) a transfer from the account balance above what it holds → 400 ValidationError "Insufficient funds."', async () => {
    const [balanceId, bankId] = state.need('accountBalanceId', 'bankId');
    const available = await accountBalanceCents();
    const err = await rejection(
      dwolla.post(
        'transfers',
        {
          _links: { source: { href: href(`funding-sources/${balanceId}`) }, destination: { href: href(`funding-sources/${bankId}`) } },
          amount: { currency: 'USD', value: t.dollars(available + 100) },
        },
        { 'Idempotency-Key': crypto.randomUUID() },
      ),
      'a transfer above the balance',
    );
    assert.equal(err.status, 400, describeError(err));
    assert.equal(err.body.code, 'ValidationError', describeError(err));
    const [e] = err.body._embedded?.errors || [];
    assert.equal(e?.code, 'InsufficientFunds', describeError(err));
    assert.equal(e?.message, t.INSUFFICIENT_FUNDS, describeError(err));
    assert.equal(e?.path, '/_links/source/href', describeError(err));
    assert.equal(await accountBalanceCents(), available, 'a refused transfer moves no money');
  });

  it('(2) R01: the bank renamed "R01" → a transfer fails at the next simulation; GET failure → R01', async () => {
    const bankId = state.need('bankId');
    const renamed = await api.post(`funding-sources/${bankId}`, { name: 'R01' });
    assert.equal(renamed.body.name, 'R01', JSON.stringify(renamed.body));
    const correlationId = state.set('failedCorrelationId', t.correlationId(SUITE));
    const id = state.set('failedId', await createTransfer(bankToAccountBalance('3.00', { correlationId })));
    assert.equal((await getTransfer(id)).status, 'pending');
    await api.post('sandbox-simulations');
    const body = await getTransfer(id);
    assert.equal(body.status, 'failed', JSON.stringify(body));
    assert.equal(body._links.failure?.href, href(`transfers/${id}/failure`), `a failure link: ${JSON.stringify(body)}`);
    const failure = await api.get(`transfers/${id}/failure`);
    assert.equal(failure.status, 200);
    assert.equal(failure.body.code, 'R01', JSON.stringify(failure.body));
    assert.equal(failure.body.description, t.R01_DESCRIPTION, JSON.stringify(failure.body));
    const bank = await api.get(`funding-sources/${bankId}`);
    assert.equal(bank.body.removed, false, 'R01 does not remove the bank');
  });

  it('(2) the failed webhook arrives signed, with the correlationId', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    const [id, correlationId] = state.need('failedId', 'failedCorrelationId');
    const failed = await t.waitForDelivery(
      hooks.receiver,
      `customer_transfer_failed / transfer_failed for transfer ${id}`,
      (b) => ['customer_transfer_failed', 'transfer_failed'].includes(b.topic) && b.resourceId === id,
    );
    const body = c.assertSignedDelivery(failed.delivery, hooks.secret);
    assert.equal(body.correlationId, correlationId, JSON.stringify(body));
  });
});
