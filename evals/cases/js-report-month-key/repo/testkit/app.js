'use strict';

const { createServer } = require('../src/server');

// Starts the app on an ephemeral port; returns {call, errors, close}.
async function startApp(options = {}) {
  const errors = [];
  const server = createServer({ ...options, onError: (err) => errors.push(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  async function get(path) {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.json() };
  }
  return { get, errors, close: () => new Promise((resolve) => server.close(resolve)) };
}

module.exports = { startApp };
