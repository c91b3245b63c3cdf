'use strict';
// Statements with mx-platform-node: fetchStatements, list, read, and the PDF download.

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { StatementsApi } = require('mx-platform-node');
const h = require('./helpers');

const { mx } = h;
const statements = new StatementsApi(h.configuration());

describe('statements with mx-platform-node', () => {
  let user;
  let member;
  let listed;

  before(async () => {
    const r = await h.aggregatedMember('password');
    assert.equal(r.status.connection_status, 'CONNECTED');
    user = r.user;
    member = r.member;
  });

  it('fetchStatements answers 202 with the member and the job connects', async () => {
    const res = await statements.fetchStatements(member.guid, user.guid);
    assert.equal(res.status, 202);
    assert.equal(res.data.member.guid, member.guid);
    assert.equal(res.data.member.is_being_aggregated, true);
    const status = await h.pollStatus(user.guid, member.guid, h.connectedAndIdle);
    assert.equal(status.connection_status, 'CONNECTED');
  });

  it('lists twelve monthly statements per deposit account, with integer pagination', async () => {
    const res = await statements.listStatementsByMember(member.guid, user.guid, 1, 100);
    assert.equal(res.status, 200);
    listed = res.data.statements;
    h.assertPagination(res.data.pagination, { perPage: 100, totalEntries: 24, currentPage: 1 });
    const accounts = (await mx.accounts.listMemberAccounts(user.guid, member.guid)).data.accounts;
    const deposit = accounts.filter((a) => a.type === 'CHECKING' || a.type === 'SAVINGS').map((a) => a.guid);
    for (const guid of deposit) {
      assert.equal(listed.filter((s) => s.account_guid === guid).length, 12, guid);
    }
    for (const s of listed) {
      assert.match(s.guid, /^STA-/);
      assert.equal(s.member_guid, member.guid);
      assert.equal(s.user_guid, user.guid);
      assert.match(s.content_hash, /^[0-9a-f]{64}$/);
      assert.equal(typeof s.created_at, 'string');
      assert.equal(typeof s.updated_at, 'string');
      assert.ok(s.uri.endsWith(`/statements/${s.guid}.pdf`), s.uri);
    }
    const page2 = await statements.listStatementsByMember(member.guid, user.guid, 2, 10);
    assert.equal(page2.data.statements.length, 10);
    h.assertPagination(page2.data.pagination, { perPage: 10, totalEntries: 24, currentPage: 2 });
  });

  it('reads a statement by member', async () => {
    const res = await statements.readStatementByMember(member.guid, listed[0].guid, user.guid);
    assert.equal(res.status, 200);
    assert.deepEqual(res.data.statement, listed[0]);
    assert.equal(await h.failureStatus(statements.readStatementByMember(member.guid, 'STA-nope', user.guid)), 404);
  });

  it('downloads the statement PDF', async () => {
    // As bytes (axios told to keep the body binary).
    const res = await statements.downloadStatementPDF(member.guid, listed[0].guid, user.guid, {
      responseType: 'arraybuffer',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/pdf');
    const bytes = Buffer.from(res.data);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    const hash = require('node:crypto').createHash('sha256').update(bytes).digest('hex');
    assert.equal(hash, listed[0].content_hash);
    // Called plainly, the SDK hands back the body as text.
    const plain = await statements.downloadStatementPDF(member.guid, listed[0].guid, user.guid);
    assert.equal(plain.status, 200);
    assert.equal(typeof plain.data, 'string');
    assert.ok(plain.data.startsWith('%PDF-'));
    assert.equal(await h.failureStatus(statements.downloadStatementPDF(member.guid, 'STA-nope', user.guid)), 404);
  });
});
