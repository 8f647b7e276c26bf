import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, type RouteView } from '../api/client';
import { useRoutes } from '../api/queries';
import { useCanWrite } from '../auth/auth';
import { Badge, Button, Card, ConfirmDialog, FormDialog, Field, PageHeader, QueryState, inputClass } from '../components/ui';
import { useSettings } from '../lib/settings';
import { formatDateTime } from '../lib/time';

export function RoutesPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const canWrite = useCanWrite();
  const routes = useRoutes();
  const qc = useQueryClient();
  const [editing, setEditing] = useState<{ model: string; bedrock: string; isNew: boolean } | null>(null);
  const [deleting, setDeleting] = useState<RouteView | null>(null);
  return (
    <div>
      <PageHeader
        title={t('routes.title')}
        subtitle={t('routes.subtitle')}
        actions={canWrite && (
          <Button variant="primary" onClick={() => setEditing({ model: '', bedrock: '', isNew: true })} data-testid="add-route">
            {t('routes.add')}
          </Button>
        )}
      />
      <QueryState query={routes} isEmpty={(d) => (d.routes ?? []).length === 0} empty={t('routes.none')}>
        {(d) => (
          <Card caption={d.note}>
            <div className="overflow-x-auto">
              <table className="w-full text-sm" data-testid="routes-table">
                <thead className="text-left text-xs text-slate-500">
                  <tr>
                    <th className="py-1 pr-3 font-medium">{t('routes.model')}</th>
                    <th className="py-1 pr-3 font-medium">{t('routes.bedrock')}</th>
                    <th className="py-1 pr-3 font-medium">{t('routes.source')}</th>
                    <th className="py-1 pr-3 font-medium">{t('routes.priced')}</th>
                    <th className="py-1 pr-3 font-medium">{t('routes.updated')}</th>
                    {canWrite && <th className="py-1 font-medium"><span className="sr-only">{t('common.actions')}</span></th>}
                  </tr>
                </thead>
                <tbody>
                  {(d.routes ?? []).map((r) => (
                    <tr key={r.model} className="border-t border-slate-100" data-route={r.model}>
                      <td className="py-1.5 pr-3 font-mono text-xs">{r.model}</td>
                      <td className="py-1.5 pr-3 font-mono text-xs">
                        {r.bedrock_model_id}
                        {r.default_bedrock_model_id && <div className="text-slate-400">{t('routes.overrides', { id: r.default_bedrock_model_id })}</div>}
                      </td>
                      <td className="py-1.5 pr-3">
                        <Badge tone={r.source === 'admin' ? 'blue' : 'gray'}>{r.source === 'admin' ? t('routes.admin') : t('routes.builtin')}</Badge>
                      </td>
                      <td className="py-1.5 pr-3">{r.priced ? <Badge tone="green">{t('routes.yes')}</Badge> : <Badge tone="amber">{t('prices.unpriced')}</Badge>}</td>
                      <td className="whitespace-nowrap py-1.5 pr-3 text-xs">{r.updated_at ? formatDateTime(r.updated_at, tz) : '—'}</td>
                      {canWrite && (
                        <td className="whitespace-nowrap py-1.5 text-right">
                          <Button variant="ghost" onClick={() => setEditing({ model: r.model, bedrock: r.bedrock_model_id, isNew: false })}>
                            {r.source === 'admin' ? t('common.edit') : t('routes.override')}
                          </Button>
                          {r.source === 'admin' && (
                            <Button variant="ghost" onClick={() => setDeleting(r)}>
                              {t('common.delete')}
                            </Button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        )}
      </QueryState>
      {editing && <RouteDialog initial={editing} onClose={() => setEditing(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        danger
        title={t('routes.deleteTitle', { model: deleting?.model ?? '' })}
        body={deleting?.default_bedrock_model_id ? t('routes.deleteRestores', { id: deleting.default_bedrock_model_id }) : t('routes.deleteBody')}
        confirmLabel={t('common.delete')}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          const r = await api.DELETE('/api/routes/{model}', { params: { path: { model: deleting.model } } });
          unwrap(r);
          void qc.invalidateQueries({ queryKey: ['routes'] });
        }}
      />
    </div>
  );
}

function RouteDialog({ initial, onClose }: { initial: { model: string; bedrock: string; isNew: boolean }; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [model, setModel] = useState(initial.model);
  const [bedrock, setBedrock] = useState(initial.bedrock);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      unwrap(await api.PUT('/api/routes/{model}', { params: { path: { model: model.trim() } }, body: { bedrock_model_id: bedrock.trim() } }));
      void qc.invalidateQueries({ queryKey: ['routes'] });
      void qc.invalidateQueries({ queryKey: ['prices'] });
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <FormDialog
      onClose={onClose}
      title={initial.isNew ? t('routes.add') : t('routes.editTitle', { model: initial.model })}
      submitLabel={t('common.save')}
      submitTestId="save-route"
      busy={busy}
      canSubmit={!!model.trim() && !!bedrock.trim()}
      onSubmit={submit}
      error={error}
      formClassName="grid gap-3"
    >
        <Field label={t('routes.model')} hint={t('routes.modelHint')}>
          <input className={`${inputClass} font-mono`} value={model} onChange={(e) => setModel(e.target.value)} disabled={!initial.isNew} name="model" required />
        </Field>
        <Field label={t('routes.bedrock')} hint={t('routes.bedrockHint')}>
          <input className={`${inputClass} font-mono`} value={bedrock} onChange={(e) => setBedrock(e.target.value)} name="bedrock_model_id" required />
        </Field>
    </FormDialog>
  );
}
