'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { parseDay } = require('../src/dates');
const { aggregate, emptyBuckets } = require('../src/report');
const { startApp } = require('../testkit/app');

test('a range without events has a zero for every day', () => {
  const days = aggregate([], parseDay('2026-03-01'), parseDay('2026-03-03'));
  assert.deepEqual(days.map((d) => [d.day, d.signups, d.activations]), [['2026-03-01', 0, 0], ['2026-03-02', 0, 0], ['2026-03-03', 0, 0]]);
});

test('buckets are keyed by ISO day', () => {
  assert.deepEqual(Object.keys(emptyBuckets(parseDay('2026-12-31'), parseDay('2027-01-01'))), ['2026-12-31', '2027-01-01']);
});

test('events are counted on their UTC day', () => {
  const events = [
    { type: 'signup', ts: '2026-03-01T23:59:59Z' },
    { type: 'signup', ts: '2026-03-02T00:00:00Z' },
    { type: 'activation', ts: '2026-03-02T10:00:00+02:00' },
  ];
  const days = aggregate(events, parseDay('2026-03-01'), parseDay('2026-03-02'));
  assert.deepEqual(days.map((d) => [d.day, d.signups, d.activations]), [['2026-03-01', 1, 0], ['2026-03-02', 1, 1]]);
});

test('bad ranges are a 400', async () => {
  const app = await startApp();
  try {
    assert.equal((await app.get('/reports/daily?from=2026-03-05&to=2026-03-01')).status, 400);
    assert.equal((await app.get('/reports/daily?from=yesterday&to=2026-03-01')).status, 400);
  } finally {
    await app.close();
  }
});

test('the daily report endpoint counts the warehouse events', async () => {
  const app = await startApp();
  try {
    const res = await app.get('/reports/daily?from=2026-03-01&to=2026-03-04');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.totals, { signups: 4, activations: 2 });
    assert.deepEqual(res.body.days.map((d) => d.signups), [2, 0, 1, 1]);
    assert.equal(app.errors.length, 0);
  } finally {
    await app.close();
  }
});
