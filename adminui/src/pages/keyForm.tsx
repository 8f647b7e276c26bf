// The key form shared by create and edit, and the dialog that shows a
// secret once.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { KeyView, Schemas } from '../api/client';
import { useRoutes } from '../api/queries';
import { Button, CopyButton, Dialog, Field, inputClass } from '../components/ui';
import { microsToDollarsInput, parseMoney } from '../lib/format';
import { useSettings } from '../lib/settings';
import { formatDate, localInputToInstant } from '../lib/time';

export interface KeyFormValues {
  name: string;
  owner: string;
  enabled: boolean;
  rpm: string;
  tpm: string;
  budget: string;
  expires: string; // YYYY-MM-DD in the viewer's zone, "" for never
  models: string[];
  cacheTTL: CacheTTLChoice;
}

/** PromptCacheTTL is a key's own prompt-cache TTL; none turns caching off for the key. */
export type PromptCacheTTL = NonNullable<KeyView['prompt_cache_ttl']>;

/** CacheTTLChoice is the form's prompt-caching choice: "" is the gateway's PROMPT_CACHE_TTL. */
export type CacheTTLChoice = PromptCacheTTL | '';

/** CACHE_TTL_CHOICES are the prompt-caching options in the order the form lists them. */
export const CACHE_TTL_CHOICES = ['', '5m', '1h', 'none'] as const satisfies readonly CacheTTLChoice[];

export function keyFormValues(k?: KeyView, tz = 'UTC'): KeyFormValues {
  return {
    name: k?.name ?? '',
    owner: k?.owner ?? '',
    enabled: k?.enabled ?? true,
    rpm: k?.rpm ? String(k.rpm) : '',
    tpm: k?.tpm ? String(k.tpm) : '',
    budget: k?.monthly_budget_micros ? microsToDollarsInput(k.monthly_budget_micros) : '',
    expires: k?.expires_at ? formatDate(k.expires_at, tz) : '',
    models: k?.allowed_models ?? [],
    cacheTTL: k?.prompt_cache_ttl ?? '',
  };
}

export interface KeyFields {
  name: string;
  owner: string;
  enabled: boolean;
  rpm: number;
  tpm: number;
  monthly_budget_micros: number;
  expires_at: string | null;
  allowed_models: string[];
  prompt_cache_ttl: CacheTTLChoice;
}

/** parseKeyForm checks the form; errors are keyed by field. */
export function parseKeyForm(v: KeyFormValues, tz: string): { fields?: KeyFields; errors: Partial<Record<keyof KeyFormValues, string>> } {
  const errors: Partial<Record<keyof KeyFormValues, string>> = {};
  const int = (s: string, f: 'rpm' | 'tpm'): number => {
    if (s.trim() === '') return 0;
    if (!/^\d+$/.test(s.trim())) {
      errors[f] = 'keys.errWholeNumber';
      return 0;
    }
    return Number(s.trim());
  };
  if (v.name.trim() === '') errors.name = 'keys.errNameRequired';
  const rpm = int(v.rpm, 'rpm');
  const tpm = int(v.tpm, 'tpm');
  let budget = 0;
  if (v.budget.trim() !== '') {
    const b = parseMoney(v.budget);
    if (b === null) errors.budget = 'keys.errMoney';
    else budget = b;
  }
  let expires: string | null = null;
  if (v.expires) {
    expires = localInputToInstant(v.expires, tz);
    if (!expires) errors.expires = 'keys.errDate';
  }
  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    fields: { name: v.name.trim(), owner: v.owner.trim(), enabled: v.enabled, rpm, tpm, monthly_budget_micros: budget, expires_at: expires, allowed_models: v.models, prompt_cache_ttl: v.cacheTTL },
  };
}

/** keyCreateBody is the create request of checked fields; what is left at its default is not sent. */
export function keyCreateBody(f: KeyFields): Schemas['KeyCreateBody'] {
  return {
    name: f.name,
    ...(f.owner ? { owner: f.owner } : {}),
    ...(f.rpm ? { rpm: f.rpm } : {}),
    ...(f.tpm ? { tpm: f.tpm } : {}),
    ...(f.monthly_budget_micros ? { monthly_budget_micros: f.monthly_budget_micros } : {}),
    ...(f.expires_at ? { expires_at: f.expires_at } : {}),
    ...(f.allowed_models.length ? { allowed_models: f.allowed_models } : {}),
    ...(f.prompt_cache_ttl ? { prompt_cache_ttl: f.prompt_cache_ttl } : {}),
  };
}

/**
 * keyPatchBody is the update request of checked fields for key k. The
 * prompt-cache TTL is sent only when it changes: an empty string takes a
 * key back to the gateway's default, which a key without its own TTL
 * already has.
 */
export function keyPatchBody(f: KeyFields, k: KeyView): Schemas['KeyPatchBody'] {
  const { prompt_cache_ttl: ttl, ...rest } = f;
  return { ...rest, ...(ttl !== (k.prompt_cache_ttl ?? '') ? { prompt_cache_ttl: ttl } : {}) };
}

export function KeyForm({ values, onChange, errors, edit = false }: { values: KeyFormValues; onChange: (v: KeyFormValues) => void; errors: Partial<Record<keyof KeyFormValues, string>>; edit?: boolean }) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const routes = useRoutes();
  const models = Array.from(new Set([...(routes.data?.routes ?? []).map((r) => r.model), ...values.models])).sort();
  const set = (patch: Partial<KeyFormValues>) => onChange({ ...values, ...patch });
  const err = (f: keyof KeyFormValues) => {
    const e = errors[f];
    return e ? t(e as 'keys.errDate') : null;
  };
  return (
    <div className="grid gap-3 sm:grid-cols-2">
      <Field label={t('keys.name')} error={err('name')}>
        <input className={inputClass} value={values.name} onChange={(e) => set({ name: e.target.value })} required maxLength={200} name="name" />
      </Field>
      <Field label={t('keys.owner')}>
        <input className={inputClass} value={values.owner} onChange={(e) => set({ owner: e.target.value })} maxLength={200} name="owner" />
      </Field>
      <Field label={t('keys.rpm')} hint={t('keys.limitHint')} error={err('rpm')}>
        <input className={inputClass} inputMode="numeric" value={values.rpm} onChange={(e) => set({ rpm: e.target.value })} name="rpm" />
      </Field>
      <Field label={t('keys.tpm')} hint={t('keys.limitHint')} error={err('tpm')}>
        <input className={inputClass} inputMode="numeric" value={values.tpm} onChange={(e) => set({ tpm: e.target.value })} name="tpm" />
      </Field>
      <Field label={t('keys.budgetUsd')} hint={t('keys.budgetHint')} error={err('budget')}>
        <input className={inputClass} inputMode="decimal" value={values.budget} onChange={(e) => set({ budget: e.target.value })} name="budget" placeholder="0" />
      </Field>
      <Field label={t('keys.expires')} hint={t('keys.expiresHint', { tz })} error={err('expires')}>
        <div className="flex gap-2">
          <input type="date" className={inputClass} value={values.expires} onChange={(e) => set({ expires: e.target.value })} name="expires" />
          {values.expires && (
            <Button variant="ghost" onClick={() => set({ expires: '' })}>
              {t('keys.never')}
            </Button>
          )}
        </div>
      </Field>
      <Field label={t('keys.promptCaching')} hint={t('keys.promptCachingHint')}>
        <select className={inputClass} value={values.cacheTTL} onChange={(e) => set({ cacheTTL: e.target.value as CacheTTLChoice })} name="prompt_cache_ttl">
          {CACHE_TTL_CHOICES.map((c) => (
            <option key={c} value={c}>
              {t(`keys.cacheTTLs.${c || 'default'}`)}
            </option>
          ))}
        </select>
      </Field>
      {edit && (
        <label className="flex items-center gap-2 text-sm sm:col-span-2">
          <input type="checkbox" checked={values.enabled} onChange={(e) => set({ enabled: e.target.checked })} name="enabled" />
          {t('keys.enabled')}
        </label>
      )}
      <fieldset className="sm:col-span-2">
        <legend className="mb-1 text-sm font-medium text-slate-700">{t('keys.allowedModels')}</legend>
        <p className="mb-1 text-xs text-slate-500">{t('keys.allowedModelsHint')}</p>
        <div className="flex flex-wrap gap-x-4 gap-y-1">
          {models.map((m) => (
            <label key={m} className="flex items-center gap-1.5 text-sm">
              <input
                type="checkbox"
                checked={values.models.includes(m)}
                onChange={(e) => set({ models: e.target.checked ? [...values.models, m] : values.models.filter((x) => x !== m) })}
              />
              <span className="font-mono text-xs">{m}</span>
            </label>
          ))}
        </div>
      </fieldset>
    </div>
  );
}

/**
 * SecretDialog shows a key's secret once. It cannot be dismissed until the
 * operator confirms they stored it: the secret exists nowhere else.
 */
export function SecretDialog({ secret, note, onDone }: { secret: string | null; note?: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [saved, setSaved] = useState(false);
  return (
    <Dialog
      open={secret !== null}
      onClose={onDone}
      dismissible={false}
      title={t('keys.secretTitle')}
      footer={
        <Button
          variant="primary"
          disabled={!saved}
          onClick={() => {
            setSaved(false);
            onDone();
          }}
        >
          {t('keys.secretDone')}
        </Button>
      }
    >
      <p className="text-sm text-slate-700">{t('keys.secretOnce')}</p>
      <div className="mt-3 flex gap-2">
        <input readOnly value={secret ?? ''} data-copy-source data-testid="new-secret" className={`${inputClass} font-mono`} onFocus={(e) => e.target.select()} aria-label={t('keys.secret')} />
        <CopyButton text={secret ?? ''} />
      </div>
      {note && <p className="mt-2 text-xs text-slate-500">{note}</p>}
      <label className="mt-4 flex items-center gap-2 text-sm font-medium">
        <input type="checkbox" checked={saved} onChange={(e) => setSaved(e.target.checked)} data-testid="secret-saved" />
        {t('keys.secretSaved')}
      </label>
    </Dialog>
  );
}
