// A front end written for Plaid, unchanged: react-plaid-link's usePlaidLink({ token, onSuccess })
// and a button that opens Link. The page loads Plaid's CDN script as react-plaid-link always
// does; the browser helper answers that request with openiav's Link script.
import React, { useCallback } from 'react';
import { createRoot } from 'react-dom/client';
import { usePlaidLink } from 'react-plaid-link';

window.__events = [];

function App({ token }) {
  const onSuccess = useCallback((public_token, metadata) => {
    window.__events.push({ callback: 'onSuccess' });
    window.__result = { public_token, metadata };
  }, []);
  const onExit = useCallback((error, metadata) => {
    window.__events.push({ callback: 'onExit' });
    window.__exit = { error, metadata };
  }, []);
  const onEvent = useCallback((eventName, metadata) => {
    window.__events.push({ callback: 'onEvent', eventName, metadata });
  }, []);
  const { open, ready } = usePlaidLink({ token, onSuccess, onExit, onEvent });
  return (
    <main>
      <h1>Add a bank account</h1>
      <button id="connect" type="button" disabled={!ready} onClick={() => open()}>
        Connect a bank account
      </button>
    </main>
  );
}

const token = new URLSearchParams(window.location.search).get('token');
createRoot(document.getElementById('root')).render(<App token={token} />);
