import { describe, expect, it } from 'vitest';
import { toCsv, type CsvColumn } from './csv';

interface Point {
  generation: number;
  name: string;
  rate: number | null;
}

const columns: CsvColumn<Point>[] = [
  { header: 'generation', value: (p) => p.generation },
  { header: 'name', value: (p) => p.name },
  { header: 'rate', value: (p) => p.rate },
];

describe('toCsv', () => {
  it('writes a header and one CRLF-terminated row per point, numbers in full', () => {
    const csv = toCsv(columns, [
      { generation: 1, name: 'a', rate: 1 / 3 },
      { generation: 2, name: 'b', rate: 0 },
    ]);
    expect(csv).toBe(`generation,name,rate\r\n1,a,${1 / 3}\r\n2,b,0\r\n`);
    expect(Number(csv.split('\r\n')[1]!.split(',')[2])).toBe(1 / 3);
  });

  it('quotes commas, quotes and line breaks, doubling quotes', () => {
    const csv = toCsv(columns, [{ generation: 1, name: 'expert "a", v2\nnew', rate: 0.5 }]);
    expect(csv.split('\r\n')[1]).toBe('1,"expert ""a"", v2\nnew",0.5');
  });

  it('leaves missing and NaN values empty', () => {
    const csv = toCsv(columns, [
      { generation: 3, name: '', rate: null },
      { generation: 4, name: 'x', rate: NaN },
    ]);
    expect(csv).toBe('generation,name,rate\r\n3,,\r\n4,x,\r\n');
  });

  it('writes only the header for an empty series', () => {
    expect(toCsv(columns, [])).toBe('generation,name,rate\r\n');
  });
});
