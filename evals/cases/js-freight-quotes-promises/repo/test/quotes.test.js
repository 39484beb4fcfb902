'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { CarrierError, tariff } = require('../src/carriers');
const { fetchQuotes } = require('../src/quotes');
const { startApp } = require('../testkit/app');

const fast = { base: 10, perKg: 1, days: 1, maxKg: 50, lanes: ['DE-FR'], latency: 1 };

test('a carrier can refuse a shipment', async () => {
  await assert.rejects(tariff('T', fast).quote({ weightKg: 80, from: 'DE', to: 'FR' }), CarrierError);
});

test('a bad request is a 400', async () => {
  const app = await startApp();
  try {
    assert.equal((await app.get('/quotes?weight_kg=abc&from=DE&to=FR')).status, 400);
  } finally {
    await app.close();
  }
});

test('fetchQuotes leaves out carriers that refuse', async () => {
  const carriers = [tariff('A', fast), tariff('B', { ...fast, lanes: ['DE-NL'] }), tariff('C', { ...fast, base: 5, days: 4 })];
  const quotes = await fetchQuotes({ weightKg: 10, from: 'DE', to: 'FR' }, carriers);
  assert.deepEqual(quotes.map((q) => [q.carrier, q.price.amount]), [['A', 20], ['C', 15]]);
});

test('the endpoint offers the cheapest and the fastest carrier', async () => {
  const app = await startApp();
  try {
    const res = await app.get('/quotes?weight_kg=12.5&from=DE&to=FR');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.cheapest.carrier, 'EuroParcel');
    assert.equal(res.body.fastest.carrier, 'SwiftAir');
    assert.equal(res.body.offers.length, 3);
  } finally {
    await app.close();
  }
});

test('no carrier for the lane is a 503', async () => {
  const app = await startApp();
  try {
    assert.equal((await app.get('/quotes?weight_kg=5&from=IT&to=ES')).status, 503);
  } finally {
    await app.close();
  }
});
