'use strict';

// The product-events warehouse (ClickHouse in production): sign-ups and activations.
const EVENTS = [
  { type: 'signup', user: 'u_9001', ts: '2026-03-01T08:12:44Z' },
  { type: 'signup', user: 'u_9002', ts: '2026-03-01T21:40:03Z' },
  { type: 'activation', user: 'u_9001', ts: '2026-03-02T09:05:10Z' },
  { type: 'signup', user: 'u_9003', ts: '2026-03-03T23:59:59Z' },
  { type: 'signup', user: 'u_9004', ts: '2026-03-04T00:00:00Z' },
  { type: 'activation', user: 'u_9003', ts: '2026-03-04T13:30:00Z' },
];

function eventsBetween(from, toExclusive, source = EVENTS) {
  return source.filter((e) => {
    const t = Date.parse(e.ts);
    return t >= from.getTime() && t < toExclusive.getTime();
  });
}

module.exports = { EVENTS, eventsBetween };
