'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { RangeError400, daysInRange, parseDay } = require('../src/dates');

test('parseDay accepts ISO dates only', () => {
  assert.equal(parseDay('2026-03-07').toISOString(), '2026-03-07T00:00:00.000Z');
  assert.throws(() => parseDay('07.03.2026'), RangeError400);
  assert.throws(() => parseDay('2026-02-30'), RangeError400);
  assert.throws(() => parseDay(null), RangeError400);
});

test('daysInRange is inclusive and crosses month ends', () => {
  assert.deepEqual(daysInRange(parseDay('2026-02-27'), parseDay('2026-03-02')), ['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
});

test('daysInRange rejects reversed and oversized ranges', () => {
  assert.throws(() => daysInRange(parseDay('2026-03-02'), parseDay('2026-03-01')), RangeError400);
  assert.throws(() => daysInRange(parseDay('2024-01-01'), parseDay('2026-01-01')), RangeError400);
});
