'use strict';

const http = require('node:http');
const { ImportError, importRecords } = require('./importer');
const { CustomerStore } = require('./store');

const MAX_BODY = 10 * 1024 * 1024;

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
    if (size > MAX_BODY) throw new ImportError('export too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ImportError('the export is not valid JSON');
  }
}

// `onError` reports unexpected errors (the error tracker in production).
function createServer({ store = new CustomerStore(), onError = (err) => console.error(err) } = {}) {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
      if (req.method === 'POST' && url.pathname === '/imports/legacy-crm') {
        return sendJson(res, 200, importRecords(await readJson(req), store));
      }
      return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
    } catch (err) {
      if (err instanceof ImportError) return sendJson(res, 400, { error: err.message });
      onError(err, req);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  });
}

if (require.main === module) {
  createServer().listen(Number(process.env.PORT) || 8000);
}

module.exports = { createServer };
