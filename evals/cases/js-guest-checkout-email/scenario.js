'use strict';
// The guest checkout that crashed in production, replayed under the real @sentry/node SDK.
//
// Run by `python -m evals.record_cases --case js-guest-checkout-email`: the recorder's runner
// initialises @sentry/node (a transport that writes events to a file), then calls this
// function with `Sentry`, `appRequire` (require relative to the copy of repo/) and `request`
// (an HTTP request to a local server, sent as a reverse proxy forwards it).
const assert = require('node:assert/strict');

module.exports = async ({ Sentry, appRequire, request }) => {
  const { createServer } = appRequire('src/server.js');
  // As src/server.js is wired in production: unexpected errors go to the error tracker.
  const server = createServer({ onError: (err) => Sentry.captureException(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const storefront = {
    'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    accept: 'application/json',
    referer: 'https://shop.example.com/checkout',
  };
  try {
    assert.equal((await request(server, 'GET', '/health')).status, 200);
    let res = await request(server, 'POST', '/orders', {
      headers: storefront,
      json: { items: [{ sku: 'TEE-02', qty: 1 }], customer: { id: 'cus_2231', email: 'Mia.Berg@example.se', name: 'Mia' } },
    });
    assert.equal(res.status, 201, res.body);
    // The first order through the new guest checkout.
    res = await request(server, 'POST', '/orders', {
      headers: storefront,
      json: { items: [{ sku: 'MUG-01', qty: 2 }, { sku: 'CAP-03', qty: 1 }], guest: { email: 'noah.w@example.com', name: 'Noah' } },
    });
    assert.equal(res.status, 500, res.body);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
};
