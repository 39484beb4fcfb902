'use strict';

const { createServer } = require('../src/server');
const { CustomerStore } = require('../src/store');

// Starts the app on an ephemeral port; returns {post, store, errors, close}.
async function startApp() {
  const errors = [];
  const store = new CustomerStore();
  const server = createServer({ store, onError: (err) => errors.push(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  async function post(path, body) {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
  return { post, store, errors, close: () => new Promise((resolve) => server.close(resolve)) };
}

module.exports = { startApp };
