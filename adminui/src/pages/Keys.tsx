import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, type KeyView } from '../api/client';
import { useCanWrite } from '../auth/auth';
import { Badge, Button, FormDialog, PageHeader, Pager, QueryState, Select, inputClass, useCursorPages, type Tone } from '../components/ui';
import { formatCount, formatMoney } from '../lib/format';
import { Link, navigate, setQuery, useRoute } from '../lib/router';
import { useSettings } from '../lib/settings';
import { daysUntil, formatDate, formatDateTime } from '../lib/time';
import { BudgetBar } from './Dashboard';
import { KeyForm, keyCreateBody, keyFormValues, parseKeyForm, SecretDialog } from './keyForm';

const PAGE_SIZE = 20;
const STATUSES = ['', 'active', 'disabled', 'expired', 'revoked'] as const;

export function statusTone(s: string): Tone {
  return s === 'active' ? 'green' : s === 'revoked' ? 'red' : s === 'expired' ? 'amber' : 'gray';
}

/** ExpiryBadge says when a key stops working: soon (within 14 days) stands out. */
export function ExpiryBadge({ k }: { k: KeyView }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  if (!k.expires_at) return <span className="text-xs text-slate-400">{t('keys.never')}</span>;
  const days = daysUntil(k.expires_at, new Date());
  const date = formatDate(k.expires_at, tz);
  if (days < 0) return <Badge tone="red">{t('keys.expiredOn', { date })}</Badge>;
  if (days <= 14) return <Badge tone="amber">{t('keys.expiresInDays', { count: days, date })}</Badge>;
  return <Badge>{date}</Badge>;
}

export function BudgetCell({ k }: { k: KeyView }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const spent = k.month_spend_micros ?? 0;
  if (k.monthly_budget_micros <= 0) return <span className="tabular-nums">{formatMoney(spent)} <span className="text-xs text-slate-400">/ {t('keys.noBudget')}</span></span>;
  return (
    <div className="min-w-36">
      <div className="flex justify-between gap-2 text-xs tabular-nums">
        <span>{formatMoney(spent)}</span>
        <span className="text-slate-500">/ {formatMoney(k.monthly_budget_micros)}</span>
      </div>
      <BudgetBar spent={spent} budget={k.monthly_budget_micros} />
      <p className="text-[11px] text-slate-500">{t('keys.resets', { date: formatDate(k.budget_resets_at, tz) })}</p>
    </div>
  );
}

const col = createColumnHelper<KeyView>();

export function KeysPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const canWrite = useCanWrite();
  const route = useRoute();
  const q = route.search.get('q') ?? '';
  const status = route.search.get('status') ?? '';
  const [search, setSearch] = useState(q);
  // The search box updates the URL after typing pauses.
  useEffect(() => {
    if (search === q) return;
    const id = setTimeout(() => setQuery({ q: search }, route), 300);
    return () => clearTimeout(id);
  }, [search, q, route]);
  const pages = useCursorPages(`${q}|${status}`);
  const list = useQuery({
    queryKey: ['keys', 'list', q, status, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/keys', {
          params: { query: { limit: PAGE_SIZE, ...(q ? { q } : {}), ...(status ? { status: status as 'active' } : {}), ...(pages.cursor ? { cursor: pages.cursor } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const [creating, setCreating] = useState(false);

  const columns = useMemo(
    () => [
      col.accessor('prefix', { header: () => t('keys.prefix'), cell: (c) => <span className="font-mono text-xs">{c.getValue()}</span> }),
      col.accessor('name', {
        header: () => t('keys.name'),
        cell: (c) => (
          <Link to={`/keys/${encodeURIComponent(c.row.original.id)}`} className="font-medium text-teal-800 hover:underline">
            {c.getValue()}
          </Link>
        ),
      }),
      col.accessor('owner', { header: () => t('keys.owner'), cell: (c) => c.getValue() || <span className="text-slate-400">—</span> }),
      col.accessor('status', { header: () => t('keys.status'), cell: (c) => <Badge tone={statusTone(c.getValue())}>{t(`keys.statuses.${c.getValue()}`)}</Badge> }),
      col.display({
        id: 'limits',
        header: () => t('keys.limits'),
        cell: (c) => (
          <span className="whitespace-nowrap text-xs tabular-nums">
            {c.row.original.rpm ? formatCount(c.row.original.rpm) : t('keys.default')} / {c.row.original.tpm ? formatCount(c.row.original.tpm) : t('keys.default')}
          </span>
        ),
      }),
      col.display({ id: 'budget', header: () => t('keys.budget'), cell: (c) => <BudgetCell k={c.row.original} /> }),
      col.accessor('last_used_at', { header: () => t('keys.lastUsed'), cell: (c) => <span className="whitespace-nowrap text-xs">{c.getValue() ? formatDateTime(c.getValue(), tz) : t('keys.neverUsed')}</span> }),
      col.display({ id: 'expiry', header: () => t('keys.expires'), cell: (c) => <ExpiryBadge k={c.row.original} /> }),
    ],
    [t, tz],
  );
  // TanStack Table keeps its own state; the React Compiler skips this
  // component rather than memoize the table's functions.
  // eslint-disable-next-line react-hooks/incompatible-library
  const table = useReactTable({ data: list.data?.keys ?? [], columns, getCoreRowModel: getCoreRowModel() });

  return (
    <div>
      <PageHeader
        title={t('keys.title')}
        subtitle={t('keys.subtitle')}
        actions={canWrite && (
          <Button variant="primary" onClick={() => setCreating(true)} data-testid="create-key">
            {t('keys.create')}
          </Button>
        )}
      />
      <div className="mb-3 flex flex-wrap gap-2">
        <input
          type="search"
          className={`${inputClass} max-w-xs`}
          placeholder={t('keys.searchPlaceholder')}
          aria-label={t('keys.search')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <Select
          label={t('keys.status')}
          value={status}
          onChange={(v) => setQuery({ status: v }, route)}
          options={STATUSES.map((s) => ({ value: s, label: s ? t(`keys.statuses.${s}`) : t('keys.allStatuses') }))}
        />
      </div>
      <QueryState query={list} isEmpty={(d) => (d.keys ?? []).length === 0} empty={q || status ? t('keys.noMatch') : t('keys.none')}>
        {(d) => (
          <>
            <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
              <table className="w-full text-sm" data-testid="keys-table">
                <thead className="bg-slate-50 text-left text-xs text-slate-500">
                  {table.getHeaderGroups().map((hg) => (
                    <tr key={hg.id}>
                      {hg.headers.map((h) => (
                        <th key={h.id} className="px-3 py-2 font-medium">
                          {flexRender(h.column.columnDef.header, h.getContext())}
                        </th>
                      ))}
                    </tr>
                  ))}
                </thead>
                <tbody>
                  {table.getRowModel().rows.map((r) => (
                    <tr key={r.id} className="border-t border-slate-100 hover:bg-slate-50" data-key-id={r.original.id}>
                      {r.getVisibleCells().map((c) => (
                        <td key={c.id} className="px-3 py-2 align-top">
                          {flexRender(c.column.columnDef.cell, c.getContext())}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => d.next_cursor && pages.next(d.next_cursor)} />
          </>
        )}
      </QueryState>
      {creating && <CreateKeyDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

function CreateKeyDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const qc = useQueryClient();
  const [values, setValues] = useState(keyFormValues(undefined, tz));
  const [errors, setErrors] = useState<ReturnType<typeof parseKeyForm>['errors']>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ secret: string; note: string; id: string } | null>(null);

  const submit = async () => {
    const p = parseKeyForm(values, tz);
    setErrors(p.errors);
    if (!p.fields) return;
    setBusy(true);
    setError(null);
    try {
      const res = unwrap(
        await api.POST('/api/keys', {
          body: keyCreateBody(p.fields),
        }),
      );
      void qc.invalidateQueries({ queryKey: ['keys'] });
      setCreated({ secret: res.secret, note: res.note, id: res.key.id });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <SecretDialog
        secret={created.secret}
        note={created.note}
        onDone={() => {
          onClose();
          navigate(`/keys/${encodeURIComponent(created.id)}`);
        }}
      />
    );
  }
  return (
    <FormDialog
      onClose={onClose}
      title={t('keys.createTitle')}
      wide
      submitLabel={t('keys.create')}
      submitTestId="create-key-submit"
      busy={busy}
      onSubmit={submit}
      error={error}
    >
        <KeyForm values={values} onChange={setValues} errors={errors} />
    </FormDialog>
  );
}
