/**
 * CloudBase database round trips per operation (each one a network round trip in a cloud function), counted on the
 * real SDK against the loopback stand-in. Budgets: notify ≤ 4, create ≤ 3, get ≤ 1. A regression that reads the
 * order again, or writes the audit event separately, shows here as a number.
 */
import { measureRoundTrips, type RoundTrip } from '../../scripts/bench/round-trips';

let rows: RoundTrip[];
beforeAll(async () => {
  rows = await measureRoundTrips();
}, 60_000);

const trips = (prefix: string) => rows.filter((r) => r.operation.startsWith(prefix));

it('a notification takes at most 4 round trips, reading the order once', () => {
  for (const r of trips('notify')) {
    expect(r.roundTrips).toBeLessThanOrEqual(4);
    expect(r.requests.filter((q) => q === 'getDocument:orders')).toHaveLength(1);
  }
  expect(trips('notify (notify_type 1')[0]!.requests).toEqual(['getDocument:orders', 'modifyDocument:orders', 'insertDocument:app_webhooks', 'insertDocument:notifications']);
});

it('creating an order takes at most 3 round trips, and getting one exactly 1', () => {
  for (const r of trips('order.create')) expect(r.roundTrips).toBeLessThanOrEqual(3);
  expect(trips('order.get')[0]!.roundTrips).toBe(1);
  expect(trips('order.list')[0]!.roundTrips).toBe(1);
});

it('a refund reserves on the order before its row exists, in 5 round trips', () => {
  expect(trips('merchant refund')[0]!.requests).toEqual(['getDocument:refunds', 'getDocument:orders', 'modifyDocument:orders', 'insertDocument:refunds', 'modifyDocument:refunds']);
});
