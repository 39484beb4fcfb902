'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp } = require('../testkit/app');
const { outbox } = require('../src/notifications');

test('health', async () => {
  const app = await startApp();
  try {
    assert.deepEqual(await app.call('GET', '/health'), { status: 200, body: { status: 'ok' } });
  } finally {
    await app.close();
  }
});

test('a signed-in customer places an order', async () => {
  const app = await startApp();
  try {
    const res = await app.call('POST', '/orders', { items: [{ sku: 'TEE-02' }], customer: { id: 'c7', email: 'bo@example.com', name: 'Bo' } });
    assert.equal(res.status, 201);
    assert.equal((await app.call('GET', `/orders/${res.body.id}`)).body.total, 2400);
    assert.equal(outbox.at(-1).to, 'bo@example.com');
  } finally {
    await app.close();
  }
});

test('a malformed order is a 400', async () => {
  const app = await startApp();
  try {
    assert.equal((await app.call('POST', '/orders', { items: 'MUG-01' })).status, 400);
  } finally {
    await app.close();
  }
});

test('a guest places an order and gets a confirmation', async () => {
  const app = await startApp();
  try {
    const res = await app.call('POST', '/orders', { items: [{ sku: 'MUG-01', qty: 1 }], guest: { email: 'Guest.Buyer@Example.org', name: 'Kim' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(app.errors.length, 0);
    assert.equal(outbox.at(-1).to, 'guest.buyer@example.org');
    assert.match(outbox.at(-1).text, /^Hi Kim,/);
  } finally {
    await app.close();
  }
});
