'use strict';
// The dashboard request that crashed in production, replayed under the real @sentry/node SDK.
//
// Run by `python -m evals.record_cases --case js-report-month-key`: the recorder's runner
// initialises @sentry/node (a transport that writes events to a file), then calls this
// function with `Sentry`, `appRequire` (require relative to the copy of repo/) and `request`
// (an HTTP request to a local server, sent as a reverse proxy forwards it).
const assert = require('node:assert/strict');

module.exports = async ({ Sentry, appRequire, request }) => {
  const { createServer } = appRequire('src/server.js');
  // As src/server.js is wired in production: unexpected errors go to the error tracker.
  const server = createServer({ onError: (err) => Sentry.captureException(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dashboard = {
    'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    accept: 'application/json',
    referer: 'https://growth.example.com/dashboards/signups',
  };
  const host = 'growth-api.example.com';
  try {
    assert.equal((await request(server, 'GET', '/health', { host })).status, 200);
    // A future range has no events yet: answers fine.
    let res = await request(server, 'GET', '/reports/daily?from=2026-04-01&to=2026-04-07', { headers: dashboard, host });
    assert.equal(res.status, 200, res.body);
    // The dashboard's default view: the current month so far.
    res = await request(server, 'GET', '/reports/daily?from=2026-03-01&to=2026-03-04', { headers: dashboard, host });
    assert.equal(res.status, 500, res.body);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
};
