import { describe, expect, test } from 'vitest';
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  isQuantity,
  parseQuantity,
  QuantityError,
  quantityValue,
} from '../../src/adapters/kubernetes/quantity.js';

describe('parseQuantity', () => {
  test.each([
    ['500m', 500n],
    ['2', 2000n],
    ['1.5', 1500n],
    ['0.5', 500n],
    ['.5', 500n],
    ['1.', 1000n],
    ['4Gi', 4n * 1024n ** 3n * 1000n],
    ['1Ki', 1024000n],
    ['1G', 1_000_000_000_000n],
    ['1k', 1_000_000n],
    ['1M', 1_000_000_000n],
    ['1e3', 1_000_000n],
    ['1E3', 1_000_000n],
    ['1E', 10n ** 21n],
    ['2.5Gi', 2_684_354_560_000n],
    ['100n', 1n],
    ['0.1m', 1n],
    ['-1', -1000n],
    ['+3', 3000n],
    ['0', 0n],
  ])('%s is %s milli-units', (input, milli) => {
    expect(parseQuantity(input).milli).toBe(milli);
  });

  test('JSON numbers parse like their string form', () => {
    expect(parseQuantity(2).milli).toBe(2000n);
    expect(parseQuantity(1.5).milli).toBe(1500n);
    expect(parseQuantity(1e21).milli).toBe(10n ** 24n);
  });

  test.each(['', '4GB', '1.2.3', 'Gi', '1 Gi', '1iB', 'abc', '--1', '1e', '1Kib'])('%j is not a quantity', (input) => {
    expect(() => parseQuantity(input)).toThrow(QuantityError);
    expect(isQuantity(input)).toBe(false);
  });

  test('remembers the format of its suffix', () => {
    expect(parseQuantity('4Gi').format).toBe('BinarySI');
    expect(parseQuantity('4G').format).toBe('DecimalSI');
    expect(parseQuantity('4').format).toBe('DecimalSI');
    expect(parseQuantity('4e3').format).toBe('DecimalExponent');
  });
});

describe('formatQuantity', () => {
  test.each([
    ['500m', '500m'],
    ['2', '2'],
    ['1.5', '1500m'],
    ['4Gi', '4Gi'],
    ['1.5Gi', '1536Mi'],
    ['1536', '1536'],
    ['2000', '2k'],
    ['8G', '8G'],
    ['0Gi', '0'],
    ['1e3', '1e3'],
  ])('%s renders as %s', (input, output) => {
    expect(formatQuantity(parseQuantity(input))).toBe(output);
  });

  test('sums keep the first operand format', () => {
    const sum = addQuantities(parseQuantity('3Gi'), parseQuantity('1024Mi'));
    expect(formatQuantity(sum)).toBe('4Gi');
    expect(formatQuantity(addQuantities(parseQuantity('1500m'), parseQuantity('2')))).toBe('3500m');
  });
});

test('comparison is exact across suffixes', () => {
  expect(compareQuantities(parseQuantity('1Gi'), parseQuantity('1G'))).toBe(1);
  expect(compareQuantities(parseQuantity('1000m'), parseQuantity('1'))).toBe(0);
  expect(compareQuantities(parseQuantity('999m'), parseQuantity('1'))).toBe(-1);
  expect(quantityValue(parseQuantity('250m'))).toBe(0.25);
});
