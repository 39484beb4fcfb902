'use strict';
/*
 * The production call behind event.json: the dashboard's daily report on a day without orders.
 *
 * Recorded under the real Sentry Node SDK (@sentry/node, installed outside the repository):
 *   NODE_PATH=<dir with @sentry/node>/node_modules SCENARIO_OUT=ingest.json node scenario.js
 * run from a copy of repo/ deployed at the scenario's working directory. The SDK's transport is
 * replaced by one that writes the event it would have sent to SCENARIO_OUT (nothing leaves the
 * machine); evals.recorder.ingest_to_api then turns it into the API format.
 */
const fs = require('node:fs');
const path = require('node:path');
const Sentry = require('@sentry/node');

function fileTransport() {
  return {
    send(envelope) {
      const [, items] = envelope;
      for (const [header, payload] of items) {
        if (header.type === 'event') {
          fs.writeFileSync(process.env.SCENARIO_OUT, JSON.stringify({ received: Date.now() / 1000, event: payload }));
        }
      }
      return Promise.resolve({ statusCode: 200 });
    },
    flush() {
      return Promise.resolve(true);
    },
  };
}

Sentry.init({
  dsn: 'https://public@sentry.example.invalid/1',
  release: 'stats-report@1.4.0',
  environment: 'production',
  serverName: 'stats-worker-1',
  transport: fileTransport,
  defaultIntegrations: false,
  integrations: [Sentry.contextLinesIntegration(), Sentry.linkedErrorsIntegration(), Sentry.nodeContextIntegration()],
});
Sentry.setTag('region', 'eu-west-1');

const { dailyReport } = require(path.join(process.cwd(), 'src/report.js'));
Sentry.addBreadcrumb({ category: 'cron', message: 'daily report for 2024-12-25', level: 'info' });
try {
  dailyReport([]);
} catch (err) {
  Sentry.captureException(err);
}
Sentry.flush(2000);
