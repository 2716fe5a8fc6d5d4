// Sends every Segment call type (identify, track, page, screen, group, alias) through the real
// Segment and RudderStack Node SDKs to a local tributary, with each SDK's default transport
// (Segment: JSON with the write key in the batch; RudderStack: gzip labelled
// application/x-www-form-urlencoded). Used by the ctest SdkCompat_* end-to-end test.
//
//   node send.js PORT WRITE_KEY
//
// Prints one line per SDK; exits 0 only when both SDKs report every flush delivered (an SDK that
// gets an error answer drops its events and reports the error).
'use strict';

const [port, writeKey] = process.argv.slice(2);
if (!port || !writeKey) {
  console.error('usage: node send.js PORT WRITE_KEY');
  process.exit(2);
}
const host = `http://127.0.0.1:${port}`;

function calls(prefix) {
  const user = `${prefix}-user`;
  return [
    ['identify', { userId: user, traits: { email: `${prefix}@example.com`, plan: 'pro' } }],
    ['track', { userId: user, event: 'Order Completed', properties: { total: 42.5, currency: 'EUR' } }],
    ['page', { userId: user, category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } }],
    ['screen', { userId: user, name: 'Home', properties: { variant: 'b' } }],
    ['group', { userId: user, groupId: `${prefix}-group`, traits: { name: 'Acme' } }],
    ['alias', { userId: user, previousId: `${prefix}-anon` }],
  ];
}

async function segment() {
  const { Analytics } = require('@segment/analytics-node');
  const errors = [];
  const client = new Analytics({ writeKey, host, maxEventsInBatch: 100, flushInterval: 200, maxRetries: 0 });
  client.on('error', (e) => errors.push(String(e && (e.reason || e.message || e.code) || e)));
  for (const [method, msg] of calls('segment')) {
    client[method]({ ...msg, messageId: `segment-${method}` });
  }
  await client.closeAndFlush({ timeout: 10000 });
  if (errors.length) throw new Error(`@segment/analytics-node: ${errors.join('; ')}`);
}

async function rudderstack() {
  const Analytics = require('@rudderstack/rudder-sdk-node');
  const errors = [];
  const client = new Analytics(writeKey, {
    dataPlaneUrl: host,
    flushAt: 100,
    flushInterval: 200,
    retryCount: 0,
    errorHandler: (e) => errors.push(e.response ? `HTTP ${e.response.status}` : String(e.code || e.message)),
  });
  for (const [method, msg] of calls('rudder')) {
    client[method]({ ...msg, messageId: `rudder-${method}` });
  }
  await client.flush();
  if (errors.length) throw new Error(`@rudderstack/rudder-sdk-node: ${errors.join('; ')}`);
}

(async () => {
  await segment();
  console.log('@segment/analytics-node: 6 calls delivered');
  await rudderstack();
  console.log('@rudderstack/rudder-sdk-node: 6 calls delivered');
})().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
