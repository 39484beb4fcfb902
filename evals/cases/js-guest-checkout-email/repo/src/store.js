'use strict';

// Orders in memory (PostgreSQL in production), ids like the storefront shows them.
class OrderStore {
  constructor() {
    this.orders = new Map();
    this.next = 70001;
  }

  add(order) {
    const id = `SO-${this.next++}`;
    const saved = { ...order, id, createdAt: new Date().toISOString() };
    this.orders.set(id, saved);
    return saved;
  }

  get(id) {
    return this.orders.get(id);
  }
}

module.exports = { OrderStore };
