// Turns the API's usage series into chart rows. Values stay integers
// (micro-dollars, tokens, requests); charts format them for display.
import type { Series, Totals } from '../api/client';
import { bucketLabel, bucketRange, type Granularity } from './time';

export type Metric = 'cost' | 'tokens' | 'requests' | 'errors';

export const METRICS: readonly Metric[] = ['cost', 'tokens', 'requests', 'errors'];

export function metricOf(t: Totals, m: Metric): number {
  switch (m) {
    case 'cost':
      return t.cost_micros;
    case 'tokens':
      return t.total_tokens;
    case 'requests':
      return t.requests;
    case 'errors':
      return t.errors;
  }
}

/** ChartRow is one bucket: its labels and one value per key. */
export interface ChartRow {
  start: string;
  label: string;
  range: string;
  [key: string]: string | number;
}

function rowBase(s: Series, i: number): ChartRow {
  const start = s.buckets?.[i] ?? '';
  const end = s.buckets?.[i + 1] ?? s.to;
  const g: Granularity = s.granularity;
  return { start, label: bucketLabel(start, g, s.tz), range: bucketRange(start, end, g, s.tz) };
}

/** lineKey is a line's key in chart rows and its legend name. */
export function lineName(group: string, name: string | undefined): string {
  return name ? `${name} (${group})` : group;
}

/** byGroup has one row per bucket with a value per line of the series. */
export function byGroup(s: Series, metric: Metric, maxLines = 8): { rows: ChartRow[]; keys: string[] } {
  const lines = s.series ?? [];
  const shown = lines.slice(0, maxLines);
  const rest = lines.slice(maxLines);
  const keys = shown.map((l) => lineName(l.group, l.name));
  if (rest.length > 0) keys.push('…');
  const rows = (s.buckets ?? []).map((_, i) => {
    const r = rowBase(s, i);
    shown.forEach((l, j) => {
      r[keys[j] ?? l.group] = metricOf(l.points?.[i] ?? emptyTotals, metric);
    });
    if (rest.length > 0) r['…'] = rest.reduce((acc, l) => acc + metricOf(l.points?.[i] ?? emptyTotals, metric), 0);
    return r;
  });
  return { rows, keys };
}

export const TOKEN_KINDS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const emptyTotals: Totals = {
  requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, total_tokens: 0, cost_micros: 0,
};

/** bucketTotals sums every line of the series per bucket. */
export function bucketTotals(s: Series): Totals[] {
  return (s.buckets ?? []).map((_, i) => {
    const t = { ...emptyTotals };
    for (const l of s.series ?? []) {
      const p = l.points?.[i];
      if (!p) continue;
      for (const k of Object.keys(t) as (keyof Totals)[]) t[k] += p[k];
    }
    return t;
  });
}

/** tokenRows has a row per bucket with the four token kinds. */
export function tokenRows(s: Series): ChartRow[] {
  return bucketTotals(s).map((t, i) => {
    const r = rowBase(s, i);
    for (const k of TOKEN_KINDS) r[k] = t[k];
    return r;
  });
}

/** requestRows has a row per bucket with requests, errors and the error rate (a fraction; 0 without requests). */
export function requestRows(s: Series): ChartRow[] {
  return bucketTotals(s).map((t, i) => {
    const r = rowBase(s, i);
    r.requests = t.requests;
    r.errors = t.errors;
    r.error_rate = t.requests > 0 ? t.errors / t.requests : 0;
    return r;
  });
}

/** tableRows flattens a series into one row per line and bucket, as its CSV does. */
export function tableRows(s: Series): { start: string; range: string; group: string; name: string; totals: Totals }[] {
  const out: { start: string; range: string; group: string; name: string; totals: Totals }[] = [];
  for (const l of s.series ?? []) {
    (s.buckets ?? []).forEach((_, i) => {
      const base = rowBase(s, i);
      out.push({ start: base.start, range: base.range, group: l.group, name: l.name ?? '', totals: l.points?.[i] ?? emptyTotals });
    });
  }
  return out;
}
