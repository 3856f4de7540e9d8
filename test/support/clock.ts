import type { Clock } from '../../cloudfunctions/src/domain/time';

/** Real time plus an offset the test moves; shared by our services and the sandboxes so they agree. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}
