'use strict';

const { createServer } = require('../src/server');

// Starts the app on an ephemeral port; returns {call, close}.
async function startApp() {
  const errors = [];
  const server = createServer({ onError: (err) => errors.push(err) });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  async function call(method, path, body) {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }
  return { call, errors, close: () => new Promise((resolve) => server.close(resolve)) };
}

module.exports = { startApp };
