// openiav Connect widget: the screens, the calls to the widget API, and MX's post-message
// protocol (ui_message_version 4) towards the embedding window.
//
// Every value shown comes from textContent or attributes set through the DOM; nothing is ever
// parsed as HTML. Credentials and MFA answers live only in their inputs until sent.

const boot = JSON.parse(document.getElementById("mx-widget-config").textContent);
const sessionToken = document.querySelector('meta[name="mx-widget-session"]').content;
const config = boot.config;
const root = document.getElementById("mx-widget");
const live = document.getElementById("mx-live");

const POLL_MS = 400;

// ---------------------------------------------------------------------------------------------
// Post messages (MX protocol v4)

/** The origin of the window embedding the widget, so messages go to it alone. */
const parentOrigin = (() => {
  try {
    const ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length > 0 && ancestors[0] !== "null") return ancestors[0];
  } catch (_) {
    /* not available in this browser */
  }
  try {
    if (document.referrer) return new URL(document.referrer).origin;
  } catch (_) {
    /* no usable referrer */
  }
  return "*";
})();

// In a mobile WebView each event is a navigation the app intercepts; navigations made in the
// same tick would replace one another, so they leave one at a time.
const webviewQueue = [];
let webviewBusy = false;
function drainWebviewQueue() {
  const next = webviewQueue.shift();
  if (!next) {
    webviewBusy = false;
    return;
  }
  webviewBusy = true;
  window.location.href = next;
  setTimeout(drainWebviewQueue, 50);
}

/** Sends `mx/<event>` with the session's guids and `data` to the host. */
function post(event, data = {}) {
  const metadata = { user_guid: boot.user_guid, session_guid: boot.session_guid, ...data };
  if (config.is_mobile_webview) {
    webviewQueue.push(`${config.webview_url_scheme}://${event}?metadata=${encodeURIComponent(JSON.stringify(metadata))}`);
    if (!webviewBusy) drainWebviewQueue();
    return;
  }
  const message = { mx: true, type: `mx/${event}`, metadata };
  if (window.parent && window.parent !== window) window.parent.postMessage(message, parentOrigin);
  if (window.opener) window.opener.postMessage(message, parentOrigin);
}

let sdkInfo = null;
window.addEventListener("message", (event) => {
  let data = event.data;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch (_) {
      return;
    }
  }
  if (!data || typeof data !== "object") return;
  switch (data.type) {
    case "mx/sdk/info":
      sdkInfo = data.metadata || null;
      break;
    case "ping":
      post("ping");
      break;
    case "mx/navigation": {
      const action = typeof data.payload === "string" ? data.payload : data.payload && data.payload.action;
      if (action === "back") post("navigation", { did_go_back: goBack() });
      break;
    }
    case "oauthComplete/success":
    case "oauthComplete/error":
      // The bank's window finished; the member's state on the server says how.
      if (follower) follower.now();
      break;
    default:
      break;
  }
});

// ---------------------------------------------------------------------------------------------
// Widget API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { "X-Widget-Session": sessionToken, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${boot.api}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (_) {
    throw new ApiError(0, "We could not reach the server. Check your connection and try again.");
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (payload.error && payload.error.message) || "Something went wrong. Please try again.";
    throw new ApiError(response.status, message);
  }
  return payload;
}

// ---------------------------------------------------------------------------------------------
// DOM helpers

let idCounter = 0;
const uid = (prefix) => `${prefix}-${++idCounter}`;

/** Builds an element: attributes (and `on*` listeners) from `attrs`, children as nodes or text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "className") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function button(label, onClick, variant = "secondary", type = "button") {
  return h("button", { type, className: `btn ${variant}`, onClick }, label);
}

function alertBox(message) {
  return message ? h("p", { role: "alert", className: "alert" }, message) : null;
}

function logo(inst) {
  if (inst.logo_url) return h("img", { src: inst.logo_url, alt: "", className: "logo", width: 32, height: 32 });
  return h("span", { className: "logo placeholder", "aria-hidden": "true" }, (inst.name || "?").charAt(0));
}

function announce(text) {
  live.textContent = "";
  setTimeout(() => {
    live.textContent = text;
  }, 30);
}

// ---------------------------------------------------------------------------------------------
// Steps

let step = null;
let screenSeq = 0;
let follower = null;

/** Replaces the screen; reports the step change to the host and moves focus to the heading. */
function show(nextStep, ...content) {
  screenSeq += 1;
  if (follower) {
    follower.stop();
    follower = null;
  }
  const previous = step;
  step = nextStep;
  root.dataset.step = nextStep;
  const main = h("main", {}, ...content);
  root.replaceChildren(main);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  if (previous && previous !== "loading" && previous !== nextStep) {
    post("connect/stepChange", { previous, current: nextStep });
  }
}

/** Disables a form's controls while `work` runs. */
async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, select")];
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((c) => (c.disabled = false));
    form.removeAttribute("aria-busy");
  }
}

const searchAllowed = () => !config.disable_institution_search;

function goBack() {
  if (["enterCreds", "oauth", "microdeposits"].includes(step) && searchAllowed()) {
    showSearch();
    return true;
  }
  return false;
}

function backToSearch(context) {
  post("connect/backToSearch", context ? { context } : {});
  if (searchAllowed()) showSearch();
}

// --- search ----------------------------------------------------------------------------------

function institutionList(institutions, query) {
  if (institutions.length === 0) {
    return h("p", { className: "empty" }, `No results for “${query}”.`);
  }
  return h(
    "ul",
    { className: "institutions", "aria-label": query ? "Search results" : "Popular institutions" },
    institutions.map((inst) =>
      h("li", {}, h("button", { type: "button", className: "institution", onClick: () => selectInstitution(inst) }, logo(inst), h("span", {}, inst.name))),
    ),
  );
}

async function showSearch() {
  const inputId = uid("search");
  const results = h("div", { className: "results", "aria-live": "polite" });
  let searchSeq = 0;
  let debounce = null;
  const load = async (query) => {
    const seq = ++searchSeq;
    try {
      const { institutions } = await api("GET", `/institutions?search=${encodeURIComponent(query)}`);
      if (seq === searchSeq) results.replaceChildren(institutionList(institutions, query));
    } catch (e) {
      if (seq === searchSeq) results.replaceChildren(alertBox(e.message));
    }
  };
  const input = h("input", {
    id: inputId,
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "Search",
    onInput: (e) => {
      clearTimeout(debounce);
      const query = e.target.value.trim();
      debounce = setTimeout(() => {
        if (query) post("connect/institutionSearch", { query });
        load(query);
      }, 150);
    },
  });
  show(
    "search",
    h("h1", {}, "Select your institution"),
    h("label", { for: inputId }, "Search institutions"),
    input,
    results,
    config.verification ? h("div", { className: "footer" }, button("Connect with routing and account numbers", () => showMicrodeposits(null), "link")) : null,
  );
  input.focus();
  await load("");
}

async function selectInstitution(summary) {
  post("connect/selectedInstitution", { code: summary.code, guid: summary.guid, name: summary.name, url: summary.url || "" });
  if (config.verification && !summary.instant_verification) {
    showMicrodeposits(summary);
    return;
  }
  try {
    const { institution } = await api("GET", `/institutions/${encodeURIComponent(summary.code)}`);
    if (institution.is_oauth) showOauth(institution, null);
    else showCredentials(institution, null, null);
  } catch (e) {
    showError(null, summary, e.message);
  }
}

// --- credentials ---------------------------------------------------------------------------

// `update` marks the update-credentials view (`update_credentials` with `current_member_guid`):
// the member's new credentials are announced as `connect/updateCredentials`, as MX's widget does.
function showCredentials(inst, member, message, update = false) {
  const fields = inst.credentials.map((c) => {
    const id = uid("cred");
    return {
      guid: c.guid,
      label: h("label", { for: id }, c.label),
      input: h("input", {
        id,
        name: c.field_name,
        type: c.field_type === "PASSWORD" ? "password" : "text",
        autocomplete: "off",
        autocapitalize: "off",
        spellcheck: "false",
        required: true,
      }),
    };
  });
  const error = h("div", {}, alertBox(message));
  const form = h(
    "form",
    { novalidate: true },
    fields.map((f) => h("div", { className: "field" }, f.label, f.input)),
    button("Continue", null, "primary", "submit"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const missing = fields.find((f) => !f.input.value);
    if (missing) {
      error.replaceChildren(alertBox(`Please enter your ${missing.label.textContent.toLowerCase()}.`));
      missing.input.focus();
      return;
    }
    const credentials = fields.map((f) => ({ guid: f.guid, value: f.input.value }));
    try {
      const body = { institution_code: inst.code, credentials };
      if (member) body.member_guid = member.guid;
      const { member: connected } = await busy(form, () => api("POST", "/members", body));
      fields.forEach((f) => (f.input.value = ""));
      if (update && member) post("connect/updateCredentials", { member_guid: member.guid, institution: { code: inst.code, guid: inst.guid } });
      else post("connect/enterCredentials", { institution: { code: inst.code, guid: inst.guid } });
      showConnecting(inst, connected);
    } catch (err) {
      if (!member) post("connect/createMemberError", { institution_guid: inst.guid, institution_code: inst.code });
      error.replaceChildren(alertBox(err.message));
    }
  });
  show(
    "enterCreds",
    h("div", { className: "brand" }, logo(inst), h("h1", {}, inst.name)),
    h("p", { className: "lead" }, "Enter your credentials"),
    error,
    form,
    inst.forgot_password_url ? h("p", { className: "help" }, h("a", { href: inst.forgot_password_url, target: "_blank", rel: "noopener noreferrer" }, "Forgot your password?")) : null,
    button("Back", () => backToSearch(), "link"),
  );
  const first = fields[0];
  if (first && !message) first.input.focus();
}

// --- OAuth -----------------------------------------------------------------------------------

function showOauth(inst, member) {
  let current = member;
  const status = h("p", { role: "status", className: "status" });
  const error = h("div");
  const go = button(
    "Go to log in",
    async () => {
      try {
        let uri;
        if (current && current.oauth_window_uri) {
          uri = current.oauth_window_uri;
          current.oauth_window_uri = null;
        } else if (current) {
          ({ member: current } = await api("POST", `/members/${encodeURIComponent(current.guid)}/oauth_window`));
          uri = current.oauth_window_uri;
          current.oauth_window_uri = null;
        } else {
          ({ member: current } = await api("POST", "/members", { institution_code: inst.code }));
          uri = current.oauth_window_uri;
          current.oauth_window_uri = null;
        }
        post("connect/oauthRequested", { url: uri, member_guid: current.guid });
        if (!config.is_mobile_webview) window.open(uri, "_blank", "popup,width=480,height=640");
        status.textContent = `Waiting for you to log in at ${inst.name}…`;
        follow(inst, current, (m) => m.outcome !== "oauth");
      } catch (e) {
        if (!current) post("connect/createMemberError", { institution_guid: inst.guid, institution_code: inst.code });
        error.replaceChildren(alertBox(e.message));
      }
    },
    "primary",
  );
  show(
    "oauth",
    h("div", { className: "brand" }, logo(inst), h("h1", {}, `Log in at ${inst.name}`)),
    error,
    h("p", { className: "lead" }, `You will log in on ${inst.name}'s own website and choose what to share. Come back here when you are done.`),
    go,
    status,
    button("Back", () => backToSearch(), "link"),
  );
}

// --- connecting and following a member --------------------------------------------------------

let lastStatus = new Map();

/** Reports the member's numeric status to the host whenever it changes. */
function reportStatus(member) {
  if (lastStatus.get(member.guid) !== member.connection_status_id) {
    lastStatus.set(member.guid, member.connection_status_id);
    post("connect/memberStatusUpdate", { member_guid: member.guid, connection_status: member.connection_status_id });
  }
}

/**
 * Polls the member until `settled(member)` says its state needs the end user, then routes to the
 * matching screen. Stops when the screen changes.
 */
function follow(inst, member, settled = (m) => m.outcome !== "working") {
  const seq = screenSeq;
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped || seq !== screenSeq) return;
    try {
      const { member: fresh } = await api("GET", `/members/${encodeURIComponent(member.guid)}`);
      if (stopped || seq !== screenSeq) return;
      reportStatus(fresh);
      if (settled(fresh)) {
        route(inst, fresh);
        return;
      }
    } catch (e) {
      if (e.status === 403 || e.status === 404) {
        showError(member, inst, e.message);
        return;
      }
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  follower = {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    now() {
      clearTimeout(timer);
      tick();
    },
  };
  timer = setTimeout(tick, 0);
}

function showConnecting(inst, member) {
  show(
    "connecting",
    h("div", { className: "brand" }, logo(inst), h("h1", {}, `Connecting to ${inst.name}`)),
    h("div", { className: "spinner", "aria-hidden": "true" }),
    h("p", { role: "status", className: "status" }, "Verifying your information. This can take a moment."),
  );
  follow(inst, member);
}

/** The screen for the member's current state. */
function route(inst, member) {
  switch (member.outcome) {
    case "working":
      showConnecting(inst, member);
      break;
    case "oauth":
      showOauth(inst, member);
      break;
    case "challenged":
      showMfa(inst, member);
      break;
    case "select_account":
      showSelectAccount(inst, member);
      break;
    case "connected":
      if (config.verification && !member.has_verified_account) {
        post("connect/invalidData", { member_guid: member.guid, code: 1000 });
        showError(member, inst, `None of your accounts at ${inst.name} can be verified. Please connect a checking or savings account.`);
      } else {
        post("connect/memberConnected", { member_guid: member.guid });
        showConnected(inst, member);
      }
      break;
    case "denied":
      withCredentials(inst, (full) => showCredentials(full, member, member.message));
      break;
    default:
      showError(member, inst, member.message || "Something went wrong. Please try again.");
  }
}

/** Runs `next` with the institution's credential fields, fetching them if `inst` lacks them. */
async function withCredentials(inst, next) {
  if (inst.credentials) {
    next(inst);
    return;
  }
  try {
    const { institution } = await api("GET", `/institutions/${encodeURIComponent(inst.code)}`);
    next(institution);
  } catch (e) {
    showError(null, inst, e.message);
  }
}

// --- MFA and account selection -----------------------------------------------------------------

function challengeField(challenge) {
  const id = uid("challenge");
  const radios = (options, withImages) =>
    h(
      "fieldset",
      {},
      h("legend", {}, challenge.label),
      options.map((o, i) => {
        const optionId = `${id}-${i}`;
        const text = withImages && o.data_uri ? h("img", { src: o.data_uri, alt: o.label }) : o.label;
        return h("div", { className: "option" }, h("input", { type: "radio", name: id, id: optionId, value: o.value || o.guid }), h("label", { for: optionId }, text));
      }),
    );
  switch (challenge.type) {
    case "OPTIONS":
      return { node: radios(challenge.options || [], false), value: (form) => form.querySelector(`input[name="${id}"]:checked`)?.value };
    case "IMAGE_OPTIONS":
      return { node: radios(challenge.options || [], true), value: (form) => form.querySelector(`input[name="${id}"]:checked`)?.value };
    case "IMAGE_DATA":
      return {
        node: h(
          "div",
          { className: "field" },
          h("img", { src: challenge.image_data, alt: "Security challenge image", className: "challenge-image" }),
          h("label", { for: id }, challenge.label),
          h("input", { id, type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false" }),
        ),
        value: (form) => form.querySelector(`#${id}`).value,
      };
    default:
      return {
        node: h("div", { className: "field" }, h("label", { for: id }, challenge.label), h("input", { id, type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false" })),
        value: (form) => form.querySelector(`#${id}`).value,
      };
  }
}

function answerForm(inst, member, fields) {
  const error = h("div");
  const form = h("form", { novalidate: true }, fields.map((f) => f.node), button("Continue", null, "primary", "submit"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const answers = fields.map((f) => ({ guid: f.guid, value: f.value(form) }));
    if (answers.some((a) => !a.value)) {
      error.replaceChildren(alertBox("Please answer every question."));
      return;
    }
    try {
      const { member: resumed } = await busy(form, () => api("PUT", `/members/${encodeURIComponent(member.guid)}/answers`, { answers }));
      form.reset();
      post("connect/submitMFA", { member_guid: member.guid });
      showConnecting(inst, resumed);
    } catch (err) {
      error.replaceChildren(alertBox(err.message));
    }
  });
  return [error, form];
}

function showMfa(inst, member) {
  const fields = member.challenges.map((c) => ({ guid: c.guid, ...challengeField(c) }));
  show("mfa", h("div", { className: "brand" }, logo(inst), h("h1", {}, "Verify your identity")), h("p", { className: "lead" }, `${inst.name} needs more information to connect.`), answerForm(inst, member, fields));
  member.challenges.length === 1 && fields[0].node.querySelector("input")?.focus();
}

function showSelectAccount(inst, member) {
  const challenge = member.challenges[0];
  const fields = [{ guid: challenge.guid, ...challengeField({ ...challenge, type: "OPTIONS", label: "Accounts" }) }];
  show("selectAccount", h("h1", {}, "Select your account"), h("p", { className: "lead" }, `Choose the ${inst.name} account you want to verify.`), answerForm(inst, member, fields));
}

// --- outcomes ----------------------------------------------------------------------------------

function showConnected(inst, member) {
  const text = config.verification ? `Your ${inst.name} account is verified.` : `You have successfully connected ${inst.name}.`;
  show(
    "connected",
    h("div", { className: "success-mark", "aria-hidden": "true" }, "✓"),
    h("h1", {}, "Connected"),
    h("p", { className: "lead" }, text),
    button("Done", () => post("connect/connected/primaryAction"), "primary"),
  );
  announce(text);
}

function showError(member, inst, message) {
  const retry = () => {
    if (!inst) return showSearch();
    if (member && member.is_oauth) return showOauth(inst, member);
    return withCredentials(inst, (full) => showCredentials(full, member, null));
  };
  show(
    "loginError",
    h("h1", {}, "Something went wrong"),
    alertBox(message),
    h("div", { className: "actions" }, button("Try again", retry, "primary"), searchAllowed() ? button("Back to search", () => backToSearch("loginError"), "secondary") : null),
  );
}

// --- micro-deposits ----------------------------------------------------------------------------

function showMicrodeposits(inst) {
  const ids = { routing: uid("routing"), account: uid("account"), type: uid("type") };
  const error = h("div");
  const form = h(
    "form",
    { novalidate: true },
    h("div", { className: "field" }, h("label", { for: ids.routing }, "Routing number"), h("input", { id: ids.routing, inputmode: "numeric", autocomplete: "off", maxlength: 9 })),
    h("div", { className: "field" }, h("label", { for: ids.account }, "Account number"), h("input", { id: ids.account, inputmode: "numeric", autocomplete: "off", maxlength: 17 })),
    h(
      "div",
      { className: "field" },
      h("label", { for: ids.type }, "Account type"),
      h("select", { id: ids.type }, h("option", { value: "CHECKING" }, "Checking"), h("option", { value: "SAVINGS" }, "Savings")),
    ),
    button("Continue", null, "primary", "submit"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {
      routing_number: form.querySelector(`#${ids.routing}`).value.trim(),
      account_number: form.querySelector(`#${ids.account}`).value.trim(),
      account_type: form.querySelector(`#${ids.type}`).value,
    };
    try {
      const { micro_deposit } = await busy(form, () => api("POST", "/micro_deposits", body));
      form.reset();
      showMicrodepositsSent(micro_deposit);
    } catch (err) {
      error.replaceChildren(alertBox(err.message));
    }
  });
  show(
    "microdeposits",
    h("h1", {}, "Enter your account details"),
    h(
      "p",
      { className: "lead" },
      inst
        ? `${inst.name} can't be verified instantly. Enter your account details and we'll send two small deposits to verify it.`
        : "Enter your account details and we'll send two small deposits to verify your account.",
    ),
    error,
    form,
    searchAllowed() ? button("Back", () => backToSearch(), "link") : null,
  );
}

function showMicrodepositsSent(deposit) {
  show(
    "microdepositsSent",
    h("h1", {}, "Check your bank account"),
    h("p", { className: "lead" }, `Two small deposits are on their way to the account ending in ${deposit.account_number_last4}. When they arrive, come back to confirm the amounts.`),
    button("Done", () => post("connect/connected/primaryAction"), "primary"),
  );
}

// ---------------------------------------------------------------------------------------------
// Start

async function start() {
  post("load");
  try {
    if (config.current_member_guid) {
      const { member } = await api("GET", `/members/${encodeURIComponent(config.current_member_guid)}`);
      const inst = { code: member.institution_code, guid: member.institution_guid, name: member.institution_name };
      if (config.update_credentials && !member.is_oauth) withCredentials(inst, (full) => showCredentials(full, member, null, true));
      else route(inst, member);
    } else if (config.current_institution_code) {
      const { institution } = await api("GET", `/institutions/${encodeURIComponent(config.current_institution_code)}`);
      post("connect/selectedInstitution", { code: institution.code, guid: institution.guid, name: institution.name, url: institution.url || "" });
      if (institution.is_oauth) showOauth(institution, null);
      else showCredentials(institution, null, null);
    } else {
      await showSearch();
    }
  } catch (e) {
    showError(null, null, e.message);
  }
  const initial = { enterCreds: "enterCreds", oauth: "enterCreds", mfa: "mfa", selectAccount: "mfa", connected: "connected", loginError: "loginError" }[step] || "search";
  post("connect/loaded", { initial_step: initial });
}

start();
