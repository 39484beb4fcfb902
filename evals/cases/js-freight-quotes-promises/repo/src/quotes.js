'use strict';

const { CarrierError } = require('./carriers');

class NoQuotes extends Error {}
class BadRequest extends Error {}

function parseRequest(params) {
  const weightKg = Number(params.get('weight_kg'));
  const from = (params.get('from') || '').toUpperCase();
  const to = (params.get('to') || '').toUpperCase();
  if (!Number.isFinite(weightKg) || weightKg <= 0) throw new BadRequest('weight_kg must be a positive number');
  if (!/^[A-Z]{2}$/.test(from) || !/^[A-Z]{2}$/.test(to)) throw new BadRequest('from and to are country codes');
  return { weightKg, from, to };
}

// Ask every carrier in parallel; a carrier that fails is left out (logged), never fatal.
async function fetchQuotes(request, carriers) {
  const quotes = carriers.map(async (carrier) => {
    try {
      return await carrier.quote(request);
    } catch (err) {
      if (!(err instanceof CarrierError)) throw err;
      console.warn(`no quote from ${carrier.name}: ${err.message}`);
      return null;
    }
  });
  return quotes.filter(Boolean);
}

module.exports = { BadRequest, NoQuotes, fetchQuotes, parseRequest };
