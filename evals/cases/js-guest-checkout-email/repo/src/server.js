'use strict';

const http = require('node:http');
const { OrderError, buildOrder } = require('./orders');
const { queueConfirmation } = require('./notifications');
const { OrderStore } = require('./store');

const MAX_BODY = 64 * 1024;

function sendJson(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new OrderError('request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') ?? {};
  } catch {
    throw new OrderError('the body is not valid JSON');
  }
}

async function route(req, res, store) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
  if (req.method === 'POST' && url.pathname === '/orders') {
    const order = store.add(buildOrder(await readJson(req)));
    console.info(`order ${order.id} placed: ${order.items.length} line(s), ${order.total} cents`);
    queueConfirmation(order);
    return sendJson(res, 201, order);
  }
  const match = url.pathname.match(/^\/orders\/(SO-\d+)$/);
  if (req.method === 'GET' && match) {
    const order = store.get(match[1]);
    return order ? sendJson(res, 200, order) : sendJson(res, 404, { error: 'no such order' });
  }
  return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
}

// `onError` reports unexpected errors (the error tracker in production).
function createServer({ store = new OrderStore(), onError = (err) => console.error(err) } = {}) {
  return http.createServer(async (req, res) => {
    try {
      await route(req, res, store);
    } catch (err) {
      if (err instanceof OrderError) return sendJson(res, 400, { error: err.message });
      onError(err, req);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  });
}

if (require.main === module) {
  createServer().listen(Number(process.env.PORT) || 8000);
}

module.exports = { createServer };
