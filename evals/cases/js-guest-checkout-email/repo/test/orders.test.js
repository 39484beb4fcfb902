'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { OrderError, buildOrder } = require('../src/orders');
const { formatEuros, recipientFor } = require('../src/notifications');

test('order totals are summed in cents', () => {
  const order = buildOrder({ items: [{ sku: 'MUG-01', qty: 2 }, { sku: 'CAP-03' }], customer: { id: 'c1', email: 'a@example.com' } });
  assert.equal(order.total, 4380);
});

test('unknown skus and empty carts are rejected', () => {
  assert.throws(() => buildOrder({ items: [{ sku: 'NOPE' }], customer: { email: 'a@example.com' } }), OrderError);
  assert.throws(() => buildOrder({ items: [], customer: { email: 'a@example.com' } }), OrderError);
});

test('an order needs a contact e-mail', () => {
  assert.throws(() => buildOrder({ items: [{ sku: 'MUG-01' }] }), OrderError);
  assert.throws(() => buildOrder({ items: [{ sku: 'MUG-01' }], guest: { email: 'nope' } }), OrderError);
});

test('euros are formatted with two decimals', () => {
  assert.equal(formatEuros(4380), '43.80 EUR');
});

test('account customers get the confirmation at their normalised address', () => {
  assert.deepEqual(recipientFor({ customer: { email: ' Ana@Example.com ', name: 'Ana' } }), { email: 'ana@example.com', name: 'Ana' });
});
