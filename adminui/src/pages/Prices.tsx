import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap, type Price, type PriceTier, type RepricePreview } from '../api/client';
import { useAllKeys } from '../api/queries';
import { useCanWrite } from '../auth/auth';
import { Badge, Button, Card, ErrorBox, FormDialog, Field, PageHeader, QueryState, Select, inputClass } from '../components/ui';
import { formatCount, formatMoney } from '../lib/format';
import { useSettings } from '../lib/settings';
import { addDays, formatDateTime, localDate, localInputToInstant } from '../lib/time';
import { emptyPriceForm, priceBody, type PriceFormValues } from './priceForm';

/** Rates are the per-million-token rates a price and each of its tiers have. */
type Rates = Pick<PriceTier, 'input_micros_per_mtok' | 'output_micros_per_mtok' | 'cache_read_micros_per_mtok' | 'cache_write_micros_per_mtok' | 'cache_write_1h_micros_per_mtok'>;

function PriceCells({ p }: { p: Rates }) {
  const { t } = useTranslation();
  const w1h = p.cache_write_1h_micros_per_mtok ?? 0;
  return (
    <>
      <td className="py-1.5 pr-3 text-right tabular-nums">{formatMoney(p.input_micros_per_mtok)}</td>
      <td className="py-1.5 pr-3 text-right tabular-nums">{formatMoney(p.output_micros_per_mtok)}</td>
      <td className="py-1.5 pr-3 text-right tabular-nums">{formatMoney(p.cache_read_micros_per_mtok)}</td>
      <td className="py-1.5 pr-3 text-right tabular-nums">{formatMoney(p.cache_write_micros_per_mtok)}</td>
      <td className="py-1.5 pr-3 text-right tabular-nums">
        {w1h > 0 ? (
          formatMoney(w1h)
        ) : (
          // Without a 1-hour rate, 1-hour writes are charged 2× input, AWS's rule.
          <span className="text-slate-500">
            {formatMoney(2 * p.input_micros_per_mtok)} <span className="whitespace-nowrap text-[11px]">{t('prices.twiceInput')}</span>
          </span>
        )}
      </td>
    </>
  );
}

/**
 * TierRows follow a price's row with one row per tier: the rates of
 * requests whose prompt is over the tier's size.
 */
function TierRows({ p }: { p: Price }) {
  const { t } = useTranslation();
  return (p.tiers ?? []).map((tier) => (
    <tr key={tier.above_tokens} className="text-slate-600" data-tier={tier.above_tokens}>
      <td className="py-1 pr-3 pl-4 text-xs">↳ {t('prices.tierAbove', { n: formatCount(tier.above_tokens) })}</td>
      <td className="py-1 pr-3" />
      <PriceCells p={tier} />
      <td className="py-1 pr-3" />
      <td className="py-1" />
    </tr>
  ));
}

function PriceHead({ first }: { first: string }) {
  const { t } = useTranslation();
  return (
    <thead className="text-left text-xs text-slate-500">
      <tr>
        <th className="py-1 pr-3 font-medium">{first}</th>
        <th className="py-1 pr-3 font-medium">{t('prices.route')}</th>
        <th className="py-1 pr-3 text-right font-medium">{t('prices.input')}</th>
        <th className="py-1 pr-3 text-right font-medium">{t('prices.output')}</th>
        <th className="py-1 pr-3 text-right font-medium">{t('prices.cacheRead')}</th>
        <th className="py-1 pr-3 text-right font-medium">{t('prices.cacheWrite')}</th>
        <th className="py-1 pr-3 text-right font-medium">{t('prices.cacheWrite1h')}</th>
        <th className="py-1 pr-3 font-medium">{t('prices.effectiveFrom')}</th>
        <th className="py-1 font-medium">{t('prices.source')}</th>
      </tr>
    </thead>
  );
}

function History({ model }: { model: string }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const h = useQuery({ queryKey: ['prices', 'history', model], queryFn: async () => unwrap(await api.GET('/api/prices/{model}', { params: { path: { model } } })) });
  return (
    <QueryState query={h}>
      {(d) => (
        <table className="w-full text-xs" aria-label={t('prices.historyOf', { model })}>
          <PriceHead first={t('prices.model')} />
          <tbody>
            {(d.prices ?? []).map((p) => (
              <Fragment key={`${p.route}|${p.effective_from}`}>
                <tr className="border-t border-slate-100">
                  <td className="py-1 pr-3 font-mono">{p.model}</td>
                  <td className="py-1 pr-3">{p.route || t('prices.anyRoute')}</td>
                  <PriceCells p={p} />
                  <td className="whitespace-nowrap py-1 pr-3">{formatDateTime(p.effective_from, tz)}</td>
                  <td className="py-1">{p.source}</td>
                </tr>
                <TierRows p={p} />
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </QueryState>
  );
}

export function PricesPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const canWrite = useCanWrite();
  const prices = useQuery({ queryKey: ['prices'], queryFn: async () => unwrap(await api.GET('/api/prices')) });
  const [open, setOpen] = useState<string | null>(null);
  const [adding, setAdding] = useState<Partial<Price> | null>(null);
  return (
    <div>
      <PageHeader
        title={t('prices.title')}
        subtitle={t('prices.subtitle')}
        actions={canWrite && (
          <Button variant="primary" onClick={() => setAdding({})} data-testid="add-price">
            {t('prices.add')}
          </Button>
        )}
      />
      <QueryState query={prices}>
        {(d) => (
          <>
            {(d.unpriced_models ?? []).length > 0 && (
              <div role="alert" className="mb-4 rounded-lg bg-amber-50 p-4 ring-1 ring-amber-300" data-testid="unpriced">
                <p className="font-medium text-amber-900">{t('prices.unpricedTitle', { count: (d.unpriced_models ?? []).length })}</p>
                <p className="text-sm text-amber-900">{t('prices.unpricedBody')}</p>
                <ul className="mt-2 space-y-1 text-sm">
                  {(d.unpriced_models ?? []).map((u) => (
                    <li key={u.model} className="flex flex-wrap items-center gap-2">
                      <span className="font-mono">{u.model}</span>
                      {u.bedrock_model_id && <span className="font-mono text-xs text-slate-600">→ {u.bedrock_model_id}</span>}
                      {u.routed && <Badge tone="blue">{t('prices.routed')}</Badge>}
                      <span className="text-xs text-slate-600">{t('prices.requests30d', { n: formatCount(u.requests_30d) })}</span>
                      {canWrite && u.bedrock_model_id && (
                        <Button variant="ghost" onClick={() => setAdding({ model: u.bedrock_model_id ?? '' })}>
                          {t('prices.addFor')}
                        </Button>
                      )}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            <Card title={t('prices.current')} caption={t('prices.perMillion')}>
              <div className="overflow-x-auto">
                <table className="w-full text-sm" data-testid="prices-table">
                  <PriceHead first={t('prices.model')} />
                  <tbody>
                    {(d.prices ?? []).map((p) => {
                      const k = `${p.model}|${p.route}`;
                      return [
                        <tr key={k} className="border-t border-slate-100">
                          <td className="py-1.5 pr-3">
                            <button
                              type="button"
                              className="text-left font-mono text-xs text-teal-800 hover:underline"
                              aria-expanded={open === k}
                              onClick={() => setOpen(open === k ? null : k)}
                              title={t('prices.showHistory')}
                            >
                              {open === k ? '▾' : '▸'} {p.model}
                            </button>
                          </td>
                          <td className="py-1.5 pr-3">{p.route || t('prices.anyRoute')}</td>
                          <PriceCells p={p} />
                          <td className="whitespace-nowrap py-1.5 pr-3">{formatDateTime(p.effective_from, tz)}</td>
                          <td className="py-1.5 text-xs text-slate-500">{p.source}</td>
                        </tr>,
                        <TierRows key={`${k}-tiers`} p={p} />,
                        open === k && (
                          <tr key={`${k}-history`}>
                            <td colSpan={9} className="bg-slate-50 p-3">
                              <p className="mb-1 text-xs font-medium text-slate-600">{t('prices.history')}</p>
                              <History model={p.model} />
                            </td>
                          </tr>
                        ),
                      ];
                    })}
                  </tbody>
                </table>
              </div>
            </Card>
            {(d.scheduled ?? []).length > 0 && (
              <Card className="mt-4" title={t('prices.scheduled')}>
                <div className="overflow-x-auto">
                  <table className="w-full text-sm">
                    <PriceHead first={t('prices.model')} />
                    <tbody>
                      {(d.scheduled ?? []).map((p) => (
                        <Fragment key={`${p.model}|${p.route}|${p.effective_from}`}>
                          <tr className="border-t border-slate-100">
                            <td className="py-1.5 pr-3 font-mono text-xs">{p.model}</td>
                            <td className="py-1.5 pr-3">{p.route || t('prices.anyRoute')}</td>
                            <PriceCells p={p} />
                            <td className="whitespace-nowrap py-1.5 pr-3">{formatDateTime(p.effective_from, tz)}</td>
                            <td className="py-1.5 text-xs text-slate-500">{p.source}</td>
                          </tr>
                          <TierRows p={p} />
                        </Fragment>
                      ))}
                    </tbody>
                  </table>
                </div>
              </Card>
            )}
          </>
        )}
      </QueryState>
      <PreviewCard />
      {adding && <AddPriceDialog initial={adding} onClose={() => setAdding(null)} />}
    </div>
  );
}

function PriceFields({ v, set }: { v: PriceFormValues; set: (p: Partial<PriceFormValues>) => void }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  return (
    <div className="grid gap-3 sm:grid-cols-2">
      <Field label={t('prices.bedrockModel')} hint={t('prices.bedrockModelHint')}>
        <input className={`${inputClass} font-mono`} value={v.model} onChange={(e) => set({ model: e.target.value })} name="model" required />
      </Field>
      <Field label={t('prices.route')} hint={t('prices.routeHint')}>
        <input className={inputClass} value={v.route} onChange={(e) => set({ route: e.target.value })} name="route" placeholder="global" />
      </Field>
      <Field label={t('prices.effectiveFrom')} hint={t('prices.effectiveFromHint', { tz })}>
        <input type="datetime-local" className={inputClass} value={v.from} onChange={(e) => set({ from: e.target.value })} name="effective_from" required />
      </Field>
      <Field label={t('prices.source')}>
        <input className={inputClass} value={v.source} onChange={(e) => set({ source: e.target.value })} name="source" />
      </Field>
      <Field label={t('prices.inputUsd')}>
        <input className={inputClass} inputMode="decimal" value={v.input} onChange={(e) => set({ input: e.target.value })} name="input" required />
      </Field>
      <Field label={t('prices.outputUsd')}>
        <input className={inputClass} inputMode="decimal" value={v.output} onChange={(e) => set({ output: e.target.value })} name="output" required />
      </Field>
      <Field label={t('prices.cacheReadUsd')}>
        <input className={inputClass} inputMode="decimal" value={v.cacheRead} onChange={(e) => set({ cacheRead: e.target.value })} name="cache_read" placeholder="0" />
      </Field>
      <Field label={t('prices.cacheWriteUsd')}>
        <input className={inputClass} inputMode="decimal" value={v.cacheWrite} onChange={(e) => set({ cacheWrite: e.target.value })} name="cache_write" placeholder="0" />
      </Field>
      <Field label={t('prices.cacheWrite1hUsd')} hint={t('prices.cacheWrite1hHint')}>
        <input className={inputClass} inputMode="decimal" value={v.cacheWrite1h} onChange={(e) => set({ cacheWrite1h: e.target.value })} name="cache_write_1h" />
      </Field>
      <fieldset className="sm:col-span-2">
        <legend className="text-sm font-medium text-slate-700">{t('prices.tier')}</legend>
        <p className="mb-2 text-xs text-slate-500">{t('prices.tierHint')}</p>
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label={t('prices.tierAboveTokens')}>
            <input className={inputClass} inputMode="numeric" value={v.tierAbove} onChange={(e) => set({ tierAbove: e.target.value })} name="tier_above_tokens" placeholder="200000" />
          </Field>
          <div />
          <Field label={t('prices.inputUsd')}>
            <input className={inputClass} inputMode="decimal" value={v.tierInput} onChange={(e) => set({ tierInput: e.target.value })} name="tier_input" />
          </Field>
          <Field label={t('prices.outputUsd')}>
            <input className={inputClass} inputMode="decimal" value={v.tierOutput} onChange={(e) => set({ tierOutput: e.target.value })} name="tier_output" />
          </Field>
          <Field label={t('prices.cacheReadUsd')}>
            <input className={inputClass} inputMode="decimal" value={v.tierCacheRead} onChange={(e) => set({ tierCacheRead: e.target.value })} name="tier_cache_read" placeholder="0" />
          </Field>
          <Field label={t('prices.cacheWriteUsd')}>
            <input className={inputClass} inputMode="decimal" value={v.tierCacheWrite} onChange={(e) => set({ tierCacheWrite: e.target.value })} name="tier_cache_write" placeholder="0" />
          </Field>
          <Field label={t('prices.cacheWrite1hUsd')} hint={t('prices.cacheWrite1hHint')}>
            <input className={inputClass} inputMode="decimal" value={v.tierCacheWrite1h} onChange={(e) => set({ tierCacheWrite1h: e.target.value })} name="tier_cache_write_1h" />
          </Field>
        </div>
      </fieldset>
    </div>
  );
}

function AddPriceDialog({ initial, onClose }: { initial: Partial<Price>; onClose: () => void }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const qc = useQueryClient();
  const [v, setV] = useState(emptyPriceForm(initial.model));
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    const body = priceBody(v, tz);
    setInvalid(body === null);
    if (!body) return;
    setBusy(true);
    setError(null);
    try {
      unwrap(await api.POST('/api/prices', { body }));
      void qc.invalidateQueries({ queryKey: ['prices'] });
      void qc.invalidateQueries({ queryKey: ['routes'] });
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
      title={t('prices.addTitle')}
      wide
      submitLabel={t('prices.add')}
      submitTestId="save-price"
      busy={busy}
      onSubmit={submit}
      error={error}
    >
        <p className="mb-3 text-sm text-slate-600">{t('prices.addBody')}</p>
        <PriceFields v={v} set={(p) => setV({ ...v, ...p })} />
        {invalid && <p className="mt-2 text-sm text-red-700">{t('prices.invalid')}</p>}
    </FormDialog>
  );
}

function PreviewCard() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const keys = useAllKeys();
  const today = localDate(new Date(), tz);
  const [from, setFrom] = useState(addDays(today, -29));
  const [to, setTo] = useState(addDays(today, 1));
  const [keyId, setKeyId] = useState('');
  const [withPrice, setWithPrice] = useState(false);
  const [v, setV] = useState(emptyPriceForm());
  const [result, setResult] = useState<RepricePreview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const f = localInputToInstant(from, tz);
      const tt = localInputToInstant(to, tz);
      if (!f || !tt) throw new Error(t('prices.invalid'));
      let price: ReturnType<typeof priceBody> | undefined;
      if (withPrice) {
        price = priceBody(v, tz);
        if (!price) throw new Error(t('prices.invalid'));
      }
      setResult(unwrap(await api.POST('/api/prices/preview', { body: { from: f, to: tt, ...(keyId ? { key_id: keyId } : {}), ...(price ? { price } : {}) } })));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card className="mt-4" title={t('prices.preview')} caption={t('prices.previewCaption')}>
      <div className="grid gap-3 sm:grid-cols-3">
        <Field label={t('usage.from')}>
          <input type="date" className={inputClass} value={from} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field label={t('usage.to')} hint={t('usage.toHint')}>
          <input type="date" className={inputClass} value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field label={t('usage.key')}>
          <Select label={t('usage.key')} value={keyId} onChange={setKeyId} options={[{ value: '', label: t('usage.allKeys') }, ...(keys.data?.keys ?? []).map((k) => ({ value: k.id, label: `${k.name} (${k.prefix})` }))]} className="w-full" />
        </Field>
      </div>
      <label className="mt-3 flex items-center gap-2 text-sm">
        <input type="checkbox" checked={withPrice} onChange={(e) => setWithPrice(e.target.checked)} />
        {t('prices.previewWithPrice')}
      </label>
      {withPrice && (
        <div className="mt-3">
          <PriceFields v={v} set={(p) => setV({ ...v, ...p })} />
        </div>
      )}
      <Button className="mt-3" variant="primary" disabled={busy} onClick={() => void run()} data-testid="run-preview">
        {t('prices.runPreview')}
      </Button>
      {error !== null && <ErrorBox error={error} />}
      {result && (
        <div className="mt-3 overflow-x-auto" data-testid="preview-result">
          <dl className="grid gap-3 text-sm sm:grid-cols-3 lg:grid-cols-6">
            <div><dt className="text-xs text-slate-500">{t('prices.records')}</dt><dd className="tabular-nums">{formatCount(result.records)}</dd></div>
            <div><dt className="text-xs text-slate-500">{t('prices.changed')}</dt><dd className="tabular-nums">{formatCount(result.changed)}</dd></div>
            <div><dt className="text-xs text-slate-500">{t('prices.costBefore')}</dt><dd className="tabular-nums">{formatMoney(result.cost_before_micros)}</dd></div>
            <div><dt className="text-xs text-slate-500">{t('prices.costAfter')}</dt><dd className="tabular-nums">{formatMoney(result.cost_after_micros)}</dd></div>
            <div><dt className="text-xs text-slate-500">{t('prices.delta')}</dt><dd className="tabular-nums">{formatMoney(result.delta_micros)}</dd></div>
            <div><dt className="text-xs text-slate-500">{t('prices.unpricedAfter')}</dt><dd className="tabular-nums">{formatCount(result.unpriced_after)}</dd></div>
          </dl>
          {(result.models ?? []).length > 0 && (
            <table className="mt-3 w-full text-sm">
              <thead className="text-left text-xs text-slate-500">
                <tr>
                  <th className="py-1 pr-3 font-medium">{t('usage.model')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('prices.records')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('prices.changed')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('prices.costBefore')}</th>
                  <th className="py-1 pr-3 text-right font-medium">{t('prices.costAfter')}</th>
                  <th className="py-1 text-right font-medium">{t('prices.delta')}</th>
                </tr>
              </thead>
              <tbody>
                {(result.models ?? []).map((m) => (
                  <tr key={m.model} className="border-t border-slate-100">
                    <td className="py-1 pr-3 font-mono text-xs">{m.model}</td>
                    <td className="py-1 pr-3 text-right tabular-nums">{formatCount(m.records)}</td>
                    <td className="py-1 pr-3 text-right tabular-nums">{formatCount(m.changed)}</td>
                    <td className="py-1 pr-3 text-right tabular-nums">{formatMoney(m.cost_before_micros)}</td>
                    <td className="py-1 pr-3 text-right tabular-nums">{formatMoney(m.cost_after_micros)}</td>
                    <td className="py-1 text-right tabular-nums">{formatMoney(m.cost_after_micros - m.cost_before_micros)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </Card>
  );
}
