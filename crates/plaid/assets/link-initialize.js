// openiav's Plaid Link script, served in place of Plaid's link-initialize.js. It defines
// window.Plaid.create(config), which preloads Link's page in a hidden full-page iframe served
// by openiav and returns a handler { open(), exit(options), destroy(), submit(data) }. The
// iframe and this script talk by postMessage; each side accepts only the other's window and
// origin. The link token travels to the iframe by message, never in a URL.
(function () {
  "use strict";
  var ORIGIN = "__OPENIAV_LINK_ORIGIN__";
  var FRAME_URL = ORIGIN + "/link/v2/stable/link.html";
  var HOST = "openiav-link-host";
  var PAGE = "openiav-link-page";
  var count = 0;

  function callback(fn) {
    return typeof fn === "function" ? fn : function () {};
  }

  function create(config) {
    config = config || {};
    var onSuccess = callback(config.onSuccess);
    var onExit = callback(config.onExit);
    var onEvent = callback(config.onEvent);
    var onLoad = callback(config.onLoad);
    var token = config.token;
    var iframe = document.createElement("iframe");
    count += 1;
    iframe.id = "plaid-link-iframe-" + count;
    iframe.title = "Plaid Link";
    iframe.src = FRAME_URL;
    iframe.setAttribute("aria-hidden", "true");
    var style = iframe.style;
    style.position = "fixed";
    style.top = "0";
    style.left = "0";
    style.width = "100%";
    style.height = "100%";
    style.border = "0";
    style.zIndex = "2147483647";
    style.display = "none";
    style.background = "transparent";
    style.colorScheme = "normal";

    var loaded = false;
    var wantOpen = false;
    var isOpen = false;
    var destroyed = false;

    function post(message) {
      if (!iframe.contentWindow) return;
      message.source = HOST;
      iframe.contentWindow.postMessage(message, ORIGIN);
    }
    function show() {
      style.display = "block";
      iframe.removeAttribute("aria-hidden");
      isOpen = true;
      try {
        iframe.focus();
      } catch (e) {
        // focus is a courtesy
      }
    }
    function hide() {
      style.display = "none";
      iframe.setAttribute("aria-hidden", "true");
      isOpen = false;
    }
    function startOpen() {
      wantOpen = false;
      show();
      post({ type: "open", token: token == null ? "" : String(token) });
    }
    function onMessage(event) {
      if (destroyed || event.origin !== ORIGIN || event.source !== iframe.contentWindow) return;
      var m = event.data;
      if (!m || typeof m !== "object" || m.source !== PAGE) return;
      if (m.type === "ready") {
        if (loaded) return;
        loaded = true;
        onLoad();
        if (wantOpen) startOpen();
      } else if (m.type === "event") {
        onEvent(String(m.eventName), m.metadata || {});
      } else if (m.type === "success") {
        hide();
        onSuccess(String(m.publicToken), m.metadata || {});
      } else if (m.type === "exit") {
        hide();
        onExit(m.error || null, m.metadata || {});
      }
    }
    window.addEventListener("message", onMessage);

    function attach() {
      if (!destroyed && !iframe.parentNode) (document.body || document.documentElement).appendChild(iframe);
    }
    if (document.body) attach();
    else document.addEventListener("DOMContentLoaded", attach);

    return {
      open: function () {
        if (destroyed) return;
        if (loaded) startOpen();
        else wantOpen = true;
      },
      exit: function (options) {
        if (destroyed || !isOpen) return;
        if (options && options.force) hide();
        post({ type: "exit" });
      },
      destroy: function () {
        destroyed = true;
        window.removeEventListener("message", onMessage);
        if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
      },
      submit: function (data) {
        if (!destroyed) post({ type: "submit", data: data || {} });
      },
    };
  }

  window.Plaid = { create: create, version: "openiav-link-1" };
})();
