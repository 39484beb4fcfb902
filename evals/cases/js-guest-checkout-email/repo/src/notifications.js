'use strict';

const outbox = [];

function formatEuros(cents) {
  return `${(cents / 100).toFixed(2)} EUR`;
}

// Who gets the order confirmation: account customers and guests alike.
function recipientFor(order) {
  return { email: order.customer.email.trim().toLowerCase(), name: order.customer.name ?? '' };
}

function queueConfirmation(order) {
  const to = recipientFor(order);
  const lines = order.items.map((item) => `  ${item.qty} x ${item.sku}  ${formatEuros(item.price * item.qty)}`);
  const message = {
    to: to.email,
    subject: `Order ${order.id} confirmed`,
    text: [`Hi ${to.name || 'there'},`, '', 'thanks for your order:', ...lines, '', `Total ${formatEuros(order.total)}`].join('\n'),
  };
  outbox.push(message);
  console.info(`confirmation for ${order.id} queued`);
  return message;
}

module.exports = { outbox, queueConfirmation, recipientFor, formatEuros };
