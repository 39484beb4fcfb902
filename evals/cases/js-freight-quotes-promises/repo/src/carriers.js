'use strict';

// Carrier adapters. In production each calls the carrier's rate API; here they compute the
// carriers' published tariffs after a short delay, which is all the callers may rely on.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class CarrierError extends Error {}

function tariff(name, { base, perKg, days, maxKg, lanes, latency }) {
  return {
    name,
    async quote({ weightKg, from, to }) {
      await sleep(latency);
      if (weightKg > maxKg) throw new CarrierError(`${name}: over ${maxKg} kg`);
      if (!lanes.includes(`${from}-${to}`)) throw new CarrierError(`${name}: no service ${from}-${to}`);
      return { carrier: name, price: { amount: Math.round((base + perKg * weightKg) * 100) / 100, currency: 'EUR' }, days };
    },
  };
}

const CARRIERS = [
  tariff('RoadRunner', { base: 18, perKg: 0.9, days: 3, maxKg: 1000, lanes: ['DE-FR', 'DE-NL', 'FR-DE'], latency: 5 }),
  tariff('EuroParcel', { base: 9.5, perKg: 1.4, days: 2, maxKg: 40, lanes: ['DE-FR', 'DE-AT', 'DE-NL'], latency: 8 }),
  tariff('SwiftAir', { base: 35, perKg: 2.8, days: 1, maxKg: 70, lanes: ['DE-FR', 'DE-US'], latency: 3 }),
];

module.exports = { CARRIERS, CarrierError, tariff };
