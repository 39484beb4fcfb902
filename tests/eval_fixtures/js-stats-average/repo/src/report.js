'use strict';

const { average, median } = require('./stats');

/** The figures shown on the daily dashboard for a list of orders ({ total }). */
function dailyReport(orders) {
  const totals = orders.map((order) => order.total);
  return {
    orders: orders.length,
    averageOrder: average(totals),
    medianOrder: totals.length ? median(totals) : 0,
  };
}

module.exports = { dailyReport };
