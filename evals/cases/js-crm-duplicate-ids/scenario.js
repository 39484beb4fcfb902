'use strict';
// The nightly import that crashed in production, replayed under the real @sentry/node SDK.
//
// Run by `python -m evals.record_cases --case js-crm-duplicate-ids`: the recorder's runner
// initialises @sentry/node (a transport that writes events to a file), then calls this
// function with `Sentry`, `appRequire` (require relative to the copy of repo/) and `request`
// (an HTTP request to a local server, sent as a reverse proxy forwards it).
const assert = require('node:assert/strict');

module.exports = async ({ Sentry, appRequire, request }) => {
  const { createServer } = appRequire('src/server.js');
  // As src/server.js is wired in production: unexpected errors go to the error tracker.
  const server = createServer({ onError: (err) => Sentry.captureException(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const vendor = { 'user-agent': 'LegacyCRM-Export/11.4 (nightly)', accept: 'application/json' };
  const host = 'crm-sync.example.com';
  const rec = (id, email, name, updatedAt) => ({ id, email, name, updatedAt });
  try {
    let res = await request(server, 'POST', '/imports/legacy-crm', { headers: vendor, host, json: {
      exportedAt: '2026-03-28T23:00:00Z',
      records: [rec('LC-20931', 'h.meyer@example.de', 'Hanna Meyer', '2026-02-11T09:12:00Z'),
        rec('LC-20932', 'ops@northwind.example', 'Northwind Ops', '2026-03-01T15:40:00Z')],
    } });
    assert.equal(res.status, 200, res.body);
    // The next night's export: the vendor's merge job left LC-20931 in twice, with different data.
    res = await request(server, 'POST', '/imports/legacy-crm', { headers: vendor, host, json: {
      exportedAt: '2026-03-29T23:00:00Z',
      records: [rec('LC-20931', 'h.meyer@example.de', 'Hanna Meyer', '2026-02-11T09:12:00Z'),
        rec('LC-20932', 'ops@northwind.example', 'Northwind Ops', '2026-03-01T15:40:00Z'),
        rec('LC-20977', 'j.berg@example.se', 'Jonas Berg', '2026-03-29T18:02:00Z'),
        rec('LC-20931', 'hanna.schulz@example.de', 'Hanna Schulz', '2026-03-29T17:55:00Z')],
    } });
    assert.equal(res.status, 500, res.body);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
};
