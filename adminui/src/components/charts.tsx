// Usage charts. Every chart prints the time zone its buckets are in; values
// are integers from the API, formatted by lib/format for axes and tooltips.
import { Bar, BarChart, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTranslation } from 'react-i18next';
import type { Series } from '../api/client';
import { formatCount, formatMoney, formatMoneyShort, formatPercent, formatTokens, formatTokensShort } from '../lib/format';
import { byGroup, requestRows, tokenRows, TOKEN_KINDS, type ChartRow, type Metric } from '../lib/series';
import { tickLines, zoneLabel } from '../lib/time';

export const PALETTE = ['#0f766e', '#2563eb', '#d97706', '#7c3aed', '#db2777', '#65a30d', '#0891b2', '#dc2626', '#64748b'];

export function valueFormatter(metric: Metric): (v: number) => string {
  return metric === 'cost' ? formatMoney : metric === 'tokens' ? formatTokens : formatCount;
}

export function axisFormatter(metric: Metric): (v: number) => string {
  return metric === 'cost' ? formatMoneyShort : formatTokensShort;
}

/**
 * TimeTick draws a bucket's label on the time axis, a local midnight's date
 * on a second line (tickLines). Recharts places it as its own ticks: x at
 * the tick, y below the axis line, text hanging from y.
 */
function TimeTick({ x, y, payload }: { x?: number | string; y?: number | string; payload?: { value?: string } }) {
  const [time, date] = tickLines(payload?.value ?? '');
  return (
    <text x={x} y={y} textAnchor="middle" fontSize={11} fill="#666" className="recharts-cartesian-axis-tick-value">
      <tspan x={x} dy="0.71em">{time}</tspan>
      {date !== undefined && (
        <tspan x={x} dy="1.2em">
          {date}
        </tspan>
      )}
    </text>
  );
}

/** timeAxis is the bucket axis every chart shares; ticks are measured by their first line. */
const timeAxis = {
  dataKey: 'label',
  tick: <TimeTick />,
  tickFormatter: (v: string) => tickLines(v)[0],
  minTickGap: 12,
  height: 36,
} as const;

function rangeOf(payload: readonly { payload?: unknown }[] | undefined): string {
  const row = payload?.[0]?.payload as ChartRow | undefined;
  return row?.range ?? '';
}

/** ZoneCaption is the time zone line under every chart. */
export function ZoneCaption({ tz }: { tz: string }) {
  const { t } = useTranslation();
  return (
    <p className="mt-1 text-xs text-slate-500" data-testid="chart-tz">
      {t('charts.timesIn', { zone: zoneLabel(tz, new Date()) })}
    </p>
  );
}

function NoData() {
  const { t } = useTranslation();
  return (
    <p className="flex items-center justify-center text-center text-sm text-slate-500" style={{ height: chartHeight }}>
      {t('charts.noData')}
    </p>
  );
}

/** empty says whether a series has nothing to draw: no request in any bucket. */
function empty(s: Series): boolean {
  return s.totals.requests === 0 && s.totals.total_tokens === 0 && s.totals.cost_micros === 0;
}

const chartHeight = 240;

/** StackedChart stacks one metric of a series by its lines (models, keys). */
export function StackedChart({ series, metric, label }: { series: Series; metric: Metric; label: string }) {
  const { rows, keys } = byGroup(series, metric);
  const fmt = valueFormatter(metric);
  return (
    <figure aria-label={label}>
      {empty(series) ? (
        <NoData />
      ) : (
        <ResponsiveContainer width="100%" height={chartHeight}>
          <BarChart data={rows} margin={{ top: 8, right: 8, left: 8, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis {...timeAxis} />
            <YAxis tickFormatter={axisFormatter(metric)} tick={{ fontSize: 11 }} width={64} />
            <Tooltip formatter={(v) => fmt(Number(v))} labelFormatter={(_, p) => rangeOf(p)} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {keys.map((k, i) => (
              <Bar key={k} dataKey={k} stackId="a" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      )}
      <ZoneCaption tz={series.tz} />
    </figure>
  );
}

/**
 * TokensChart splits tokens by kind: input, output, cache read, cache write,
 * stacked bars per bucket. Bars, not a smoothed area: a bucket's tokens
 * belong to that bucket, and a curve would draw usage into its neighbours.
 */
export function TokensChart({ series }: { series: Series }) {
  const { t } = useTranslation();
  const rows = tokenRows(series);
  const names = {
    input_tokens: t('metrics.input_tokens'),
    output_tokens: t('metrics.output_tokens'),
    cache_read_tokens: t('metrics.cache_read_tokens'),
    cache_write_tokens: t('metrics.cache_write_tokens'),
  };
  return (
    <figure aria-label={t('dashboard.tokensByKind')}>
      {empty(series) ? <NoData /> : (
      <ResponsiveContainer width="100%" height={chartHeight}>
        <BarChart data={rows} margin={{ top: 8, right: 8, left: 8, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis {...timeAxis} />
          <YAxis tickFormatter={formatTokensShort} tick={{ fontSize: 11 }} width={64} />
          <Tooltip formatter={(v) => formatTokens(Number(v))} labelFormatter={(_, p) => rangeOf(p)} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {TOKEN_KINDS.map((k, i) => (
            <Bar key={k} dataKey={k} name={names[k]} stackId="t" fill={PALETTE[i]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
      )}
      <ZoneCaption tz={series.tz} />
    </figure>
  );
}

/** RequestsChart shows requests as bars and the error rate as a line. */
export function RequestsChart({ series }: { series: Series }) {
  const { t } = useTranslation();
  const rows = requestRows(series);
  return (
    <figure aria-label={t('dashboard.requestsAndErrors')}>
      {empty(series) ? <NoData /> : (
      <ResponsiveContainer width="100%" height={chartHeight}>
        <ComposedChart data={rows} margin={{ top: 8, right: 8, left: 8, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis {...timeAxis} />
          <YAxis yAxisId="n" tickFormatter={formatTokensShort} tick={{ fontSize: 11 }} width={48} allowDecimals={false} />
          <YAxis yAxisId="rate" orientation="right" tickFormatter={(v: number) => formatPercent(v, 0)} tick={{ fontSize: 11 }} width={44} domain={[0, (max: number) => Math.max(max, 0.05)]} />
          <Tooltip
            formatter={(v, name) => (name === t('metrics.error_rate') ? formatPercent(Number(v)) : formatCount(Number(v)))}
            labelFormatter={(_, p) => rangeOf(p)}
          />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Bar yAxisId="n" dataKey="requests" name={t('metrics.requests')} fill={PALETTE[0]} isAnimationActive={false} />
          <Bar yAxisId="n" dataKey="errors" name={t('metrics.errors')} fill={PALETTE[7]} isAnimationActive={false} />
          <Line yAxisId="rate" type="monotone" dataKey="error_rate" name={t('metrics.error_rate')} stroke={PALETTE[2]} dot={false} isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
      )}
      <ZoneCaption tz={series.tz} />
    </figure>
  );
}
