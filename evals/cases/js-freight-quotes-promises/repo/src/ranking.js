'use strict';

// The offer with the lowest price (ties: the faster one).
function cheapest(quotes) {
  let best = null;
  for (const quote of quotes) {
    if (!best || quote.price.amount < best.price.amount || (quote.price.amount === best.price.amount && quote.days < best.days)) {
      best = quote;
    }
  }
  return best;
}

// The offer with the fewest days in transit (ties: the cheaper one).
function fastest(quotes) {
  return [...quotes].sort((a, b) => a.days - b.days || a.price.amount - b.price.amount)[0] ?? null;
}

module.exports = { cheapest, fastest };
