// Time windows and labels. The API buckets hourly UTC roll-ups in the
// viewer's IANA time zone; the portal asks for whole local days (or the
// last 24 whole hours) and labels each bucket in that zone.

export type PeriodName = '24h' | '7d' | '30d';
export type Granularity = 'hour' | 'day';

export interface Window {
  /** RFC 3339 instant or a date in tz, as the API takes it. */
  from: string;
  to: string;
  granularity: Granularity;
}

export const PERIODS: readonly PeriodName[] = ['24h', '7d', '30d'];

const HOUR = 3_600_000;

/** browserTimeZone is the viewer's zone, or UTC when the browser does not say. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** isTimeZone reports whether the browser knows tz as an IANA zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** timeZones lists the zones to choose from, tz first if the list lacks it. */
export function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = ['UTC', 'Asia/Shanghai', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles'];
  }
  if (!zones.includes('UTC')) zones = ['UTC', ...zones];
  if (!zones.includes(current)) zones = [current, ...zones];
  return zones;
}

/** localDate is the calendar date of instant in tz, as "YYYY-MM-DD". */
export function localDate(instant: Date, tz: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** addDays moves a "YYYY-MM-DD" date by n calendar days. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/**
 * periodWindow is the window of a named period ending now: the last 24
 * whole hours by hour (this hour included), or the last 7 or 30 local
 * days by day (today included).
 */
export function periodWindow(period: PeriodName, tz: string, now: Date): Window {
  if (period === '24h') {
    const end = Math.floor(now.getTime() / HOUR) * HOUR + HOUR;
    return { from: new Date(end - 24 * HOUR).toISOString(), to: new Date(end).toISOString(), granularity: 'hour' };
  }
  const days = period === '7d' ? 7 : 30;
  const today = localDate(now, tz);
  return { from: addDays(today, 1 - days), to: addDays(today, 1), granularity: 'day' };
}

/**
 * offsetLabel is tz's UTC offset at instant: "UTC+08:00", "UTC-05:00",
 * "UTC+05:30", "UTC".
 */
export function offsetLabel(tz: string, instant: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((p) => p.type === 'timeZoneName')?.value;
  if (!part || part === 'GMT' || part === 'GMT+00:00') return 'UTC';
  return part.replace('GMT', 'UTC');
}

/** zoneLabel is what every chart prints: "Asia/Shanghai (UTC+08:00)". */
export function zoneLabel(tz: string, instant: Date): string {
  return `${tz} (${offsetLabel(tz, instant)})`;
}

function parts(instant: Date, tz: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat('en-GB', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(instant)) {
    out[p.type] = p.value;
  }
  return out;
}

/**
 * bucketLabel is a bucket's short axis label in tz: "08:00" for hours
 * ("12-03 00:00" at a local midnight, so a day change is visible), "12-03"
 * for days.
 */
export function bucketLabel(start: string | Date, granularity: Granularity, tz: string): string {
  const p = parts(typeof start === 'string' ? new Date(start) : start, tz);
  const day = `${p.month ?? ''}-${p.day ?? ''}`;
  if (granularity === 'day') return day;
  const time = `${p.hour ?? ''}:${p.minute ?? ''}`;
  return time === '00:00' ? `${day} ${time}` : time;
}

/**
 * tickLines splits a bucket's label into the lines its axis tick shows: the
 * time, with the date under it at a local midnight ("12-03 00:00" gives
 * ["00:00", "12-03"]). The chart measures a tick by its first line, so the
 * day change gets a tick as narrow as the others instead of one twice as
 * wide, which the chart would drop for overlapping its neighbours.
 */
export function tickLines(label: string): [string] | [string, string] {
  const i = label.indexOf(' ');
  return i < 0 ? [label] : [label.slice(i + 1), label.slice(0, i)];
}

/** bucketRange is a bucket's full label for tooltips: "2026-12-03 08:00 – 09:00", "2026-12-03". */
export function bucketRange(start: string, end: string, granularity: Granularity, tz: string): string {
  const a = parts(new Date(start), tz);
  const date = `${a.year ?? ''}-${a.month ?? ''}-${a.day ?? ''}`;
  if (granularity === 'day') return date;
  const b = parts(new Date(end), tz);
  return `${date} ${a.hour ?? ''}:${a.minute ?? ''} – ${b.hour ?? ''}:${b.minute ?? ''}`;
}

/** formatDateTime renders an instant in tz for tables: "2026-12-03 08:15". */
export function formatDateTime(instant: string | undefined, tz: string): string {
  if (!instant) return '—';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return '—';
  const p = parts(d, tz);
  return `${p.year ?? ''}-${p.month ?? ''}-${p.day ?? ''} ${p.hour ?? ''}:${p.minute ?? ''}`;
}

/** formatDate renders the calendar date of an instant in tz. */
export function formatDate(instant: string | undefined, tz: string): string {
  if (!instant) return '—';
  const d = new Date(instant);
  return Number.isNaN(d.getTime()) ? '—' : localDate(d, tz);
}

/**
 * localInputToInstant reads a datetime-local field value ("2026-12-03T08:00")
 * as a time in tz and returns the RFC 3339 UTC instant.
 */
export function localInputToInstant(value: string, tz: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map((v: string | undefined) => Number(v ?? 0)) as [number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // The zone's offset at the wall time, found by formatting a guess and
  // correcting by the difference (twice, for a change of offset between).
  let t = wall;
  for (let i = 0; i < 2; i++) {
    const p = parts(new Date(t), tz);
    const shown = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
    t += wall - shown;
  }
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

/** daysUntil is the number of whole days from now to instant (negative when past). */
export function daysUntil(instant: string, now: Date): number {
  return Math.floor((new Date(instant).getTime() - now.getTime()) / (24 * HOUR));
}
