'use strict';

/** Arithmetic mean of a list of numbers. */
function average(values) {
  const total = values.reduce((sum, value) => sum + value);
  return total / values.length;
}

/** Middle value of a list of numbers (mean of the two middle ones for even lengths). */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

module.exports = { average, median };
