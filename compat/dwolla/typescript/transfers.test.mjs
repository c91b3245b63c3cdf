// Transfers with Dwolla's TypeScript SDK `dwolla` 1.1.1, unchanged except for its server URL. The SDK
// validates every response with zod, so each typed call below also checks the response's shape:
// transfers.create/get/cancel, transfers.fees.list, transfers.failure.get, customers.transfers.list,
// root.get, accounts.get, accounts.fundingSources.list, fundingSources.balance.get,
// fundingSources.updateOrRemove and sandboxSimulations.simulate. The flow:
//   set-up: the MX flow (widget in Chromium) to a customer's verified bank;
//   (1) $1.00 from that bank to the account's balance with a correlationId → simulate → processed,
//       the balance $1.00 higher, the signed completed webhook carrying the correlationId;
//   (3) a pending transfer cancelled, the customer's transfers listed with filters, the fees of a
//       transfer with a facilitator fee, a balance-sourced transfer refused with "Insufficient funds.";
//   (2) the bank renamed R01 → the next transfer fails; transfers.failure.get → R01.
// No metadata is sent: the SDK's InitiateTransferMetadata is `z.object({})`, which strips every key,
// so any metadata a caller passes reaches the server as `{}` (node-v2 and python check metadata).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { Dwolla } from 'dwolla';
import { completeWidget } from '../browser/complete_widget.mjs';
import * as c from '../lib/common.mjs';
import { sdkHarness } from '../lib/ts_sdk.mjs';
import * as t from '../lib/transfers.mjs';

const SUITE = 'typescript';

// --- the SDK, a log of the wire for failure messages, and the raw bodies for byte checks --------

const { wire, rawBodies, loggingClient, sdk, sdkError, assertHttpError, location } = sdkHarness();

const dwolla = new Dwolla({
  serverURL: c.BASE,
  security: { clientID: c.KEY, clientSecret: c.SECRET },
  httpClient: loggingClient(),
});

const state = c.flowState();
const secret = c.randomSecret();
let receiver = null;

const href = (p) => `${c.BASE}/${p}`;

async function createTransfer(requestBody) {
  const res = await sdk('transfers.create', dwolla.transfers.create({ idempotencyKey: crypto.randomUUID(), requestBody }));
  return c.assertLocation(location(res, 'transfers.create'), 'transfers');
}

/** transfers.get (zod-validated), plus the wire checks on the raw body the server sent. */
async function getTransfer(id) {
  const transfer = await sdk(`transfers.get ${id}`, dwolla.transfers.get({ id }));
  const raw = rawBodies.get(`/transfers/${id}`);
  t.assertTransferWire(JSON.parse(raw), id);
  assert.ok(transfer.created instanceof Date, 'the SDK parsed created');
  return transfer;
}

async function accountBalanceCents() {
  const balanceId = state.need('accountBalanceId');
  const res = await sdk('fundingSources.balance.get', dwolla.fundingSources.balance.get({ id: balanceId }));
  assert.ok(res.balance && res.total && res.lastUpdated && res.links, `the Dwolla balance shape (balance, total, lastUpdated, _links): ${JSON.stringify(res)}`);
  assert.equal(res.balance.currency, 'USD');
  return t.cents(res.balance.value);
}

function bankToAccountBalance(amount, extra = {}) {
  const [bankId, balanceId] = state.need('bankId', 'accountBalanceId');
  return {
    links: { source: { href: href(`funding-sources/${bankId}`) }, destination: { href: href(`funding-sources/${balanceId}`) } },
    amount: { currency: 'USD', value: amount },
    ...extra,
  };
}

const linkHref = (links, rel) => links && links[rel] && links[rel].href;

describe('dwolla 1.1.1 (TypeScript SDK): transfers', { timeout: 300000 }, () => {
  before(async () => {
    receiver = await c.startWebhookReceiver();
  });
  after(async () => {
    const sub = state.values.subscriptionId;
    if (sub) await dwolla.webhookSubscriptions.delete({ id: sub }).catch(() => {});
    if (receiver) await receiver.close();
  });

  it('set-up: a webhook subscription, a customer and its verified bank through MX (widget in Chromium)', { timeout: 120000 }, async () => {
    const sub = await sdk('webhookSubscriptions.create', dwolla.webhookSubscriptions.create({ url: receiver.url, secret }));
    state.set('subscriptionId', c.assertLocation(location(sub, 'webhookSubscriptions.create'), 'webhook-subscriptions'));
    const email = c.uniqueEmail(`${SUITE}-transfers`);
    const created = await sdk('customers.create', dwolla.customers.create({ type: 'unverified', firstName: 'Tess', lastName: 'Transfer', email }));
    const customerId = state.set('customerId', c.assertLocation(location(created, 'customers.create'), 'customers'));
    const partners = (await sdk('exchangePartners.list', dwolla.exchangePartners.list())).embedded.exchangePartners;
    const mx = partners.find((p) => p.name.toLowerCase() === 'mx');
    assert.ok(mx, 'MX is a partner');
    const session = await sdk(
      'customers.exchangeSessions.create',
      dwolla.customers.exchangeSessions.create({ id: customerId, requestBody: { links: { exchangePartner: { href: mx.links.self.href } } } }),
    );
    const sessionId = c.assertLocation(location(session, 'customers.exchangeSessions.create'), 'exchange-sessions');
    const widgetUrl = (await sdk('exchangeSessions.get', dwolla.exchangeSessions.get({ id: sessionId }))).links.externalProviderSession.href;
    const widget = await completeWidget(widgetUrl, { screenshotDir: path.join(c.SCREENSHOT_ROOT, `${SUITE}-transfers`) });
    const connections = (await sdk('customers.listAvailableConnections', dwolla.customers.listAvailableConnections({ id: customerId }))).embedded
      .availableExchangeConnections;
    const connection = connections.find((a) => a.name === widget.account) || connections[0];
    const exchange = await sdk(
      'customers.exchanges.create',
      dwolla.customers.exchanges.create({
        id: customerId,
        requestBody: { links: { exchangePartner: { href: mx.links.self.href } }, mx: { availableConnectionToken: connection.availableConnectionToken } },
      }),
    );
    const exchangeId = c.assertLocation(location(exchange, 'customers.exchanges.create'), 'exchanges');
    const fs = await sdk(
      'customers.fundingSources.create',
      dwolla.customers.fundingSources.create({
        id: customerId,
        createCustomerFundingSource: { links: { exchange: { href: href(`exchanges/${exchangeId}`) } }, bankAccountType: 'checking', name: 'Tess Checking' },
      }),
    );
    const bankId = c.assertLocation(location(fs, 'customers.fundingSources.create'), 'funding-sources');
    const bank = await sdk('fundingSources.get', dwolla.fundingSources.get({ id: bankId }));
    assert.equal(bank.status, 'verified');
    state.set('bankId', bankId);
  });

  it('the account: root.get → account link; accounts.get; accounts.fundingSources.list holds a balance; its balance parses', async () => {
    const root = await sdk('root.get', dwolla.root.get());
    const accountHref = linkHref(root.links, 'account');
    assert.equal(typeof accountHref, 'string', `an account link in ${JSON.stringify(root)}`);
    const accountId = c.idOf(accountHref);
    const account = await sdk('accounts.get', dwolla.accounts.get({ id: accountId }));
    assert.equal(account.id, accountId);
    assert.equal(linkHref(account.links, 'self'), href(`accounts/${accountId}`));
    const list = await sdk('accounts.fundingSources.list', dwolla.accounts.fundingSources.list({ id: accountId, removed: 'false' }));
    const sources = list.embedded?.fundingSources;
    assert.ok(Array.isArray(sources), `embedded.fundingSources in ${JSON.stringify(list)}`);
    const balance = sources.find((s) => s.type === 'balance');
    assert.ok(balance, `a balance among ${JSON.stringify(sources)}`);
    state.set('accountId', accountId);
    state.set('accountBalanceId', balance.id);
    state.set('balanceBefore', await accountBalanceCents());
  });

  it('(1) transfers.create $1.00 bank → account balance with a correlationId; transfers.get → pending', async () => {
    const [customerId, accountId, bankId, balanceId] = state.need('customerId', 'accountId', 'bankId', 'accountBalanceId');
    const correlationId = state.set('correlationId', t.correlationId(SUITE));
    const id = state.set('transferId', await createTransfer(bankToAccountBalance('1.00', { correlationId })));
    const transfer = await getTransfer(id);
    assert.equal(transfer.status, 'pending');
    assert.deepEqual(transfer.amount, { value: '1.00', currency: 'USD' });
    assert.equal(transfer.correlationId, correlationId);
    assert.equal(linkHref(transfer.links, 'source'), href(`customers/${customerId}`));
    assert.equal(linkHref(transfer.links, 'destination'), href(`accounts/${accountId}`));
    assert.equal(linkHref(transfer.links, 'source-funding-source'), href(`funding-sources/${bankId}`));
    assert.equal(linkHref(transfer.links, 'destination-funding-source'), href(`funding-sources/${balanceId}`));
    assert.equal(linkHref(transfer.links, 'cancel'), href(`transfers/${id}`));
  });

  it('(1) sandboxSimulations.simulate → the transfer is processed and the account balance is $1.00 higher', async () => {
    const [id, before] = state.need('transferId', 'balanceBefore');
    await sdk('sandboxSimulations.simulate', dwolla.sandboxSimulations.simulate());
    const transfer = await getTransfer(id);
    assert.equal(transfer.status, 'processed');
    assert.equal(linkHref(transfer.links, 'cancel'), undefined, 'no cancel link once processed');
    assert.equal(await accountBalanceCents(), before + 100);
  });

  it('(1) the completed webhook arrives signed, with the correlationId', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    const [id, correlationId] = state.need('transferId', 'correlationId');
    const { delivery } = await t.waitForDelivery(
      receiver,
      `customer_transfer_completed / transfer_completed for transfer ${id}`,
      (b) => ['customer_transfer_completed', 'transfer_completed'].includes(b.topic) && b.resourceId === id,
    );
    const body = c.assertSignedDelivery(delivery, secret);
    assert.equal(body.correlationId, correlationId);
    const leg = await t.waitForDelivery(
      receiver,
      `customer_bank_transfer_completed with correlationId ${correlationId}`,
      (b) => b.topic === 'customer_bank_transfer_completed' && b.correlationId === correlationId,
    );
    c.assertSignedDelivery(leg.delivery, secret);
  });

  it('(3) transfers.cancel a pending transfer → transfers.get says cancelled, no cancel link; cancelling again throws 400', async (tc) => {
    const id = state.set('cancelledId', await createTransfer(bankToAccountBalance('2.50', { correlationId: t.correlationId(SUITE) })));
    assert.equal(linkHref((await getTransfer(id)).links, 'cancel'), href(`transfers/${id}`));
    await sdk('transfers.cancel', dwolla.transfers.cancel({ id, requestBody: { status: 'cancelled' } }));
    const transfer = await getTransfer(id);
    assert.equal(transfer.status, 'cancelled');
    assert.equal(linkHref(transfer.links, 'cancel'), undefined);
    const err = await sdkError('transfers.cancel twice', dwolla.transfers.cancel({ id, requestBody: { status: 'cancelled' } }));
    assertHttpError(tc, err, 400, 'ValidationError');
  });

  it('(3) customers.transfers.list filtered by correlationId and by status', async () => {
    const [customerId, id, correlationId, cancelledId] = state.need('customerId', 'transferId', 'correlationId', 'cancelledId');
    const byCorrelation = await sdk('customers.transfers.list correlationId', dwolla.customers.transfers.list({ id: customerId, correlationId }));
    const found = byCorrelation.embedded?.transfers || [];
    assert.ok(found.some((x) => x.id === id), `the transfer is listed: ${wire.slice(-1)}`);
    assert.ok(found.every((x) => x.correlationId === correlationId), `only the correlationId's transfers: ${wire.slice(-1)}`);
    assert.equal(byCorrelation.total, found.length);
    const cancelled = await sdk('customers.transfers.list status', dwolla.customers.transfers.list({ id: customerId, status: 'cancelled' }));
    const list = cancelled.embedded?.transfers || [];
    assert.ok(list.some((x) => x.id === cancelledId), `the cancelled transfer is listed: ${wire.slice(-1)}`);
    assert.ok(list.every((x) => x.status === 'cancelled'), `only cancelled transfers: ${wire.slice(-1)}`);
  });

  it('(3) transfers.fees.list of a transfer with a $0.10 facilitator fee', async () => {
    const [customerId, accountId] = state.need('customerId', 'accountId');
    const id = await createTransfer(
      bankToAccountBalance('1.00', { fees: [{ links: { chargeTo: { href: href(`customers/${customerId}`) } }, amount: { value: '0.10', currency: 'USD' } }] }),
    );
    const fees = await sdk('transfers.fees.list', dwolla.transfers.fees.list({ id }));
    assert.equal(fees.total, 1, JSON.stringify(fees));
    const [fee] = fees.transactions;
    assert.deepEqual(fee.amount, { value: '0.10', currency: 'USD' });
    assert.ok(fee.created instanceof Date);
    assert.equal(linkHref(fee.links, 'created-from-transfer'), href(`transfers/${id}`));
    assert.equal(linkHref(fee.links, 'source'), href(`customers/${customerId}`));
    assert.equal(linkHref(fee.links, 'destination'), href(`accounts/${accountId}`));
  });

  it('(3) transfers.create from the account balance above what it holds throws 400 "Insufficient funds."', async (tc) => {
    const [balanceId, bankId] = state.need('accountBalanceId', 'bankId');
    const available = await accountBalanceCents();
    const err = await sdkError(
      'transfers.create above the balance',
      dwolla.transfers.create({
        idempotencyKey: crypto.randomUUID(),
        requestBody: {
          links: { source: { href: href(`funding-sources/${balanceId}`) }, destination: { href: href(`funding-sources/${bankId}`) } },
          amount: { currency: 'USD', value: t.dollars(available + 100) },
        },
      }),
    );
    const body = assertHttpError(tc, err, 400, 'ValidationError');
    const [e] = body._embedded?.errors || [];
    assert.equal(e?.code, 'InsufficientFunds', err.body);
    assert.equal(e?.message, t.INSUFFICIENT_FUNDS, err.body);
    assert.equal(e?.path, '/_links/source/href', err.body);
    assert.equal(await accountBalanceCents(), available);
  });

  it('(2) R01: fundingSources.updateOrRemove {name: R01} → a transfer fails at the next simulation; transfers.failure.get → R01', async () => {
    const bankId = state.need('bankId');
    await sdk('fundingSources.updateOrRemove', dwolla.fundingSources.updateOrRemove({ id: bankId, requestBody: { name: 'R01' } }));
    assert.equal((await sdk('fundingSources.get', dwolla.fundingSources.get({ id: bankId }))).name, 'R01');
    const id = state.set('failedId', await createTransfer(bankToAccountBalance('3.00', { correlationId: t.correlationId(SUITE) })));
    await sdk('sandboxSimulations.simulate', dwolla.sandboxSimulations.simulate());
    const transfer = await getTransfer(id);
    assert.equal(transfer.status, 'failed');
    assert.equal(linkHref(transfer.links, 'failure'), href(`transfers/${id}/failure`));
    const failure = await sdk('transfers.failure.get', dwolla.transfers.failure.get({ id }));
    assert.equal(failure.code, 'R01');
    assert.equal(failure.description, t.R01_DESCRIPTION);
  });

  it('(2) the failed webhook arrives signed', { timeout: c.WEBHOOK_WAIT_MS + 10000 }, async () => {
    const id = state.need('failedId');
    const { delivery } = await t.waitForDelivery(
      receiver,
      `customer_transfer_failed / transfer_failed for transfer ${id}`,
      (b) => ['customer_transfer_failed', 'transfer_failed'].includes(b.topic) && b.resourceId === id,
    );
    c.assertSignedDelivery(delivery, secret);
  });
});
