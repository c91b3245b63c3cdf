// The MX side of secure exchange, shared by the two Node suites: with the official
// mx-platform-node 2.1.0 (only its base URL changed), create a user and an MX Bank member
// (mxuser/password), run a verification, choose the first account, and request an
// authorization code for it, as an MX client does before handing the code to its processor
// (here: Dwolla, through POST /customers/{id}/exchanges {token}).

import assert from 'node:assert/strict';
import mxPlatform from 'mx-platform-node';

const { Configuration, UsersApi, InstitutionsApi, MembersApi, ProcessorTokenApi } = mxPlatform;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run the suites through compat/dwolla/run.sh)`);
  return value;
}

const config = new Configuration({
  username: env('MX_CLIENT_ID'),
  password: env('MX_API_KEY'),
  basePath: env('MX_BASE_URL').replace(/\/+$/, ''),
  baseOptions: { headers: { Accept: 'application/vnd.mx.api.v1+json' } },
});
const users = new UsersApi(config);
const institutions = new InstitutionsApi(config);
const members = new MembersApi(config);
const processorTokens = new ProcessorTokenApi(config);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function settle(member, user) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const status = (await members.readMemberStatus(member, user)).data.member;
    if (status.connection_status === 'CHALLENGED' || status.is_being_aggregated === false) return status;
    assert.ok(Date.now() < deadline, `member ${member} never settled: ${JSON.stringify(status)}`);
    await sleep(50);
  }
}

/**
 * A verified MX Bank account and a fresh authorization code for it:
 * { user, member, account, code, requestCode() } (requestCode mints another one).
 */
export async function verifiedAccountCode(suite) {
  const id = `compat-dwolla-${suite}-${process.pid}-${Date.now()}`;
  const user = (await users.createUser({ user: { id } })).data.user.guid;
  const creds = (await institutions.listInstitutionCredentials('mxbank')).data.credentials;
  const guid = (name) => creds.find((c) => c.field_name === name).guid;
  const created = await members.createMember(user, {
    member: {
      institution_code: 'mxbank',
      credentials: [{ guid: guid('LOGIN'), value: 'mxuser' }, { guid: guid('PASSWORD'), value: 'password' }],
      skip_aggregation: true,
    },
  });
  const member = created.data.member.guid;
  assert.equal((await members.verifyMember(member, user)).status, 200);
  const challenged = await settle(member, user);
  assert.equal(challenged.connection_status, 'CHALLENGED', JSON.stringify(challenged));
  const challenge = challenged.challenges[0];
  const account = challenge.options[0].value;
  await members.resumeAggregation(member, user, { member: { challenges: [{ guid: challenge.guid, value: account }] } });
  const connected = await settle(member, user);
  assert.equal(connected.connection_status, 'CONNECTED', JSON.stringify(connected));
  const scope = `user-guid:${user} member-guid:${member} account-guid:${account} read-protected`;
  const requestCode = async () => {
    const res = await processorTokens.requestAuthorizationCode({ authorization_code: { scope } });
    assert.equal(res.status, 200);
    return res.data.authorization_code.code;
  };
  return { user, member, account, code: await requestCode(), requestCode };
}
