'use strict';

// Customers in the new CRM (its API in production), keyed by legacy id.
class CustomerStore {
  constructor() {
    this.customers = new Map();
  }

  upsert(record) {
    const existed = this.customers.has(record.id);
    this.customers.set(record.id, { ...record });
    return existed ? 'updated' : 'created';
  }

  get(id) {
    return this.customers.get(id);
  }
}

module.exports = { CustomerStore };
