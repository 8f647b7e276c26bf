import { useTranslation } from 'react-i18next';
import type { KeyView, Top, Totals } from '../api/client';
import { useAllKeys, useSeries, useSummary, useTop } from '../api/queries';
import { RequestsChart, StackedChart, TokensChart } from '../components/charts';
import { Badge, Card, Empty, PageHeader, QueryState, Segmented } from '../components/ui';
import { budgetShare, change, formatCount, formatMoney, formatPercent, formatTokens } from '../lib/format';
import { Link, setQuery, useRoute } from '../lib/router';
import { useSettings } from '../lib/settings';
import { formatDate, periodWindow, PERIODS, type PeriodName } from '../lib/time';

/** NEAR_BUDGET is the spent share from which a key is listed as near its budget. */
const NEAR_BUDGET = 0.8;

export function usePeriod(def: PeriodName = '24h'): [PeriodName, (p: PeriodName) => void] {
  const route = useRoute();
  const p = route.search.get('period');
  const period = PERIODS.includes(p as PeriodName) ? (p as PeriodName) : def;
  return [period, (v) => setQuery({ period: v === def ? undefined : v }, route)];
}

export function PeriodPicker({ value, onChange }: { value: PeriodName; onChange: (p: PeriodName) => void }) {
  const { t } = useTranslation();
  return <Segmented label={t('common.period')} value={value} onChange={onChange} options={PERIODS.map((p) => ({ value: p, label: t(`periods.${p}`) }))} />;
}

function ChangeLine({ current, previous, lowerIsBetter = false }: { current: number; previous: number; lowerIsBetter?: boolean }) {
  const { t } = useTranslation();
  const c = change(current, previous);
  if (c.direction === 'same') return <span className="text-slate-500">{t('dashboard.noChange')}</span>;
  if (c.direction === 'new') return <span className="text-slate-500">{t('dashboard.newSincePrevious')}</span>;
  const good = (c.direction === 'down') === lowerIsBetter;
  return (
    <span className={good ? 'text-emerald-700' : 'text-red-700'}>
      {c.direction === 'up' ? '▲' : '▼'} {formatPercent(c.fraction ?? 0)} <span className="text-slate-500">{t('dashboard.vsPrevious')}</span>
    </span>
  );
}

function StatCard({ id, label, value, current, previous, extra, lowerIsBetter }: { id: string; label: string; value: string; current: number; previous: number; extra?: string; lowerIsBetter?: boolean }) {
  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200" data-testid={`stat-${id}`}>
      <p className="text-sm text-slate-500">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums text-slate-900" data-testid={`stat-${id}-value`}>
        {value}
      </p>
      {extra && <p className="text-xs text-slate-500">{extra}</p>}
      <p className="mt-1 text-xs">
        <ChangeLine current={current} previous={previous} {...(lowerIsBetter ? { lowerIsBetter } : {})} />
      </p>
    </div>
  );
}

function StatCards({ cur, prev, keysCur, keysPrev }: { cur: Totals; prev: Totals; keysCur: number; keysPrev: number }) {
  const { t } = useTranslation();
  const rate = cur.requests > 0 ? cur.errors / cur.requests : 0;
  return (
    <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-5">
      <StatCard id="requests" label={t('metrics.requests')} value={formatCount(cur.requests)} current={cur.requests} previous={prev.requests} />
      <StatCard id="errors" label={t('metrics.errors')} value={formatCount(cur.errors)} extra={t('dashboard.errorRate', { rate: formatPercent(rate) })} current={cur.errors} previous={prev.errors} lowerIsBetter />
      <StatCard
        id="tokens"
        label={t('metrics.tokens')}
        value={formatTokens(cur.total_tokens)}
        extra={t('dashboard.tokensSplit', { input: formatTokens(cur.input_tokens), output: formatTokens(cur.output_tokens) })}
        current={cur.total_tokens}
        previous={prev.total_tokens}
      />
      <StatCard id="cost" label={t('metrics.cost')} value={formatMoney(cur.cost_micros)} current={cur.cost_micros} previous={prev.cost_micros} />
      <StatCard id="keys" label={t('dashboard.activeKeys')} value={formatCount(keysCur)} current={keysCur} previous={keysPrev} />
    </div>
  );
}

function TopTable({ top, by }: { top: Top; by: 'key' | 'model' }) {
  const { t } = useTranslation();
  if ((top.items ?? []).length === 0) return <Empty>{t('dashboard.noUsage')}</Empty>;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm" data-testid={`top-${by}s`}>
        <thead className="text-left text-xs text-slate-500">
          <tr>
            <th className="py-1 pr-2 font-medium">#</th>
            <th className="py-1 pr-2 font-medium">{by === 'key' ? t('keys.key') : t('usage.model')}</th>
            <th className="py-1 pr-2 text-right font-medium">{t('metrics.requests')}</th>
            <th className="py-1 pr-2 text-right font-medium">{t('metrics.tokens')}</th>
            <th className="py-1 text-right font-medium">{t('metrics.cost')}</th>
          </tr>
        </thead>
        <tbody>
          {(top.items ?? []).map((e) => (
            <tr key={e.id} className="border-t border-slate-100">
              <td className="py-1.5 pr-2 text-slate-500">{e.rank}</td>
              <td className="max-w-[14rem] truncate py-1.5 pr-2">
                {by === 'key' && e.id.startsWith('key_') ? <Link to={`/keys/${encodeURIComponent(e.id)}`} className="text-teal-800 hover:underline">{e.name || e.id}</Link> : e.name || e.id}
              </td>
              <td className="py-1.5 pr-2 text-right tabular-nums">{formatCount(e.totals.requests)}</td>
              <td className="py-1.5 pr-2 text-right tabular-nums">{formatTokens(e.totals.total_tokens)}</td>
              <td className="py-1.5 text-right tabular-nums">
                {formatMoney(e.totals.cost_micros)} <span className="text-xs text-slate-500">{formatPercent(e.share)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function BudgetBar({ spent, budget }: { spent: number; budget: number }) {
  const share = budgetShare(spent, budget) ?? 0;
  const color = share >= 1 ? 'bg-red-600' : share >= NEAR_BUDGET ? 'bg-amber-500' : 'bg-teal-600';
  return (
    <div className="h-1.5 w-full min-w-16 overflow-hidden rounded bg-slate-200" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(share * 100)}>
      <div className={`h-full ${color}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
    </div>
  );
}

function BudgetWatch({ keys }: { keys: KeyView[] }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const near = keys
    .filter((k) => k.status !== 'revoked' && (budgetShare(k.month_spend_micros, k.monthly_budget_micros) ?? 0) >= NEAR_BUDGET)
    .sort((a, b) => (budgetShare(b.month_spend_micros, b.monthly_budget_micros) ?? 0) - (budgetShare(a.month_spend_micros, a.monthly_budget_micros) ?? 0));
  if (near.length === 0) return <Empty>{t('dashboard.noBudgetAlerts', { pct: formatPercent(NEAR_BUDGET, 0) })}</Empty>;
  return (
    <ul className="divide-y divide-slate-100" data-testid="budget-watch">
      {near.map((k) => {
        const share = budgetShare(k.month_spend_micros, k.monthly_budget_micros) ?? 0;
        return (
          <li key={k.id} className="py-2 text-sm">
            <div className="flex flex-wrap items-center justify-between gap-2">
              <Link to={`/keys/${encodeURIComponent(k.id)}`} className="font-medium text-teal-800 hover:underline">
                {k.name} <span className="font-mono text-xs text-slate-500">{k.prefix}</span>
              </Link>
              <Badge tone={share >= 1 ? 'red' : 'amber'}>{share >= 1 ? t('keys.overBudget') : t('keys.nearBudget')}</Badge>
            </div>
            <div className="mt-1 flex items-center gap-2">
              <BudgetBar spent={k.month_spend_micros ?? 0} budget={k.monthly_budget_micros} />
              <span className="whitespace-nowrap text-xs tabular-nums text-slate-600">
                {formatMoney(k.month_spend_micros ?? 0)} / {formatMoney(k.monthly_budget_micros)}
              </span>
            </div>
            <p className="text-xs text-slate-500">{t('keys.resets', { date: formatDate(k.budget_resets_at, tz) })}</p>
          </li>
        );
      })}
    </ul>
  );
}

export function DashboardPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const [period, setPeriod] = usePeriod();
  const w = periodWindow(period, tz, new Date());
  const win = { from: w.from, to: w.to, tz };
  const summary = useSummary(win);
  const byModel = useSeries({ ...win, granularity: w.granularity, group_by: 'model' });
  const total = useSeries({ ...win, granularity: w.granularity, group_by: 'none' });
  const topKeys = useTop({ ...win, by: 'key', limit: 5 });
  const topModels = useTop({ ...win, by: 'model', limit: 5 });
  const keys = useAllKeys();
  return (
    <div>
      <PageHeader title={t('dashboard.title')} subtitle={t('dashboard.subtitle')} actions={<PeriodPicker value={period} onChange={setPeriod} />} />
      <QueryState query={summary}>
        {(s) => (
          <StatCards cur={s.current.totals} prev={s.previous.totals} keysCur={s.current.keys_with_usage ?? 0} keysPrev={s.previous.keys_with_usage ?? 0} />
        )}
      </QueryState>
      <div className="mt-4 grid gap-4 lg:grid-cols-2">
        <Card title={t('dashboard.costByModel')}>
          <QueryState query={byModel}>{(s) => <StackedChart series={s} metric="cost" label={t('dashboard.costByModel')} />}</QueryState>
        </Card>
        <Card title={t('dashboard.tokensByKind')}>
          <QueryState query={total}>{(s) => <TokensChart series={s} />}</QueryState>
        </Card>
        <Card title={t('dashboard.requestsAndErrors')} className="lg:col-span-2">
          <QueryState query={total}>{(s) => <RequestsChart series={s} />}</QueryState>
        </Card>
        <Card title={t('dashboard.topKeys')}>
          <QueryState query={topKeys}>{(d) => <TopTable top={d} by="key" />}</QueryState>
        </Card>
        <Card title={t('dashboard.topModels')}>
          <QueryState query={topModels}>{(d) => <TopTable top={d} by="model" />}</QueryState>
        </Card>
        <Card title={t('dashboard.budgets')} className="lg:col-span-2" caption={t('dashboard.budgetsCaption')}>
          <QueryState query={keys}>{(d) => <BudgetWatch keys={d.keys ?? []} />}</QueryState>
        </Card>
      </div>
    </div>
  );
}
