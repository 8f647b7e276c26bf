import { describe, expect, it } from 'vitest';
import { addDays, bucketLabel, bucketRange, formatDateTime, localDate, localInputToInstant, offsetLabel, periodWindow, tickLines, zoneLabel } from './time';

// 2026-12-02 17:42 UTC = 2026-12-03 01:42 in Shanghai = 12:42 in New York.
const now = new Date('2026-12-02T17:42:10Z');

describe('periodWindow', () => {
  it('asks for the last 24 whole hours, this one included', () => {
    expect(periodWindow('24h', 'Asia/Shanghai', now)).toEqual({ from: '2026-12-01T18:00:00.000Z', to: '2026-12-02T18:00:00.000Z', granularity: 'hour' });
  });
  it('asks for whole local days, today in the zone included', () => {
    // In Shanghai it is already 3 December.
    expect(periodWindow('7d', 'Asia/Shanghai', now)).toEqual({ from: '2026-11-27', to: '2026-12-04', granularity: 'day' });
    expect(periodWindow('7d', 'America/New_York', now)).toEqual({ from: '2026-11-26', to: '2026-12-03', granularity: 'day' });
    expect(periodWindow('30d', 'UTC', now)).toEqual({ from: '2026-11-03', to: '2026-12-03', granularity: 'day' });
  });
});

describe('calendar dates', () => {
  it('reads the date in the zone', () => {
    expect(localDate(now, 'UTC')).toBe('2026-12-02');
    expect(localDate(now, 'Asia/Shanghai')).toBe('2026-12-03');
    expect(localDate(new Date('2026-12-02T03:00:00Z'), 'America/Los_Angeles')).toBe('2026-12-01');
  });
  it('adds days across months and years', () => {
    expect(addDays('2026-12-30', 3)).toBe('2027-01-02');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
  });
});

describe('zone labels', () => {
  it('names the offset at the instant', () => {
    expect(offsetLabel('UTC', now)).toBe('UTC');
    expect(offsetLabel('Asia/Shanghai', now)).toBe('UTC+08:00');
    expect(offsetLabel('Asia/Kolkata', now)).toBe('UTC+05:30');
    expect(offsetLabel('America/New_York', now)).toBe('UTC-05:00');
    expect(offsetLabel('America/New_York', new Date('2026-07-01T12:00:00Z'))).toBe('UTC-04:00');
    expect(zoneLabel('Europe/Berlin', now)).toBe('Europe/Berlin (UTC+01:00)');
  });
});

describe('bucket labels', () => {
  it('labels hours in the zone, with the date at midnight', () => {
    // The API returns bucket starts with the zone's offset.
    expect(bucketLabel('2026-12-03T08:00:00+08:00', 'hour', 'Asia/Shanghai')).toBe('08:00');
    expect(bucketLabel('2026-12-03T00:00:00+08:00', 'hour', 'Asia/Shanghai')).toBe('12-03 00:00');
    // The same instant in another zone.
    expect(bucketLabel('2026-12-03T00:00:00+08:00', 'hour', 'UTC')).toBe('16:00');
    // Half-hour zones see UTC hours at :30.
    expect(bucketLabel('2026-12-02T10:00:00Z', 'hour', 'Asia/Kolkata')).toBe('15:30');
  });
  it('labels days by their local date', () => {
    expect(bucketLabel('2026-12-03T00:00:00+08:00', 'day', 'Asia/Shanghai')).toBe('12-03');
    expect(bucketLabel('2026-12-03T00:00:00-05:00', 'day', 'America/New_York')).toBe('12-03');
  });
  it('puts a midnight tick\'s date under its time', () => {
    expect(tickLines(bucketLabel('2026-12-03T00:00:00+08:00', 'hour', 'Asia/Shanghai'))).toEqual(['00:00', '12-03']);
    expect(tickLines(bucketLabel('2026-12-03T08:00:00+08:00', 'hour', 'Asia/Shanghai'))).toEqual(['08:00']);
    expect(tickLines(bucketLabel('2026-12-03T00:00:00+08:00', 'day', 'Asia/Shanghai'))).toEqual(['12-03']);
  });
  it('gives tooltips the whole range', () => {
    expect(bucketRange('2026-12-03T08:00:00+08:00', '2026-12-03T09:00:00+08:00', 'hour', 'Asia/Shanghai')).toBe('2026-12-03 08:00 – 09:00');
    expect(bucketRange('2026-12-03T00:00:00+08:00', '2026-12-04T00:00:00+08:00', 'day', 'Asia/Shanghai')).toBe('2026-12-03');
  });
  it('keeps 23- and 25-hour days whole across daylight-saving changes', () => {
    // Berlin leaves summer time on 25 October 2026: that day has 25 hours,
    // and its buckets are labelled 00:00, 01:00, 02:00, 02:00, 03:00, ...
    const start = Date.parse('2026-10-24T22:00:00Z');
    const labels = Array.from({ length: 25 }, (_, i) => bucketLabel(new Date(start + i * 3_600_000), 'hour', 'Europe/Berlin'));
    expect(labels.slice(0, 5)).toEqual(['10-25 00:00', '01:00', '02:00', '02:00', '03:00']);
    expect(labels[24]).toBe('23:00');
  });
});

describe('datetime fields', () => {
  it('reads a local time in the zone as an instant', () => {
    expect(localInputToInstant('2027-01-01T00:00', 'Asia/Shanghai')).toBe('2026-12-31T16:00:00Z');
    expect(localInputToInstant('2027-01-01', 'UTC')).toBe('2027-01-01T00:00:00Z');
    expect(localInputToInstant('2026-07-01T09:30', 'America/New_York')).toBe('2026-07-01T13:30:00Z');
    expect(localInputToInstant('soon', 'UTC')).toBeNull();
  });
  it('formats instants in the zone', () => {
    expect(formatDateTime('2026-12-02T17:42:10Z', 'Asia/Shanghai')).toBe('2026-12-03 01:42');
    expect(formatDateTime(undefined, 'UTC')).toBe('—');
  });
});
