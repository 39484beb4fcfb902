'use strict';

const DAY_MS = 24 * 60 * 60 * 1000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

class RangeError400 extends Error {}

const pad = (n) => String(n).padStart(2, '0');

// The UTC calendar day of a Date, as an ISO date ("2026-03-07").
function dayKey(date) {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth())}-${pad(date.getUTCDate())}`;
}

// "2026-03-07" → Date at 00:00 UTC; rejects anything else (including 2026-02-30).
function parseDay(text) {
  if (typeof text !== 'string' || !DAY_RE.test(text)) throw new RangeError400(`not a date: ${JSON.stringify(text)}`);
  const date = new Date(`${text}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text) {
    throw new RangeError400(`no such day: ${text}`);
  }
  return date;
}

// Every day from `from` to `to` inclusive, as ISO dates.
function daysInRange(from, to, maxDays = 366) {
  const days = [];
  for (let t = from.getTime(); t <= to.getTime(); t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
    if (days.length > maxDays) throw new RangeError400(`ranges are limited to ${maxDays} days`);
  }
  if (days.length === 0) throw new RangeError400('`from` is after `to`');
  return days;
}

module.exports = { DAY_MS, RangeError400, dayKey, parseDay, daysInRange };
