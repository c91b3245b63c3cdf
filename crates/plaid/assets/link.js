// The Link page inside the host's iframe: built node by node from the DOM (no HTML strings), talking to
// openiav's Link session API with the session's own token in a header, and to the host page's
// Link script by postMessage (only to the window that opened it, at that window's origin).
const API = "/link/api";
const HOST = "openiav-link-host";
const PAGE = "openiav-link-page";

const state = {
  parentOrigin: null,
  session: null,
  linkSessionId: null,
  update: null,
  institution: null,
  institutions: [],
  view: "LOADING",
  lastError: null,
  mfaType: null,
  done: false,
};

const pane = document.querySelector("#plaid-link main");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick" || k === "oninput" || k === "onsubmit" || k === "onchange") node.addEventListener(k.slice(2), v);
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function send(message) {
  if (!state.parentOrigin) return;
  message.source = PAGE;
  // An opaque parent origin ("null", e.g. a file) cannot be named; the message still goes only to window.parent.
  window.parent.postMessage(message, state.parentOrigin === "null" ? "*" : state.parentOrigin);
}

function requestId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 15);
}

function emit(eventName, extra) {
  const metadata = {
    error_code: null,
    error_message: null,
    error_type: null,
    exit_status: null,
    institution_id: state.institution ? state.institution.institution_id : null,
    institution_name: state.institution ? state.institution.name : null,
    institution_search_query: null,
    is_update_mode: state.update ? "yes" : "no",
    match_reason: null,
    mfa_type: null,
    request_id: requestId(),
    link_session_id: state.linkSessionId,
    timestamp: new Date().toISOString(),
    view_name: null,
    selection: null,
    ...extra,
  };
  send({ type: "event", eventName, metadata });
}

function exitStatus() {
  switch (state.view) {
    case "SELECT_INSTITUTION":
      return "institution_not_found";
    case "CREDENTIAL":
      return "requires_credentials";
    case "MFA":
      return state.mfaType === "code" ? "requires_code" : "requires_" + state.mfaType;
    case "SELECT_ACCOUNT":
      return "requires_account_selection";
    default:
      return null;
  }
}

function institutionMetadata() {
  return state.institution ? { name: state.institution.name, institution_id: state.institution.institution_id } : null;
}

function exit() {
  const status = exitStatus();
  emit("EXIT", { exit_status: status, view_name: state.view });
  const metadata = { institution: institutionMetadata(), status, link_session_id: state.linkSessionId, request_id: requestId() };
  send({ type: "exit", error: state.lastError, metadata });
}

function errorOf(body) {
  return {
    error_type: body.error_type,
    error_code: body.error_code,
    error_message: body.error_message,
    display_message: body.display_message ?? null,
  };
}

async function call(method, path, body) {
  const headers = { "x-link-session": state.session || "" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json = {};
  try {
    json = await res.json();
  } catch (e) {
    json = { error_type: "API_ERROR", error_code: "INTERNAL_SERVER_ERROR", error_message: "an unexpected error occurred" };
  }
  return { ok: res.ok, body: json };
}

function transition(view, extra) {
  state.view = view;
  pane.dataset.view = view;
  emit("TRANSITION_VIEW", { view_name: view, ...extra });
}

function screen(view, title, ...content) {
  const close = el("button", { type: "button", className: "close", "aria-label": "Exit", id: "link-exit", onclick: exit }, "×");
  pane.replaceChildren(
    el("header", {}, el("span", { className: "brand" }, "openiav Link"), close),
    el("h1", { id: "link-title" }, title),
    ...content.filter((c) => c !== null && c !== undefined && c !== false),
  );
  pane.dataset.view = view;
}

function primary(label, onclick, attrs) {
  return el("button", { type: "button", className: "primary", onclick, ...attrs }, label);
}

function fatal(error) {
  state.lastError = error;
  emit("ERROR", { error_type: error.error_type, error_code: error.error_code, error_message: error.error_message, view_name: "ERROR" });
  transition("ERROR", { error_type: error.error_type, error_code: error.error_code, error_message: error.error_message });
  screen(
    "ERROR",
    "Something went wrong",
    el("p", { role: "alert", className: "error" }, error.display_message || error.error_message),
    el("p", { className: "code" }, error.error_code),
    primary("Exit", exit, { id: "link-error-exit" }),
  );
}

async function start(token) {
  if (state.done) return;
  if (!state.session) {
    screen("LOADING", "Loading…");
    const res = await fetch(API + "/open", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ link_token: token }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) return fatal(errorOf(body));
    state.session = body.session_token;
    state.linkSessionId = body.link_session_id;
    state.update = body.update;
    state.institutions = body.institutions || [];
  }
  state.lastError = null;
  emit("OPEN", { view_name: null });
  if (state.update) {
    state.institution = state.update;
    showCredentials();
  } else {
    showConsent();
  }
}

function showConsent() {
  transition("CONSENT");
  screen(
    "CONSENT",
    "Connect your bank account",
    el("p", {}, "This application uses openiav Link to connect your account. Your credentials are checked by the sandbox and never shared with the application."),
    el("ul", { className: "points" }, el("li", {}, "Secure: only the account you pick is shared"), el("li", {}, "Private: your login is never stored")),
    primary("Continue", showInstitutions, { id: "link-consent-continue" }),
  );
}

function institutionButton(inst) {
  return el(
    "li",
    {},
    el("button", { type: "button", className: "institution", "data-institution-id": inst.institution_id, onclick: () => pickInstitution(inst) }, inst.name),
  );
}

function showInstitutions() {
  transition("SELECT_INSTITUTION");
  const list = el("ul", { className: "institutions", id: "link-institutions" }, state.institutions.map(institutionButton));
  let timer = null;
  const search = el("input", {
    type: "search",
    id: "link-search",
    placeholder: "Search",
    "aria-label": "Search institutions",
    autocomplete: "off",
    oninput: (e) => {
      clearTimeout(timer);
      const query = e.target.value;
      timer = setTimeout(async () => {
        emit("SEARCH_INSTITUTION", { institution_search_query: query, view_name: "SELECT_INSTITUTION" });
        const res = await call("GET", "/institutions?query=" + encodeURIComponent(query));
        if (res.ok) list.replaceChildren(...res.body.institutions.map(institutionButton));
      }, 150);
    },
  });
  screen("SELECT_INSTITUTION", "Select your bank", search, list);
}

function pickInstitution(inst) {
  state.institution = inst;
  state.lastError = null;
  emit("SELECT_INSTITUTION", { view_name: "SELECT_INSTITUTION" });
  showCredentials();
}

function showCredentials(error) {
  if (!error) transition("CREDENTIAL");
  const username = el("input", { id: "link-username", name: "username", autocomplete: "off", "aria-label": "Username", placeholder: "Username" });
  const password = el("input", { id: "link-password", name: "password", type: "password", autocomplete: "off", "aria-label": "Password", placeholder: "Password" });
  const submit = primary("Submit", async () => {
    submit.disabled = true;
    emit("SUBMIT_CREDENTIALS", { view_name: "CREDENTIAL" });
    const res = await call("POST", "/credentials", {
      institution_id: state.institution.institution_id,
      username: username.value,
      password: password.value,
    });
    submit.disabled = false;
    if (!res.ok) return fatal(errorOf(res.body));
    follow(res.body, "CREDENTIAL");
  }, { id: "link-submit-credentials" });
  screen(
    "CREDENTIAL",
    "Log in at " + state.institution.name,
    error ? el("p", { role: "alert", className: "error", id: "link-error" }, error.display_message || error.error_message) : null,
    el("label", {}, "Username", username),
    el("label", {}, "Password", password),
    submit,
  );
  username.focus();
}

function follow(step, from) {
  switch (step.outcome) {
    case "error": {
      const error = errorOf(step.error);
      state.lastError = error;
      emit("ERROR", { error_type: error.error_type, error_code: error.error_code, error_message: error.error_message, view_name: from });
      if (!step.retry) return fatal(error);
      return from === "MFA" ? showMfa(state.lastMfa, error) : showCredentials(error);
    }
    case "mfa":
      state.lastError = null;
      state.lastMfa = step;
      return showMfa(step);
    case "select_account":
      state.lastError = null;
      return showAccounts(step.accounts);
    case "connected":
      state.lastError = null;
      return showConnected(step);
    default:
      return fatal({ error_type: "API_ERROR", error_code: "INTERNAL_SERVER_ERROR", error_message: "an unexpected error occurred" });
  }
}

function showMfa(step, error) {
  state.mfaType = step.mfa_type;
  if (!error) transition("MFA", { mfa_type: step.mfa_type });
  const fields = [];
  const read = [];
  step.prompts.forEach((prompt, i) => {
    if (prompt.choices && prompt.choices.length) {
      const group = el("fieldset", { className: "choices" }, el("legend", {}, prompt.question));
      for (const choice of prompt.choices) {
        group.append(el("label", {}, el("input", { type: "radio", name: "mfa-" + i, value: choice }), choice));
      }
      fields.push(group);
      read.push(() => {
        const picked = group.querySelector("input:checked");
        return picked ? picked.value : "";
      });
    } else {
      const input = el("input", { className: "mfa-answer", id: "link-mfa-" + i, autocomplete: "off", "aria-label": prompt.question });
      fields.push(el("label", {}, prompt.question, input));
      read.push(() => input.value);
    }
  });
  const submit = primary("Submit", async () => {
    submit.disabled = true;
    emit("SUBMIT_MFA", { mfa_type: step.mfa_type, view_name: "MFA" });
    const res = await call("POST", "/mfa", { answers: read.map((r) => r()) });
    submit.disabled = false;
    if (!res.ok) return fatal(errorOf(res.body));
    follow(res.body, "MFA");
  }, { id: "link-submit-mfa" });
  screen(
    "MFA",
    "Verify your identity",
    error ? el("p", { role: "alert", className: "error", id: "link-error" }, error.display_message || error.error_message) : null,
    ...fields,
    submit,
  );
}

function showAccounts(accounts) {
  transition("SELECT_ACCOUNT");
  let picked = null;
  const next = primary("Continue", async () => {
    next.disabled = true;
    const res = await call("POST", "/accounts", { account_ids: [picked] });
    if (!res.ok) {
      next.disabled = false;
      return fatal(errorOf(res.body));
    }
    follow(res.body, "SELECT_ACCOUNT");
  }, { id: "link-accounts-continue", disabled: true });
  const list = el(
    "fieldset",
    { className: "accounts", id: "link-accounts" },
    el("legend", {}, "Select the account to share"),
    accounts.map((a) =>
      el(
        "label",
        { className: "account" },
        el("input", {
          type: "radio",
          name: "account",
          value: a.id,
          "data-subtype": a.subtype,
          onchange: () => {
            picked = a.id;
            next.disabled = false;
          },
        }),
        el("span", { className: "name" }, a.name),
        el("span", { className: "mask" }, "•••• " + a.mask),
      ),
    ),
  );
  screen("SELECT_ACCOUNT", state.institution.name, list, next);
}

function showConnected(step) {
  state.done = true;
  transition("CONNECTED");
  screen(
    "CONNECTED",
    "Success",
    el("p", { id: "link-connected" }, "Your account at " + state.institution.name + " has been connected."),
    primary("Continue", () => {
      emit("HANDOFF", { view_name: "CONNECTED" });
      send({ type: "success", publicToken: step.public_token, metadata: step.metadata });
    }, { id: "link-connected-continue" }),
  );
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent) return;
  const m = event.data;
  if (!m || typeof m !== "object" || m.source !== HOST) return;
  if (state.parentOrigin === null) {
    if (m.type !== "open") return;
    state.parentOrigin = event.origin;
  } else if (event.origin !== state.parentOrigin) {
    return;
  }
  if (m.type === "open") start(String(m.token || ""));
  else if (m.type === "exit") exit();
  // "submit" (Plaid Layer's phone number) has no use in this sandbox.
});

window.parent.postMessage({ source: PAGE, type: "ready" }, "*");
