import { parseShanghaiDateTime, shanghaiDate, shanghaiDateTime, shanghaiStamp } from '../../cloudfunctions/src/domain/time';

// Huifu's req_date and time_expire are Beijing time. Known answers around Beijing midnight (16:00 UTC), where an
// offset mistake changes the date Huifu files the order under (a query with the wrong req_date finds nothing).
const BEIJING_MIDNIGHT = Date.parse('2025-10-08T16:00:00.000Z');

describe('Asia/Shanghai time for Huifu', () => {
  it('formats the last millisecond before and the first at Beijing midnight', () => {
    expect(shanghaiStamp(BEIJING_MIDNIGHT - 1)).toBe('20251008235959999');
    expect(shanghaiStamp(BEIJING_MIDNIGHT)).toBe('20251009000000000');
    expect(shanghaiDate(BEIJING_MIDNIGHT - 1)).toBe('20251008');
    expect(shanghaiDate(BEIJING_MIDNIGHT)).toBe('20251009');
    expect(shanghaiDateTime(Date.parse('2025-10-09T04:05:06.789Z'))).toBe('20251009120506');
  });

  it('parses yyyyMMddHHmmss back to the same instant', () => {
    expect(parseShanghaiDateTime('20251009000000')).toBe(BEIJING_MIDNIGHT);
    expect(parseShanghaiDateTime('20251009120506')).toBe(Date.parse('2025-10-09T04:05:06.000Z'));
  });

  it.each(['x20251009000000', '20251009000000x', '2025100900000', '20250230120000', '20251009246000', ''])('refuses %j', (text) => {
    expect(parseShanghaiDateTime(text)).toBeNull();
  });
});
