'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { average, median } = require('../src/stats');
const { dailyReport } = require('../src/report');

test('average of numbers', () => {
  assert.strictEqual(average([2, 4, 9]), 5);
});

test('median of numbers', () => {
  assert.strictEqual(median([5, 1, 3]), 3);
  assert.strictEqual(median([4, 1, 3, 2]), 2.5);
});

test('a day without orders reports zeros', () => {
  assert.deepStrictEqual(dailyReport([]), { orders: 0, averageOrder: 0, medianOrder: 0 });
});
