// The host side of the widget suite: a tiny HTTP server, on an origin of its own, that serves a
// page embedding openiav's Connect widget through MX's unmodified web widget SDK
// (@mxenabled/web-widget-sdk 0.0.15, its self-contained UMD build, which defines `window.widgetSdk`).
//
//   node compat/widget/host/server.mjs [--port 8090] [--host 127.0.0.1]
//
// then open http://127.0.0.1:8090/?url=<widget URL> (or paste the URL into the page's text box).
// The tests import startHostServer() and run it on a free port.
//
// Routes:
//   GET /, /index.html        the host page (host/index.html)
//   GET /sdk.js               node_modules/@mxenabled/web-widget-sdk/dist/umd/index.js
//   GET /selftest-widget      a stand-in widget used only by the harness self-test: it posts
//                             a few SDK messages to its parent (see test/00_harness.test.mjs)
//   GET /health               200 "ok"

import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Path of the SDK's UMD build (the package's `exports` only name the CJS and ESM entry points). */
export function sdkUmdPath() {
  const cjs = require.resolve('@mxenabled/web-widget-sdk'); // …/dist/cjs/index.js
  return path.join(path.dirname(cjs), '..', 'umd', 'index.js');
}

/** Version of the installed SDK package. */
export function sdkVersion() {
  const cjs = require.resolve('@mxenabled/web-widget-sdk');
  return require(path.join(path.dirname(cjs), '..', '..', 'package.json')).version;
}

const SELFTEST_WIDGET = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>self-test widget</title></head>
<body><div id="mx-widget" data-step="search"><h1>Self-test widget</h1><p id="received">none</p></div>
<script>
  // Posts what a Connect widget posts, as objects, to the embedding page.
  const meta = { user_guid: 'USR-selftest', session_guid: 'SES-selftest' };
  const post = (type, metadata) => parent.postMessage({ mx: true, type, metadata }, '*');
  window.addEventListener('message', (e) => {
    // The SDK sends JSON strings (mx/sdk/info after mx/load).
    document.getElementById('received').textContent = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  });
  post('mx/load', {});
  post('mx/connect/loaded', { ...meta, initial_step: 'search' });
  post('mx/connect/stepChange', { ...meta, previous: 'search', current: 'enterCreds' });
  if (location.search.includes('invalid=1')) {
    post('mx/connect/memberConnected', { ...meta }); // member_guid missing: a decode error
    post('mx/connect/noSuchEvent', { ...meta }); // unknown type
  }
</script></body></html>
`;

function send(res, status, type, body) {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://host.invalid');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  switch (url.pathname) {
    case '/':
    case '/index.html':
      return send(res, 200, 'text/html; charset=utf-8', await fs.readFile(path.join(HERE, 'index.html')));
    case '/sdk.js':
      return send(res, 200, 'text/javascript; charset=utf-8', await fs.readFile(sdkUmdPath()));
    case '/selftest-widget':
      return send(res, 200, 'text/html; charset=utf-8', SELFTEST_WIDGET);
    case '/health':
      return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    case '/favicon.ico':
      res.writeHead(204);
      return res.end();
    default:
      return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

/**
 * Starts the host server. Resolves to { url, port, close() }; `url` ends without a slash.
 */
export function startHostServer({ port = 0, host = '127.0.0.1' } = {}) {
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${err.stack || err}\n`);
      else res.destroy(err);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolve({
        url: `http://${host}:${bound}`,
        port: bound,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
  };
  const { url } = await startHostServer({
    port: Number(arg('--port', process.env.HOST_PORT || 8090)),
    host: arg('--host', process.env.HOST_HOST || '127.0.0.1'),
  });
  console.log(`example host page (web-widget-sdk ${sdkVersion()}): ${url}/`);
  console.log(`open ${url}/?url=<widget URL from POST /users/{user_guid}/widget_urls>`);
}
