import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, ifMatch, unwrap, type KeyView } from '../api/client';
import { useSeries } from '../api/queries';
import { useCanWrite } from '../auth/auth';
import { StackedChart } from '../components/charts';
import { Badge, Button, Card, ConfirmDialog, Dialog, ErrorBox, FormDialog, Field, PageHeader, Pager, QueryState, Segmented, Select, useCursorPages } from '../components/ui';
import { formatCount, formatMoney, formatTokens } from '../lib/format';
import { Link } from '../lib/router';
import { useSettings } from '../lib/settings';
import { formatDateTime, periodWindow } from '../lib/time';
import { PeriodPicker, usePeriod } from './Dashboard';
import { KeyForm, keyFormValues, keyPatchBody, parseKeyForm, SecretDialog } from './keyForm';
import { BudgetCell, ExpiryBadge, statusTone } from './Keys';

const LOG_PAGE = 20;

function Info({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className="mt-0.5 text-sm">{children}</dd>
    </div>
  );
}

export function KeyDetailPage({ id }: { id: string }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const canWrite = useCanWrite();
  const qc = useQueryClient();
  const key = useQuery({ queryKey: ['keys', 'one', id], queryFn: async () => unwrap(await api.GET('/api/keys/{id}', { params: { path: { id } } })) });
  const [dialog, setDialog] = useState<'edit' | 'rotate' | 'revoke' | null>(null);
  const [secret, setSecret] = useState<{ secret: string; note: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['keys'] });
  };
  return (
    <div>
      <p className="mb-2 text-sm">
        <Link to="/keys" className="text-teal-800 hover:underline">
          ← {t('keys.title')}
        </Link>
      </p>
      <QueryState query={key}>
        {(k) => (
          <>
            <PageHeader
              title={
                <span className="flex flex-wrap items-center gap-2">
                  {k.name} <span className="font-mono text-sm text-slate-500">{k.prefix}</span>
                  <Badge tone={statusTone(k.status)}>{t(`keys.statuses.${k.status}` as 'keys.statuses.active')}</Badge>
                </span>
              }
              subtitle={<span className="font-mono text-xs">{k.id}</span>}
              actions={
                canWrite && k.status !== 'revoked' && (
                  <>
                    <Button onClick={() => setDialog('edit')} data-testid="edit-key">
                      {t('keys.edit')}
                    </Button>
                    <Button onClick={() => setDialog('rotate')}>{t('keys.rotate')}</Button>
                    <Button variant="danger" onClick={() => setDialog('revoke')} data-testid="revoke-key">
                      {t('keys.revoke')}
                    </Button>
                  </>
                )
              }
            />
            {notice && (
              <div role="status" className="mb-3 rounded-md bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="key-notice">
                {notice}
              </div>
            )}
            <Card>
              <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
                <Info label={t('keys.owner')}>{k.owner || '—'}</Info>
                <Info label={t('keys.created')}>{formatDateTime(k.created_at, tz)}</Info>
                <Info label={t('keys.lastUsed')}>
                  {k.last_used_at ? formatDateTime(k.last_used_at, tz) : t('keys.neverUsed')}
                  {/* Gateways record use about once a minute, so a request just made may not show yet. */}
                  <span className="mt-0.5 block text-xs text-slate-500" data-testid="key-last-used-note">
                    {t('keys.lastUsedNote')}
                  </span>
                </Info>
                <Info label={t('keys.expires')}>
                  <ExpiryBadge k={k} />
                </Info>
                <Info label={t('keys.rpm')}>{k.rpm ? formatCount(k.rpm) : t('keys.default')}</Info>
                <Info label={t('keys.tpm')}>{k.tpm ? formatCount(k.tpm) : t('keys.default')}</Info>
                <Info label={t('keys.budget')}>
                  <span data-testid="key-budget">
                    <BudgetCell k={k} />
                  </span>
                </Info>
                <Info label={t('keys.promptCaching')}>
                  <span data-testid="key-prompt-caching">{t(`keys.cacheTTLs.${k.prompt_cache_ttl ?? 'default'}`)}</span>
                </Info>
                <Info label={t('keys.allowedModels')}>
                  {k.allowed_models?.length ? <span className="font-mono text-xs">{k.allowed_models.join(', ')}</span> : t('keys.allModels')}
                </Info>
                {k.previous_prefix && (
                  <Info label={t('keys.previousSecret')}>
                    <span className="font-mono text-xs">{k.previous_prefix}</span> {t('keys.worksUntil', { date: formatDateTime(k.previous_until, tz) })}
                  </Info>
                )}
                {k.revoked_at && <Info label={t('keys.revokedAt')}>{formatDateTime(k.revoked_at, tz)}</Info>}
              </dl>
            </Card>
            <KeyUsage id={k.id} />
            <RequestLog id={k.id} />
            {dialog === 'edit' && (
              <EditKeyDialog
                k={k}
                onClose={() => setDialog(null)}
                onSaved={() => {
                  setNotice(null);
                  refresh();
                }}
                onConflict={() => {
                  setNotice(t('keys.conflict'));
                  setDialog(null);
                  refresh();
                }}
              />
            )}
            {dialog === 'rotate' && (
              <RotateDialog
                k={k}
                onClose={() => setDialog(null)}
                onRotated={(s) => {
                  setSecret(s);
                  refresh();
                }}
                onConflict={() => {
                  setNotice(t('keys.conflict'));
                  setDialog(null);
                  refresh();
                }}
              />
            )}
            <ConfirmDialog
              open={dialog === 'revoke'}
              danger
              title={t('keys.revokeTitle', { name: k.name })}
              body={t('keys.revokeBody')}
              confirmLabel={t('keys.revoke')}
              onClose={() => setDialog(null)}
              onConfirm={async () => {
                unwrap(await api.POST('/api/keys/{id}/revoke', { params: { path: { id: k.id }, header: { 'If-Match': ifMatch(k.revision) } } }));
                refresh();
              }}
            />
            <SecretDialog secret={secret?.secret ?? null} {...(secret?.note ? { note: secret.note } : {})} onDone={() => setSecret(null)} />
          </>
        )}
      </QueryState>
    </div>
  );
}

function EditKeyDialog({ k, onClose, onSaved, onConflict }: { k: KeyView; onClose: () => void; onSaved: () => void; onConflict: () => void }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const [values, setValues] = useState(keyFormValues(k, tz));
  const [errors, setErrors] = useState<ReturnType<typeof parseKeyForm>['errors']>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const p = parseKeyForm(values, tz);
    setErrors(p.errors);
    if (!p.fields) return;
    setBusy(true);
    setError(null);
    try {
      unwrap(
        await api.PATCH('/api/keys/{id}', {
          params: { path: { id: k.id }, header: { 'If-Match': ifMatch(k.revision) } },
          body: keyPatchBody(p.fields, k),
        }),
      );
      onSaved();
      onClose();
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) onConflict();
      else setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormDialog
      onClose={onClose}
      title={t('keys.editTitle', { name: k.name })}
      wide
      submitLabel={t('common.save')}
      submitTestId="save-key"
      busy={busy}
      onSubmit={submit}
      error={error}
    >
        <KeyForm values={values} onChange={setValues} errors={errors} edit />
    </FormDialog>
  );
}

const GRACE = [0, 3600, 86400, 604800] as const;

function RotateDialog({ k, onClose, onRotated, onConflict }: { k: KeyView; onClose: () => void; onRotated: (s: { secret: string; note: string }) => void; onConflict: () => void }) {
  const { t } = useTranslation();
  const [grace, setGrace] = useState('3600');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog
      open
      onClose={onClose}
      title={t('keys.rotateTitle', { name: k.name })}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button
            variant="primary"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                const r = unwrap(
                  await api.POST('/api/keys/{id}/rotate', {
                    params: { path: { id: k.id }, header: { 'If-Match': ifMatch(k.revision) } },
                    body: { grace_seconds: Number(grace) },
                  }),
                );
                onClose();
                onRotated({ secret: r.secret, note: r.note });
              } catch (e) {
                if (e instanceof ApiError && e.status === 412) onConflict();
                else setError(e);
              } finally {
                setBusy(false);
              }
            }}
          >
            {t('keys.rotate')}
          </Button>
        </>
      }
    >
      <p className="mb-3 text-sm">{t('keys.rotateBody')}</p>
      <Field label={t('keys.grace')}>
        <Select label={t('keys.grace')} value={grace} onChange={setGrace} options={GRACE.map((g) => ({ value: String(g), label: t(`keys.graceOptions.g${g}`) }))} />
      </Field>
      {error !== null && <ErrorBox error={error} />}
    </Dialog>
  );
}

function KeyUsage({ id }: { id: string }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const [period, setPeriod] = usePeriod('7d');
  const [metric, setMetric] = useState<'cost' | 'tokens' | 'requests'>('cost');
  const w = periodWindow(period, tz, new Date());
  const series = useSeries({ from: w.from, to: w.to, tz, key_id: id, granularity: w.granularity, group_by: 'model' });
  return (
    <Card
      className="mt-4"
      title={t('keys.usage')}
      actions={
        <div className="flex flex-wrap gap-2">
          <Segmented label={t('usage.metric')} value={metric} onChange={setMetric} options={(['cost', 'tokens', 'requests'] as const).map((m) => ({ value: m, label: t(`metrics.${m}`) }))} />
          <PeriodPicker value={period} onChange={setPeriod} />
        </div>
      }
    >
      <QueryState query={series}>
        {(s) => (
          <>
            <p className="mb-2 text-sm text-slate-600" data-testid="key-usage-totals">
              {t('keys.usageTotals', { count: s.totals.requests, requests: formatCount(s.totals.requests), tokens: formatTokens(s.totals.total_tokens), cost: formatMoney(s.totals.cost_micros) })}
            </p>
            <StackedChart series={s} metric={metric} label={t('keys.usage')} />
          </>
        )}
      </QueryState>
    </Card>
  );
}

function RequestLog({ id }: { id: string }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const [period] = usePeriod('7d');
  const w = periodWindow(period, tz, new Date());
  const pages = useCursorPages(`${id}|${w.from}|${w.to}`);
  const log = useQuery({
    queryKey: ['usage', 'requests', id, w.from, w.to, tz, pages.cursor],
    queryFn: async () =>
      unwrap(await api.GET('/api/usage/requests', { params: { query: { key_id: id, from: w.from, to: w.to, tz, limit: LOG_PAGE, ...(pages.cursor ? { cursor: pages.cursor } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <Card className="mt-4" title={t('keys.requestLog')} caption={t('charts.timesIn', { zone: tz })}>
      <QueryState query={log} isEmpty={(d) => (d.requests ?? []).length === 0} empty={t('keys.noRequests')}>
        {(d) => (
          <>
            <div className="overflow-x-auto">
              <table className="w-full text-sm" data-testid="request-log">
                <thead className="text-left text-xs text-slate-500">
                  <tr>
                    <th className="py-1 pr-3 font-medium">{t('keys.time')}</th>
                    <th className="py-1 pr-3 font-medium">{t('usage.model')}</th>
                    <th className="py-1 pr-3 font-medium">{t('keys.status')}</th>
                    <th className="py-1 pr-3 text-right font-medium">{t('metrics.input_tokens')}</th>
                    <th className="py-1 pr-3 text-right font-medium">{t('metrics.output_tokens')}</th>
                    <th className="py-1 pr-3 text-right font-medium">{t('metrics.cost')}</th>
                    <th className="py-1 pr-3 text-right font-medium">{t('keys.latency')}</th>
                    <th className="py-1 font-medium">{t('keys.requestId')}</th>
                  </tr>
                </thead>
                <tbody>
                  {(d.requests ?? []).map((r) => (
                    <tr key={r.id} className="border-t border-slate-100">
                      <td className="whitespace-nowrap py-1.5 pr-3">{formatDateTime(r.time, tz)}</td>
                      <td className="py-1.5 pr-3 font-mono text-xs">{r.model}</td>
                      <td className="py-1.5 pr-3">
                        <Badge tone={r.status === 'ok' ? 'green' : r.status === 'refused' ? 'amber' : 'red'} title={r.error_type ?? ''}>
                          {r.http_status} {r.status}
                        </Badge>
                        {r.streamed && <span className="ml-1 text-xs text-slate-500">{t('keys.streamed')}</span>}
                      </td>
                      <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(r.input_tokens)}</td>
                      <td className="py-1.5 pr-3 text-right tabular-nums">{formatTokens(r.output_tokens)}</td>
                      <td className="py-1.5 pr-3 text-right tabular-nums">{r.unpriced ? <Badge tone="amber">{t('prices.unpriced')}</Badge> : formatMoney(r.cost_micros)}</td>
                      <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(r.latency_ms)} ms</td>
                      <td className="py-1.5 font-mono text-[11px] text-slate-500">{r.request_id}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => d.next_cursor && pages.next(d.next_cursor)} />
          </>
        )}
      </QueryState>
    </Card>
  );
}

