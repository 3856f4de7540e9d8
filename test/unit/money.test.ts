import fc from 'fast-check';
import { formatFen } from '@cashier/shared';
import { MoneyError } from '../../cloudfunctions/src/domain/errors';
import { checkFen, fenToYuan, yuanToFen } from '../../cloudfunctions/src/domain/money';

describe('yuanToFen', () => {
  it.each([
    ['0.01', 1],
    ['1', 100],
    ['1.5', 150],
    ['19.90', 1990], // Number('19.90') * 100 === 1989.9999999999998
    ['9.80', 980],
    ['0.29', 29],
    ['100.50', 10050],
    ['1000000.00', 100_000_000],
  ])('converts %s yuan to %d fen', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each(['1.005', '-1', 'abc', '1e3', '', ' 1.00', '1.', '.5', '01.00', '0x10', '1,00', 'Infinity', 'NaN', '1.00 '])(
    'rejects %j with a MoneyError',
    (bad) => {
      expect(() => yuanToFen(bad)).toThrow(MoneyError);
    },
  );

  it('rejects zero unless allowed', () => {
    expect(() => yuanToFen('0.00')).toThrow(/at least 0.01/);
    expect(yuanToFen('0.00', { allowZero: true })).toBe(0);
  });

  it('rejects amounts over the configured maximum', () => {
    expect(() => yuanToFen('100.01', { maxFen: 10_000 })).toThrow(/over the maximum of 10000 fen/);
    expect(yuanToFen('100.00', { maxFen: 10_000 })).toBe(10_000);
  });

  it('requires exactly two decimals in Huifu wire format', () => {
    expect(yuanToFen('1.00', { exactTwoDecimals: true })).toBe(100);
    expect(() => yuanToFen('1', { exactTwoDecimals: true })).toThrow(MoneyError);
    expect(() => yuanToFen('1.5', { exactTwoDecimals: true })).toThrow(MoneyError);
    // Anything after the two decimals is refused as Huifu's format, not left to decimal.js to choke on.
    for (const text of ['1.001', '1.00x', '1.00 ']) expect(() => yuanToFen(text, { exactTwoDecimals: true })).toThrow(/is not a yuan amount/);
    // An outsider's text is echoed bounded: the error quotes at most 32 characters of it.
    expect(() => yuanToFen('9'.repeat(10_000))).toThrow(new RegExp(`^"9{32}" is not a yuan amount`));
  });

  it('rejects non-string input', () => {
    expect(() => yuanToFen(1 as unknown as string)).toThrow(/yuan string/);
  });
});

describe('fenToYuan', () => {
  it.each([
    [1, '0.01'],
    [10, '0.10'],
    [100, '1.00'],
    [1990, '19.90'],
  ])('formats %d fen as %s', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
  });

  it.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects %p', (bad) => {
    expect(() => fenToYuan(bad)).toThrow(MoneyError);
  });

  it('round-trips fen → yuan → fen for every amount from 0 to 10^10', () => {
    const max = 10_000_000_000;
    fc.assert(
      fc.property(fc.integer({ min: 0, max }), (fen) => {
        const yuan = fenToYuan(fen, { maxFen: max, allowZero: true });
        expect(yuanToFen(yuan, { maxFen: max, allowZero: true, exactTwoDecimals: true })).toBe(fen);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with exact integer arithmetic on random yuan strings (no float involved)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 99_999_999n }), fc.integer({ min: 0, max: 99 }), (yuanPart, cents) => {
        const text = `${yuanPart}.${String(cents).padStart(2, '0')}`;
        const exact = yuanPart * 100n + BigInt(cents);
        const fen = yuanToFen(text, { maxFen: 10_000_000_000, allowZero: true });
        expect(BigInt(fen)).toBe(exact);
        expect(fenToYuan(fen, { maxFen: 10_000_000_000, allowZero: true })).toBe(text);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('checkFen', () => {
  it('accepts whole positive amounts within the maximum', () => {
    expect(checkFen(1)).toBe(1);
    expect(() => checkFen(0)).toThrow(MoneyError);
  });
});

describe('formatFen (shared, used by the mini-program)', () => {
  it.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [1230, '¥12.30'],
    [100_000_000, '¥1000000.00'],
    [-250, '-¥2.50'],
  ])('formats %d as %s', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  it('refuses fractional fen', () => {
    expect(() => formatFen(12.5)).toThrow(RangeError);
  });
});
