'use strict';
// Shared set-up for the mx-platform-node suites: the SDK is used exactly as its README says,
// with only the base URL pointed at openiav.

const assert = require('node:assert/strict');
const {
  Configuration,
  UsersApi,
  InstitutionsApi,
  MembersApi,
  AccountsApi,
  TransactionsApi,
  WidgetsApi,
} = require('mx-platform-node');

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (run the suites through compat/mx/run.sh)`);
  return value;
}

// Failed SDK calls reject with an AxiosError whose default rendering is hundreds of lines (config,
// sockets, …). Give it a one-line rendering for test reports; the error object itself, and so
// what the SDK hands to callers, is untouched.
require('axios').interceptors.response.use(undefined, (err) => {
  if (err && err.isAxiosError) {
    const method = (err.config && err.config.method || '?').toUpperCase();
    const url = err.config && err.config.url;
    const summary = err.response
      ? `HTTP ${err.response.status} ${JSON.stringify(err.response.data)}`
      : `no response (${err.code || err.message})`;
    Object.defineProperty(err, require('node:util').inspect.custom, {
      value: () => `AxiosError: ${method} ${url} → ${summary}`,
    });
  }
  return Promise.reject(err);
});

const BASE = env('MX_BASE_URL');
const CLIENT_ID = env('MX_CLIENT_ID');
const API_KEY = env('MX_API_KEY');
const ACCEPT = 'application/vnd.mx.api.v1+json';

const POLL_INTERVAL_MS = 50;
const POLL_TIMEOUT_MS = Number(process.env.MX_POLL_TIMEOUT_MS || 10000);

function configuration(apiKey = API_KEY, clientId = CLIENT_ID) {
  return new Configuration({
    username: clientId,
    password: apiKey,
    basePath: BASE,
    baseOptions: { headers: { Accept: ACCEPT } },
  });
}

function apis(config = configuration()) {
  return {
    users: new UsersApi(config),
    institutions: new InstitutionsApi(config),
    members: new MembersApi(config),
    accounts: new AccountsApi(config),
    transactions: new TransactionsApi(config),
    widgets: new WidgetsApi(config),
  };
}

const mx = apis();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}`;
}

/** Awaits an SDK call that must fail, and returns the HTTP status of the AxiosError. */
async function failureStatus(promise) {
  try {
    const res = await promise;
    assert.fail(`expected the SDK call to throw, got HTTP ${res.status}: ${JSON.stringify(res.data)}`);
  } catch (err) {
    if (err && err.code === 'ERR_ASSERTION') throw err;
    assert.ok(err && err.isAxiosError, `expected an AxiosError, got ${err}`);
    assert.ok(err.response, `no HTTP response: ${err.message}`);
    return err.response.status;
  }
}

function assertPagination(p, { perPage, totalEntries, currentPage } = {}) {
  assert.ok(p, 'pagination is present');
  for (const key of ['current_page', 'per_page', 'total_entries', 'total_pages']) {
    assert.ok(Number.isInteger(p[key]), `pagination.${key} is an integer (${JSON.stringify(p)})`);
  }
  if (perPage !== undefined) assert.equal(p.per_page, perPage);
  if (totalEntries !== undefined) assert.equal(p.total_entries, totalEntries);
  if (currentPage !== undefined) assert.equal(p.current_page, currentPage);
  assert.equal(p.total_pages, Math.ceil(p.total_entries / p.per_page));
}

/** ABA routing number check digit: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
function isValidAba(routing) {
  if (!/^\d{9}$/.test(routing)) return false;
  const d = [...routing].map(Number);
  const sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
  return sum % 10 === 0;
}

async function createUser(extra = {}) {
  const id = uniqueId('compat-node');
  const res = await mx.users.createUser({ user: { id, metadata: 'mx-platform-node compat', ...extra } });
  assert.equal(res.status, 200);
  const user = res.data.user;
  assert.match(user.guid, /^USR-/);
  assert.equal(user.id, id);
  return user;
}

let credentialCache = null;
/** The mxbank credential guids, looked up once through listInstitutionCredentials. */
async function mxbankCredentials() {
  if (!credentialCache) {
    const res = await mx.institutions.listInstitutionCredentials('mxbank');
    assert.equal(res.status, 200);
    const login = res.data.credentials.find((c) => c.field_name === 'LOGIN');
    const password = res.data.credentials.find((c) => c.field_name === 'PASSWORD');
    assert.ok(login && password, `LOGIN and PASSWORD credentials: ${JSON.stringify(res.data)}`);
    credentialCache = { login: login.guid, password: password.guid };
  }
  return credentialCache;
}

/** POST /users/{u}/members for mxbank. Returns the axios response. */
async function createMxbankMember(userGuid, password, { username = 'mxuser', skipAggregation } = {}) {
  const creds = await mxbankCredentials();
  const member = {
    institution_code: 'mxbank',
    credentials: [
      { guid: creds.login, value: username },
      { guid: creds.password, value: password },
    ],
  };
  if (skipAggregation !== undefined) member.skip_aggregation = skipAggregation;
  return mx.members.createMember(userGuid, { member });
}

const isSettled = (m) => m.connection_status === 'CHALLENGED' || m.is_being_aggregated === false;

/**
 * Polls readMemberStatus every 50 ms until `done(status)` holds (default: CHALLENGED, or no job
 * running). Returns the member status object.
 */
async function pollStatus(userGuid, memberGuid, done = isSettled) {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  let last;
  for (;;) {
    const res = await mx.members.readMemberStatus(memberGuid, userGuid);
    assert.equal(res.status, 200);
    last = res.data.member;
    assert.equal(last.guid, memberGuid);
    if (done(last)) return last;
    if (Date.now() > deadline) {
      assert.fail(`member ${memberGuid} did not settle within ${POLL_TIMEOUT_MS} ms; last status ${JSON.stringify(last)}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

const connectedAndIdle = (m) => m.connection_status === 'CONNECTED' && m.is_being_aggregated === false;

/** Creates a user and an aggregating mxbank member, and waits until it settles. */
async function aggregatedMember(password) {
  const user = await createUser();
  const created = await createMxbankMember(user.guid, password);
  assert.equal(created.status, 202, 'createMember that starts an aggregation answers 202');
  const member = created.data.member;
  const status = await pollStatus(user.guid, member.guid);
  return { user, member, status };
}

module.exports = {
  BASE,
  CLIENT_ID,
  API_KEY,
  ACCEPT,
  mx,
  apis,
  configuration,
  sleep,
  uniqueId,
  failureStatus,
  assertPagination,
  isValidAba,
  createUser,
  mxbankCredentials,
  createMxbankMember,
  pollStatus,
  isSettled,
  connectedAndIdle,
  aggregatedMember,
};
