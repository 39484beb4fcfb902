'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { cheapest, fastest } = require('../src/ranking');
const { BadRequest, parseRequest } = require('../src/quotes');

const offer = (carrier, amount, days) => ({ carrier, price: { amount, currency: 'EUR' }, days });

test('cheapest prefers the lower price, then the faster offer', () => {
  assert.equal(cheapest([offer('a', 20, 3), offer('b', 15, 4), offer('c', 15, 2)]).carrier, 'c');
  assert.equal(cheapest([]), null);
});

test('fastest prefers fewer days, then the lower price', () => {
  assert.equal(fastest([offer('a', 20, 1), offer('b', 15, 1), offer('c', 5, 3)]).carrier, 'b');
});

test('requests are validated', () => {
  assert.deepEqual(parseRequest(new URLSearchParams('weight_kg=2.5&from=de&to=fr')), { weightKg: 2.5, from: 'DE', to: 'FR' });
  assert.throws(() => parseRequest(new URLSearchParams('weight_kg=-1&from=DE&to=FR')), BadRequest);
  assert.throws(() => parseRequest(new URLSearchParams('weight_kg=1&from=Germany&to=FR')), BadRequest);
});
