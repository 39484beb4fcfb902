'use strict';

const http = require('node:http');
const { RangeError400, parseDay } = require('./dates');
const { eventsBetween } = require('./events');
const { dailyReport } = require('./report');

function sendJson(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

async function route(req, res, source) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
  if (req.method === 'GET' && url.pathname === '/reports/daily') {
    const from = parseDay(url.searchParams.get('from'));
    const to = parseDay(url.searchParams.get('to'));
    return sendJson(res, 200, dailyReport(from, to, source));
  }
  return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
}

// `onError` reports unexpected errors (the error tracker in production).
function createServer({ source = eventsBetween, onError = (err) => console.error(err) } = {}) {
  return http.createServer(async (req, res) => {
    try {
      await route(req, res, source);
    } catch (err) {
      if (err instanceof RangeError400) return sendJson(res, 400, { error: err.message });
      onError(err, req);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  });
}

if (require.main === module) {
  createServer().listen(Number(process.env.PORT) || 8000);
}

module.exports = { createServer };
