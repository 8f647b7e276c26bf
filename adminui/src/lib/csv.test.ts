import { describe, expect, it } from 'vitest';
import { parseCSV, translateHeader } from './csv';

describe('CSV', () => {
  const csv = 'bucket_start,group,cost_micros,cost_usd\n2026-12-03T00:00:00+08:00,"a,b",1200000,1.200000\n';
  it('translates only the header row', () => {
    const out = translateHeader(csv, { bucket_start: '时间桶开始', cost_micros: '费用（微美元）', group: '分组' });
    expect(out).toBe('时间桶开始,分组,费用（微美元）,cost_usd\n2026-12-03T00:00:00+08:00,"a,b",1200000,1.200000\n');
  });
  it('quotes a translated name that needs it', () => {
    expect(translateHeader('a,b\r\n1,2\r\n', { a: 'x, y' })).toBe('"x, y",b\r\n1,2\r\n');
  });
  it('parses quoted fields, CRLF and a byte order mark', () => {
    expect(parseCSV('\uFEFFa,b\r\n"1,5","say ""hi"""\r\n')).toEqual([
      ['a', 'b'],
      ['1,5', 'say "hi"'],
    ]);
    expect(parseCSV(csv)[1]).toEqual(['2026-12-03T00:00:00+08:00', 'a,b', '1200000', '1.200000']);
  });
});
