import type { RejectionLimits } from '../store/port';
import type { Deps } from './deps';

/**
 * Notifications that fail before their signature is verified come from anyone who can reach the notify URL, so they
 * are never stored one by one: each is counted per reason and hour, and kept as one of the last few samples of its
 * reason (the start of the body only). Whatever an outsider sends, this adds at most a fixed number of records:
 * reasons × (KEEP_HOURS + 1) counts plus reasons × SAMPLES_PER_REASON samples. Verified notifications (Huifu's own)
 * always go to the inbox in full, so a genuine one is never lost to this bound.
 */
export const REJECTION_LIMITS: RejectionLimits = { keepHours: 48, samplesPerReason: 5 };
export const SAMPLE_BYTES = 512;

export async function recordRejection(deps: Deps, reason: string, rawBody: string): Promise<void> {
  await deps.store.recordRejection({ reason, at: deps.clock.now(), sample: rawBody.slice(0, SAMPLE_BYTES) }, REJECTION_LIMITS);
  deps.log.warn('notification rejected before verification', { reason, bytes: Buffer.byteLength(rawBody) });
}
