'use strict';

const { DAY_MS, dayKey, daysInRange } = require('./dates');

// One bucket per day of the range, so the chart has a point for every day.
function emptyBuckets(from, to) {
  const buckets = {};
  for (const day of daysInRange(from, to)) buckets[day] = { day, signups: 0, activations: 0 };
  return buckets;
}

function aggregate(events, from, to) {
  const buckets = emptyBuckets(from, to);
  for (const event of events) {
    const key = dayKey(new Date(event.ts));
    if (event.type === 'signup') buckets[key].signups += 1;
    else if (event.type === 'activation') buckets[key].activations += 1;
  }
  return Object.values(buckets);
}

function dailyReport(from, to, eventsBetween) {
  const events = eventsBetween(from, new Date(to.getTime() + DAY_MS));
  console.info(`daily report ${from.toISOString().slice(0, 10)}..${to.toISOString().slice(0, 10)}: ${events.length} events`);
  const days = aggregate(events, from, to);
  return {
    days,
    totals: days.reduce((t, d) => ({ signups: t.signups + d.signups, activations: t.activations + d.activations }), { signups: 0, activations: 0 }),
  };
}

module.exports = { aggregate, dailyReport, emptyBuckets };
