'use strict';
// The quote request that crashed in production, replayed under the real @sentry/node SDK.
//
// Run by `python -m evals.record_cases --case js-freight-quotes-promises`: the recorder's
// runner initialises @sentry/node (a transport that writes events to a file), then calls this
// function with `Sentry`, `appRequire` (require relative to the copy of repo/) and `request`
// (an HTTP request to a local server, sent as a reverse proxy forwards it).
const assert = require('node:assert/strict');

module.exports = async ({ Sentry, appRequire, request }) => {
  const { createServer } = appRequire('src/server.js');
  // As src/server.js is wired in production: unexpected errors go to the error tracker.
  const server = createServer({ onError: (err) => Sentry.captureException(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const shop = { 'user-agent': 'checkout-service/5.4.1 undici', accept: 'application/json' };
  const host = 'quotes.internal.example.com';
  try {
    assert.equal((await request(server, 'GET', '/health', { host })).status, 200);
    assert.equal((await request(server, 'GET', '/quotes?weight_kg=0&from=DE&to=FR', { headers: shop, host })).status, 400);
    const res = await request(server, 'GET', '/quotes?weight_kg=12.5&from=DE&to=FR', { headers: shop, host });
    assert.equal(res.status, 500, res.body);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
};
