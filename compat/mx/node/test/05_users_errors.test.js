'use strict';
// Users CRUD, institutions, pagination, and error statuses (404, 401).

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { mx } = h;

describe('users, institutions and errors with mx-platform-node', () => {
  it('users: create, list, read, update, delete (204)', async () => {
    const user = await h.createUser({ email: 'compat@example.com' });
    const read = await mx.users.readUser(user.guid);
    assert.equal(read.status, 200);
    assert.deepEqual(read.data.user, user);

    const upd = await mx.users.updateUser(user.guid, { user: { metadata: 'changed', is_disabled: true } });
    assert.equal(upd.status, 200);
    assert.equal(upd.data.user.metadata, 'changed');
    assert.equal(upd.data.user.is_disabled, true);
    assert.equal(upd.data.user.email, 'compat@example.com');

    const byId = await mx.users.listUsers(1, 10, user.id);
    assert.equal(byId.status, 200);
    assert.deepEqual(byId.data.users.map((u) => u.guid), [user.guid]);
    h.assertPagination(byId.data.pagination, { totalEntries: 1, perPage: 10 });

    const all = await mx.users.listUsers(1, 10);
    assert.equal(all.status, 200);
    h.assertPagination(all.data.pagination, { perPage: 10, currentPage: 1 });
    assert.ok(all.data.users.length <= 10);

    const del = await mx.users.deleteUser(h.ACCEPT, user.guid);
    assert.equal(del.status, 204);
    assert.equal(await h.failureStatus(mx.users.readUser(user.guid)), 404);
  });

  it('institutions: read, records_per_page pagination, credentials', async () => {
    const inst = await mx.institutions.readInstitution('mxbank');
    assert.equal(inst.status, 200);
    assert.equal(inst.data.institution.code, 'mxbank');
    assert.equal(inst.data.institution.name, 'MX Bank');

    const oauth = await mx.institutions.readInstitution('mx_bank_oauth');
    assert.equal(oauth.data.institution.supports_oauth, true);

    const page = await mx.institutions.listInstitutions(undefined, undefined, 1, 10);
    assert.equal(page.status, 200);
    h.assertPagination(page.data.pagination, { perPage: 10, currentPage: 1 });
    assert.ok(page.data.institutions.length <= 10);
  });

  it('records_per_page out of range: above 1000 falls back to 25; integers throughout', async () => {
    const res = await mx.users.listUsers(1, 5000);
    assert.equal(res.status, 200);
    h.assertPagination(res.data.pagination, { perPage: 25, currentPage: 1 });
  });

  it('Accept variants other SDK users send are served as v20111101', async () => {
    // axios default (the SDK without baseOptions), ucw-app's v2beta, and none at all.
    const variants = [undefined, 'application/vnd.mx.api.v2beta+json', 'application/json'];
    for (const accept of variants) {
      const cfg = new (require('mx-platform-node').Configuration)({
        username: h.CLIENT_ID,
        password: h.API_KEY,
        basePath: h.BASE,
        ...(accept ? { baseOptions: { headers: { Accept: accept } } } : {}),
      });
      const res = await h.apis(cfg).institutions.readInstitution('mxbank');
      assert.equal(res.status, 200, `Accept ${accept}`);
      assert.equal(res.data.institution.code, 'mxbank');
    }
  });

  it('X-CALLBACK-PAYLOAD is accepted on createMember and verifyMember', async () => {
    const user = await h.createUser();
    const creds = await h.mxbankCredentials();
    const created = await mx.members.createMember(
      user.guid,
      {
        member: {
          institution_code: 'mxbank',
          credentials: [{ guid: creds.login, value: 'mxuser' }, { guid: creds.password, value: 'password' }],
          skip_aggregation: true,
        },
      },
      Buffer.from('{"trace":"compat"}').toString('base64'),
    );
    assert.equal(created.status, 200);
    const verified = await mx.members.verifyMember(created.data.member.guid, user.guid, 'dHJhY2U=');
    assert.equal(verified.status, 200);
  });

  it('404 on an unknown user, member, account, institution', async () => {
    const user = await h.createUser();
    assert.equal(await h.failureStatus(mx.users.readUser('USR-00000000-0000-0000-0000-000000000000')), 404);
    assert.equal(await h.failureStatus(mx.members.listMembers('USR-does-not-exist')), 404);
    assert.equal(await h.failureStatus(mx.members.readMember('MBR-does-not-exist', user.guid)), 404);
    assert.equal(await h.failureStatus(mx.members.readMemberStatus('MBR-does-not-exist', user.guid)), 404);
    assert.equal(await h.failureStatus(mx.accounts.readAccount('ACT-does-not-exist', user.guid)), 404);
    assert.equal(await h.failureStatus(mx.institutions.readInstitution('no_such_bank')), 404);
    assert.equal(await h.failureStatus(mx.institutions.listInstitutionCredentials('no_such_bank')), 404);
  });

  it('401 on a bad API key or an unknown client id', async () => {
    const bad = h.apis(h.configuration('not-the-api-key'));
    assert.equal(await h.failureStatus(bad.users.listUsers()), 401);
    assert.equal(await h.failureStatus(bad.institutions.listInstitutions('MX Bank')), 401);
    const unknown = h.apis(h.configuration(h.API_KEY, 'unknown-client-id'));
    assert.equal(await h.failureStatus(unknown.users.createUser({ user: { id: 'x' } })), 401);
  });

  it('a wrong API key cannot read an existing user (401)', async () => {
    const user = await h.createUser();
    const bad = h.apis(h.configuration('wrong'));
    assert.equal(await h.failureStatus(bad.users.readUser(user.guid)), 401);
  });
});
