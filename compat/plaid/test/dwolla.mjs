// A few plain HTTP calls to openiav's payments API (no SDK): enough to get a link token the way
// Dwolla's Plaid flow does (customer → Plaid partner → exchange session →
// externalProviderSessionToken). The SDK suites in compat/dwolla run the whole flow.

const HAL = 'application/vnd.dwolla.v1.hal+json';

export async function dwolla(base = process.env.DWOLLA_BASE_URL) {
  const basic = Buffer.from(`${process.env.DWOLLA_KEY}:${process.env.DWOLLA_SECRET}`).toString('base64');
  const t = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (t.status !== 200) throw new Error(`token: ${t.status} ${await t.text()}`);
  const { access_token: token } = await t.json();
  const call = async (method, url, body) => {
    const r = await fetch(url.startsWith('http') ? url : `${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: HAL, ...(body ? { 'content-type': HAL } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, location: r.headers.get('location'), body: text ? JSON.parse(text) : null };
  };
  return {
    call,
    /** A new customer's Plaid exchange session's link token. */
    async linkToken() {
      const c = await call('POST', '/customers', {
        firstName: 'Plaid',
        lastName: 'Compat',
        email: `plaid-${Date.now()}-${Math.random().toString(16).slice(2)}@example.com`,
      });
      if (c.status !== 201) throw new Error(`customer: ${c.status} ${JSON.stringify(c.body)}`);
      const partners = await call('GET', '/exchange-partners');
      const plaid = partners.body._embedded['exchange-partners'].find((p) => p.name.toLowerCase() === 'plaid');
      const s = await call('POST', `${c.location}/exchange-sessions`, {
        _links: { 'exchange-partner': { href: plaid._links.self.href } },
      });
      if (s.status !== 201) throw new Error(`exchange session: ${s.status} ${JSON.stringify(s.body)}`);
      const session = await call('GET', s.location);
      return session.body.externalProviderSessionToken;
    },
  };
}
