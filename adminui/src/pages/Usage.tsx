import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { fetchText } from '../api/client';
import { useAllKeys, useRoutes, useSeries } from '../api/queries';
import { StackedChart, valueFormatter } from '../components/charts';
import { Button, Card, ErrorBox, Field, PageHeader, Pager, QueryState, Select, inputClass } from '../components/ui';
import { formatCount, formatMoney, formatTokens } from '../lib/format';
import { saveText, translateHeader } from '../lib/csv';
import { setQuery, useRoute } from '../lib/router';
import { METRICS, metricOf, tableRows, type Metric } from '../lib/series';
import { useSettings } from '../lib/settings';
import { isTimeZone, periodWindow, PERIODS, timeZones, type Granularity, type PeriodName } from '../lib/time';

const TABLE_PAGE = 50;
type Group = 'none' | 'model' | 'key';

/** useExplorerParams reads the explorer's filters from the URL, with defaults. */
function useExplorerParams() {
  const route = useRoute();
  const { tz: viewerTz } = useSettings();
  const s = route.search;
  const period = (['custom', ...PERIODS] as string[]).includes(s.get('period') ?? '') ? (s.get('period') as PeriodName | 'custom') : '7d';
  const tzParam = s.get('tz') ?? '';
  const tz = tzParam && isTimeZone(tzParam) ? tzParam : viewerTz;
  const group = (['none', 'model', 'key'].includes(s.get('group_by') ?? '') ? s.get('group_by') : 'model') as Group;
  const metric = (METRICS.includes(s.get('metric') as Metric) ? s.get('metric') : 'cost') as Metric;
  let from: string;
  let to: string;
  let granularity: Granularity;
  if (period === 'custom') {
    from = s.get('from') ?? '';
    to = s.get('to') ?? '';
    granularity = s.get('granularity') === 'hour' ? 'hour' : 'day';
  } else {
    const w = periodWindow(period, tz, new Date());
    from = w.from;
    to = w.to;
    granularity = s.get('granularity') === 'hour' || s.get('granularity') === 'day' ? (s.get('granularity') as Granularity) : w.granularity;
  }
  return { route, period, tz, group, metric, from, to, granularity, key_id: s.get('key_id') ?? '', model: s.get('model') ?? '' };
}

export function UsagePage() {
  const { t } = useTranslation();
  const p = useExplorerParams();
  const set = (changes: Record<string, string | undefined>) => setQuery(changes, p.route);
  const series = useSeries({ from: p.from, to: p.to, tz: p.tz, granularity: p.granularity, group_by: p.group, key_id: p.key_id, model: p.model });
  const keys = useAllKeys();
  const routes = useRoutes();
  const [zones] = useState(() => timeZones(p.tz));
  return (
    <div>
      <PageHeader title={t('usage.title')} subtitle={t('usage.subtitle')} actions={<CsvButton p={p} />} />
      <Card>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Field label={t('common.period')}>
            <Select
              label={t('common.period')}
              value={p.period}
              onChange={(v) => set(v === 'custom' ? { period: v, from: p.from.slice(0, 10), to: p.to.slice(0, 10) } : { period: v, from: undefined, to: undefined })}
              options={[...PERIODS.map((x) => ({ value: x, label: t(`periods.${x}`) })), { value: 'custom', label: t('periods.custom') }]}
              className="w-full"
            />
          </Field>
          {p.period === 'custom' && (
            <>
              <Field label={t('usage.from')}>
                <input type="date" className={inputClass} value={p.from.slice(0, 10)} onChange={(e) => set({ from: e.target.value })} />
              </Field>
              <Field label={t('usage.to')} hint={t('usage.toHint')}>
                <input type="date" className={inputClass} value={p.to.slice(0, 10)} onChange={(e) => set({ to: e.target.value })} />
              </Field>
            </>
          )}
          <Field label={t('usage.granularity')}>
            <Select label={t('usage.granularity')} value={p.granularity} onChange={(v) => set({ granularity: v })} options={(['hour', 'day'] as const).map((g) => ({ value: g, label: t(`usage.granularities.${g}`) }))} className="w-full" />
          </Field>
          <Field label={t('usage.groupBy')}>
            <Select label={t('usage.groupBy')} value={p.group} onChange={(v) => set({ group_by: v })} options={(['model', 'key', 'none'] as const).map((g) => ({ value: g, label: t(`usage.groups.${g}`) }))} className="w-full" />
          </Field>
          <Field label={t('usage.metric')}>
            <Select label={t('usage.metric')} value={p.metric} onChange={(v) => set({ metric: v })} options={METRICS.map((m) => ({ value: m, label: t(`metrics.${m}`) }))} className="w-full" />
          </Field>
          <Field label={t('usage.key')}>
            <Select
              label={t('usage.key')}
              value={p.key_id}
              onChange={(v) => set({ key_id: v })}
              options={[{ value: '', label: t('usage.allKeys') }, ...(keys.data?.keys ?? []).map((k) => ({ value: k.id, label: `${k.name} (${k.prefix})` }))]}
              className="w-full"
            />
          </Field>
          <Field label={t('usage.model')}>
            <Select
              label={t('usage.model')}
              value={p.model}
              onChange={(v) => set({ model: v })}
              options={[{ value: '', label: t('usage.allModels') }, ...Array.from(new Set([...(routes.data?.routes ?? []).map((r) => r.model), ...(p.model ? [p.model] : [])])).map((m) => ({ value: m, label: m }))]}
              className="w-full"
            />
          </Field>
          <Field label={t('settings.timeZone')}>
            <Select label={t('settings.timeZone')} value={p.tz} onChange={(v) => set({ tz: v })} options={zones.map((z) => ({ value: z, label: z }))} className="w-full" />
          </Field>
        </div>
      </Card>
      <QueryState query={series}>
        {(s) => (
          <>
            <Card className="mt-4" title={t(`metrics.${p.metric}`)}>
              <p className="mb-2 text-sm text-slate-600" data-testid="usage-totals">
                {t('keys.usageTotals', { count: s.totals.requests, requests: formatCount(s.totals.requests), tokens: formatTokens(s.totals.total_tokens), cost: formatMoney(s.totals.cost_micros) })}
              </p>
              <StackedChart series={s} metric={p.metric} label={t(`metrics.${p.metric}`)} />
            </Card>
            <UsageTable series={s} metric={p.metric} />
          </>
        )}
      </QueryState>
    </div>
  );
}

function UsageTable({ series, metric }: { series: Parameters<typeof tableRows>[0]; metric: Metric }) {
  const { t } = useTranslation();
  const all = tableRows(series).filter((r) => r.totals.requests > 0 || metricOf(r.totals, metric) !== 0);
  const [page, setPage] = useState(0);
  const rows = all.slice(page * TABLE_PAGE, (page + 1) * TABLE_PAGE);
  const fmt = valueFormatter(metric);
  return (
    <Card className="mt-4" title={t('usage.table')} caption={t('usage.tableCaption')}>
      {all.length === 0 ? (
        <p className="py-6 text-center text-sm text-slate-500">{t('charts.noData')}</p>
      ) : (
        <>
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="usage-table">
              <thead className="text-left text-xs text-slate-500">
                <tr>
                  <th className="py-1 pr-3 font-medium">{t('usage.bucket')}</th>
                  <th className="py-1 pr-3 font-medium">{t('usage.group')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('metrics.requests')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('metrics.errors')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('metrics.input_tokens')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('metrics.output_tokens')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('metrics.cache_read_tokens')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('metrics.cache_write_tokens')}</th>
                  <th className="py-1 text-right font-medium">{t('metrics.cost')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.start}|${r.group}`} className="border-t border-slate-100">
                    <td className="whitespace-nowrap py-1.5 pr-3">{r.range}</td>
                    <td className="py-1.5 pr-3 font-mono text-xs">{r.name ? `${r.name} (${r.group})` : r.group}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(r.totals.requests)}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(r.totals.errors)}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(r.totals.input_tokens)}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(r.totals.output_tokens)}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(r.totals.cache_read_tokens)}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(r.totals.cache_write_tokens)}</td>
                    <td className="py-1.5 text-right tabular-nums">{formatMoney(r.totals.cost_micros)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr className="border-t-2 border-slate-300 font-medium" data-testid="usage-table-total">
                  <td className="py-1.5 pr-3" colSpan={2}>
                    {t('usage.total')}
                  </td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(series.totals.requests)}</td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(series.totals.errors)}</td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(series.totals.input_tokens)}</td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(series.totals.output_tokens)}</td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(series.totals.cache_read_tokens)}</td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(series.totals.cache_write_tokens)}</td>
                  <td className="py-1.5 text-right tabular-nums">{formatMoney(series.totals.cost_micros)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
          <p className="sr-only">{fmt(metricOf(series.totals, metric))}</p>
          {all.length > TABLE_PAGE && <Pager page={page} hasNext={(page + 1) * TABLE_PAGE < all.length} onPrev={() => setPage(page - 1)} onNext={() => setPage(page + 1)} />}
        </>
      )}
    </Card>
  );
}

/** csvHeaderNames translates the API's CSV column names. */
export function useCsvHeaderNames(): Record<string, string> | null {
  const { t, i18n } = useTranslation();
  if (i18n.language !== 'zh') return null;
  const cols = ['bucket_start', 'bucket_end', 'tz', 'group', 'name', 'requests', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'total_tokens', 'cost_micros', 'cost_usd'] as const;
  return Object.fromEntries(cols.map((c) => [c, t(`csv.${c}`)]));
}

function CsvButton({ p }: { p: ReturnType<typeof useExplorerParams> }) {
  const { t } = useTranslation();
  const names = useCsvHeaderNames();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <div className="flex flex-col items-end">
      <Button
        variant="primary"
        disabled={busy}
        data-testid="export-csv"
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const { text, filename } = await fetchText('/api/usage/series.csv', {
              from: p.from, to: p.to, tz: p.tz, granularity: p.granularity, group_by: p.group, key_id: p.key_id, model: p.model,
            });
            saveText(names ? '\uFEFF' + translateHeader(text, names) : text, filename);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('usage.exportCsv')}
      </Button>
      {error !== null && <ErrorBox error={error} />}
    </div>
  );
}
