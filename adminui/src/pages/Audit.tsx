import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, type AuditEntry } from '../api/client';
import { Badge, Card, Field, PageHeader, Pager, QueryState, Select, inputClass, useCursorPages } from '../components/ui';
import { diffJSON } from '../lib/diff';
import { setQuery, useRoute } from '../lib/router';
import { useSettings } from '../lib/settings';
import { addDays, formatDateTime } from '../lib/time';

const ACTIONS = ['', 'key.create', 'key.update', 'key.rotate', 'key.revoke', 'route.put', 'route.delete', 'price.create'] as const;
const RESOURCES = ['', 'key', 'route', 'price'] as const;
const PAGE = 25;

export function Diff({ entry }: { entry: AuditEntry }) {
  const { t } = useTranslation();
  const [all, setAll] = useState(false);
  const rows = diffJSON(entry.before, entry.after);
  const shown = all ? rows : rows.filter((r) => r.kind !== 'same');
  const tone = { added: 'bg-emerald-50', removed: 'bg-red-50', changed: 'bg-amber-50', same: '' };
  return (
    <div data-testid="audit-diff">
      <table className="w-full font-mono text-xs">
        <thead className="text-left text-slate-500">
          <tr>
            <th className="py-1 pr-3 font-medium">{t('audit.field')}</th>
            <th className="py-1 pr-3 font-medium">{t('audit.before')}</th>
            <th className="py-1 font-medium">{t('audit.after')}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.path} className={`border-t border-slate-100 ${tone[r.kind]}`}>
              <td className="py-1 pr-3 align-top">{r.path}</td>
              <td className="break-all py-1 pr-3 align-top text-red-800">{r.before ?? ''}</td>
              <td className="break-all py-1 align-top text-emerald-800">{r.after ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p className="py-2 text-xs text-slate-500">{t('audit.noChanges')}</p>}
      <label className="mt-2 flex items-center gap-2 text-xs">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> {t('audit.showUnchanged')}
      </label>
    </div>
  );
}

export function AuditPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const route = useRoute();
  const s = route.search;
  const f = {
    action: s.get('action') ?? '',
    resource: s.get('resource') ?? '',
    actor: s.get('actor') ?? '',
    resource_id: s.get('resource_id') ?? '',
    from: s.get('from') ?? '',
    to: s.get('to') ?? '',
  };
  const set = (c: Record<string, string>) => setQuery(c, route);
  const pages = useCursorPages(JSON.stringify(f) + tz);
  const [open, setOpen] = useState<string | null>(null);
  const log = useQuery({
    queryKey: ['audit', f, tz, pages.cursor],
    queryFn: async () => {
      const query = {
        limit: PAGE,
        tz,
        ...(f.action ? { action: f.action as 'key.create' } : {}),
        ...(f.resource ? { resource: f.resource as 'key' } : {}),
        ...(f.actor ? { actor: f.actor } : {}),
        ...(f.resource_id ? { resource_id: f.resource_id } : {}),
        ...(f.from ? { from: f.from } : {}),
        ...(f.to ? { to: addDays(f.to, 1) } : {}),
        ...(pages.cursor ? { cursor: pages.cursor } : {}),
      };
      return unwrap(await api.GET('/api/audit', { params: { query } }));
    },
    placeholderData: keepPreviousData,
  });
  return (
    <div>
      <PageHeader title={t('audit.title')} subtitle={t('audit.subtitle')} />
      <Card>
        <div className="grid gap-3 sm:grid-cols-3 lg:grid-cols-6">
          <Field label={t('audit.action')}>
            <Select label={t('audit.action')} value={f.action} onChange={(v) => set({ action: v })} options={ACTIONS.map((a) => ({ value: a, label: a ? t(`audit.actions.${a}`) : t('audit.any') }))} className="w-full" />
          </Field>
          <Field label={t('audit.resource')}>
            <Select label={t('audit.resource')} value={f.resource} onChange={(v) => set({ resource: v })} options={RESOURCES.map((r) => ({ value: r, label: r ? t(`audit.resources.${r}`) : t('audit.any') }))} className="w-full" />
          </Field>
          <Field label={t('audit.actor')}>
            <input className={inputClass} defaultValue={f.actor} onBlur={(e) => set({ actor: e.target.value.trim() })} onKeyDown={(e) => e.key === 'Enter' && set({ actor: e.currentTarget.value.trim() })} />
          </Field>
          <Field label={t('audit.resourceId')}>
            <input className={inputClass} defaultValue={f.resource_id} onBlur={(e) => set({ resource_id: e.target.value.trim() })} onKeyDown={(e) => e.key === 'Enter' && set({ resource_id: e.currentTarget.value.trim() })} />
          </Field>
          <Field label={t('usage.from')}>
            <input type="date" className={inputClass} value={f.from} onChange={(e) => set({ from: e.target.value })} />
          </Field>
          <Field label={t('audit.through')}>
            <input type="date" className={inputClass} value={f.to} onChange={(e) => set({ to: e.target.value })} />
          </Field>
        </div>
      </Card>
      <div className="mt-4">
        <QueryState query={log} isEmpty={(d) => (d.entries ?? []).length === 0} empty={t('audit.none')}>
          {(d) => (
            <>
              <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
                <table className="w-full text-sm" data-testid="audit-table">
                  <thead className="bg-slate-50 text-left text-xs text-slate-500">
                    <tr>
                      <th className="px-3 py-2 font-medium">{t('audit.time')}</th>
                      <th className="px-3 py-2 font-medium">{t('audit.actor')}</th>
                      <th className="px-3 py-2 font-medium">{t('audit.action')}</th>
                      <th className="px-3 py-2 font-medium">{t('audit.resourceId')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(d.entries ?? []).map((e) => [
                      <tr key={e.id} className="border-t border-slate-100">
                        <td className="whitespace-nowrap px-3 py-2">
                          <button type="button" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)} className="text-teal-800 hover:underline">
                            {open === e.id ? '▾' : '▸'} {formatDateTime(e.time, tz)}
                          </button>
                        </td>
                        <td className="px-3 py-2">
                          {e.actor} <span className="text-xs text-slate-500">{e.actor_role} · {e.auth_mode}</span>
                        </td>
                        <td className="px-3 py-2">
                          <Badge tone={e.action.endsWith('revoke') || e.action.endsWith('delete') ? 'red' : e.action.endsWith('create') || e.action.endsWith('put') ? 'green' : 'blue'}>
                            {t(`audit.actions.${e.action}` as 'audit.actions.key.create', { defaultValue: e.action })}
                          </Badge>
                        </td>
                        <td className="break-all px-3 py-2 font-mono text-xs">{e.resource_id}</td>
                      </tr>,
                      open === e.id && (
                        <tr key={`${e.id}-diff`}>
                          <td colSpan={4} className="bg-slate-50 px-3 py-2">
                            <Diff entry={e} />
                            {e.request_id && <p className="mt-1 text-xs text-slate-500">{t('common.requestId', { id: e.request_id })}</p>}
                          </td>
                        </tr>
                      ),
                    ])}
                  </tbody>
                </table>
              </div>
              <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => d.next_cursor && pages.next(d.next_cursor)} />
            </>
          )}
        </QueryState>
      </div>
    </div>
  );
}
