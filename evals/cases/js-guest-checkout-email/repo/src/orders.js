'use strict';

const PRICES = { 'MUG-01': 1290, 'TEE-02': 2400, 'CAP-03': 1800 }; // cents

class OrderError extends Error {}

function validateItems(items) {
  if (!Array.isArray(items) || items.length === 0) throw new OrderError('items must be a non-empty list');
  return items.map((item, index) => {
    const price = PRICES[item.sku];
    if (price === undefined) throw new OrderError(`items[${index}]: unknown sku ${JSON.stringify(item.sku)}`);
    const qty = item.qty ?? 1;
    if (!Number.isInteger(qty) || qty < 1) throw new OrderError(`items[${index}]: bad qty`);
    return { sku: item.sku, qty, price };
  });
}

// An order from the storefront's JSON: a signed-in customer's or a guest's.
function buildOrder(body) {
  const items = validateItems(body.items);
  if (!body.customer && !body.guest) throw new OrderError('customer or guest is required');
  const contact = body.customer ?? body.guest;
  if (typeof contact.email !== 'string' || !contact.email.includes('@')) throw new OrderError('a valid email is required');
  const total = items.reduce((sum, item) => sum + item.price * item.qty, 0);
  return {
    customer: body.customer ?? undefined,
    guest: body.guest ?? undefined,
    items,
    total,
    currency: 'EUR',
  };
}

module.exports = { OrderError, buildOrder, PRICES };
