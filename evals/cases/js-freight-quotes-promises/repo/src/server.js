'use strict';

const http = require('node:http');
const { CARRIERS } = require('./carriers');
const { BadRequest, NoQuotes, fetchQuotes, parseRequest } = require('./quotes');
const { cheapest, fastest } = require('./ranking');

function sendJson(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

async function quotesHandler(url, res, carriers) {
  const request = parseRequest(url.searchParams);
  const quotes = await fetchQuotes(request, carriers);
  console.info(`quotes for ${request.weightKg} kg ${request.from}-${request.to}: ${quotes.length} of ${carriers.length} carriers`);
  if (quotes.length === 0) throw new NoQuotes('no carrier can take this shipment');
  return sendJson(res, 200, { cheapest: cheapest(quotes), fastest: fastest(quotes), offers: quotes });
}

// `onError` reports unexpected errors (the error tracker in production).
function createServer({ carriers = CARRIERS, onError = (err) => console.error(err) } = {}) {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
      if (req.method === 'GET' && url.pathname === '/quotes') return await quotesHandler(url, res, carriers);
      return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message });
      if (err instanceof NoQuotes) return sendJson(res, 503, { error: err.message });
      onError(err, req);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  });
}

if (require.main === module) {
  createServer().listen(Number(process.env.PORT) || 8000);
}

module.exports = { createServer };
