// Plaid's documented vanilla integration: Plaid.create({ token, onSuccess, onExit, onEvent,
// onLoad }) and handler.open() on a click.
window.__events = [];
const button = document.getElementById('connect');
const token = new URLSearchParams(window.location.search).get('token');
const handler = window.Plaid.create({
  token,
  onLoad: () => {
    window.__events.push({ callback: 'onLoad' });
    button.disabled = false;
  },
  onSuccess: (public_token, metadata) => {
    window.__events.push({ callback: 'onSuccess' });
    window.__result = { public_token, metadata };
  },
  onExit: (error, metadata) => {
    window.__events.push({ callback: 'onExit' });
    window.__exit = { error, metadata };
  },
  onEvent: (eventName, metadata) => {
    window.__events.push({ callback: 'onEvent', eventName, metadata });
  },
});
button.addEventListener('click', () => handler.open());
