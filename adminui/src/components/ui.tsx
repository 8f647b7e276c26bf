// The portal's building blocks: buttons, cards, badges, dialogs, and the
// loading, empty and error states every page shows.
import { useEffect, useRef, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';

const variants: Record<Variant, string> = {
  primary: 'bg-teal-700 text-white hover:bg-teal-800 disabled:bg-teal-700/50',
  secondary: 'bg-white text-slate-800 ring-1 ring-slate-300 hover:bg-slate-100 disabled:text-slate-400',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-700/50',
  ghost: 'text-slate-700 hover:bg-slate-200/70 disabled:text-slate-400',
};

export function Button({ variant = 'secondary', className = '', type = 'button', ...rest }: { variant?: Variant } & ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button
      type={type}
      className={`inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-teal-600 disabled:cursor-not-allowed ${variants[variant]} ${className}`}
      {...rest}
    />
  );
}

export function Card({ title, actions, children, className = '', caption }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; caption?: ReactNode }) {
  return (
    <section className={`rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 ${className}`}>
      {(title !== undefined || actions !== undefined) && (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title !== undefined && <h2 className="text-base font-semibold text-slate-900">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
      {caption !== undefined && <p className="mt-2 text-xs text-slate-500">{caption}</p>}
    </section>
  );
}

const tones = {
  gray: 'bg-slate-100 text-slate-700 ring-slate-300',
  green: 'bg-emerald-50 text-emerald-800 ring-emerald-300',
  amber: 'bg-amber-50 text-amber-800 ring-amber-300',
  red: 'bg-red-50 text-red-800 ring-red-300',
  blue: 'bg-sky-50 text-sky-800 ring-sky-300',
} as const;
export type Tone = keyof typeof tones;

export function Badge({ tone = 'gray', children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return (
    <span title={title} className={`inline-flex items-center whitespace-nowrap rounded px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset ${tones[tone]}`}>
      {children}
    </span>
  );
}

export function Spinner({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <div role="status" aria-live="polite" className="flex items-center gap-2 py-6 text-sm text-slate-500">
      <span className="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-teal-700" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="py-6 text-center text-sm text-slate-500">{children}</p>;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="alert" className="my-2 rounded-md bg-red-50 p-3 text-sm text-red-800 ring-1 ring-red-200">
      <p className="font-medium">{t('common.error')}</p>
      <p className="mt-1 break-words">{errorText(error)}</p>
      {error instanceof ApiError && error.fields.length > 0 && (
        <ul className="mt-1 list-inside list-disc">
          {error.fields.map((f) => (
            <li key={f.location + f.message}>
              <code>{f.location}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
      {error instanceof ApiError && error.requestId && <p className="mt-1 text-xs text-red-700">{t('common.requestId', { id: error.requestId })}</p>}
      {onRetry && (
        <Button className="mt-2" onClick={onRetry}>
          {t('common.retry')}
        </Button>
      )}
    </div>
  );
}

/**
 * QueryState shows a query's loading and error states, and its empty
 * state when isEmpty says so; otherwise the children.
 */
export function QueryState<T>({ query, isEmpty, empty, children }: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; refetch: () => unknown };
  isEmpty?: (d: T) => boolean;
  empty?: ReactNode;
  children: (d: T) => ReactNode;
}) {
  if (query.isPending) return <Spinner />;
  if (query.isError || query.data === undefined) return <ErrorBox error={query.error} onRetry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}

/**
 * Dialog is a modal <dialog>: focus stays inside, Escape closes it unless
 * dismissible is false (a secret not yet saved).
 */
export function Dialog({ open, onClose, title, children, footer, dismissible = true, wide = false }: {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
  dismissible?: boolean;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        if (dismissible) onClose();
      }}
      className={`m-auto w-[calc(100%-2rem)] rounded-lg bg-white p-0 shadow-xl backdrop:bg-slate-900/40 ${wide ? 'max-w-3xl' : 'max-w-lg'}`}
    >
      {open && (
        <div className="flex max-h-[85vh] flex-col">
          <h2 id="dialog-title" className="border-b border-slate-200 px-5 py-3 text-base font-semibold">
            {title}
          </h2>
          <div className="overflow-y-auto px-5 py-4">{children}</div>
          {footer && <div className="flex flex-wrap justify-end gap-2 border-t border-slate-200 px-5 py-3">{footer}</div>}
        </div>
      )}
    </dialog>
  );
}

/**
 * A dialog that is one form: Cancel and a submit button in its footer, and
 * Enter in any field submits as well. The form's error, if any, is shown
 * under its fields.
 */
export function FormDialog({ onClose, title, wide = false, submitLabel, submitTestId, busy, canSubmit = true, onSubmit, error, formClassName, children }: {
  onClose: () => void;
  title: ReactNode;
  wide?: boolean;
  submitLabel: string;
  submitTestId: string;
  busy: boolean;
  canSubmit?: boolean;
  onSubmit: () => Promise<void>;
  error: unknown;
  formClassName?: string;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Dialog
      open
      wide={wide}
      onClose={onClose}
      title={title}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button variant="primary" disabled={busy || !canSubmit} onClick={() => void onSubmit()} data-testid={submitTestId}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <form
        className={formClassName}
        onSubmit={(e) => {
          e.preventDefault();
          void onSubmit();
        }}
      >
        {children}
        {error !== null && <ErrorBox error={error} />}
        <button type="submit" className="hidden" />
      </form>
    </Dialog>
  );
}

export function ConfirmDialog({ open, title, body, confirmLabel, onConfirm, onClose, danger = false }: {
  open: boolean;
  title: ReactNode;
  body: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  danger?: boolean;
}) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      footer={
        <>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button
            variant={danger ? 'danger' : 'primary'}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await onConfirm();
                onClose();
              } catch (e) {
                setError(e);
              } finally {
                setBusy(false);
              }
            }}
          >
            {confirmLabel}
          </Button>
        </>
      }
    >
      <div className="text-sm">{body}</div>
      {error !== null && <ErrorBox error={error} />}
    </Dialog>
  );
}

export function Field({ label, hint, children, error }: { label: ReactNode; hint?: ReactNode; children: ReactNode; error?: string | null }) {
  return (
    <label className="block text-sm">
      <span className="mb-1 block font-medium text-slate-700">{label}</span>
      {children}
      {hint && <span className="mt-1 block text-xs text-slate-500">{hint}</span>}
      {error && <span className="mt-1 block text-xs text-red-700">{error}</span>}
    </label>
  );
}

export const inputClass =
  'w-full rounded-md border border-slate-300 bg-white px-2.5 py-1.5 text-sm shadow-sm focus:border-teal-600 focus:outline-none focus:ring-2 focus:ring-teal-600/30 disabled:bg-slate-100';

export function PageHeader({ title, actions, subtitle }: { title: ReactNode; actions?: ReactNode; subtitle?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
        {subtitle && <p className="mt-0.5 text-sm text-slate-500">{subtitle}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  );
}

/** Pager pages through a cursor-paged list: a stack of cursors for Previous. */
export function Pager({ page, hasNext, onPrev, onNext }: { page: number; hasNext: boolean; onPrev: () => void; onNext: () => void }) {
  const { t } = useTranslation();
  return (
    <nav className="mt-3 flex items-center justify-end gap-2 text-sm" aria-label={t('common.pages')}>
      <Button onClick={onPrev} disabled={page === 0}>
        {t('common.previous')}
      </Button>
      <span className="text-slate-600">{t('common.page', { n: page + 1 })}</span>
      <Button onClick={onNext} disabled={!hasNext}>
        {t('common.next')}
      </Button>
    </nav>
  );
}

/** useCursorPages keeps the cursors of the pages visited. */
export function useCursorPages(resetKey: string) {
  const [state, setState] = useState<{ key: string; stack: string[] }>({ key: resetKey, stack: [''] });
  const stack = state.key === resetKey ? state.stack : [''];
  const cursor = stack[stack.length - 1] ?? '';
  return {
    cursor,
    page: stack.length - 1,
    next: (c: string) => {
      setState({ key: resetKey, stack: [...stack, c] });
    },
    prev: () => {
      setState({ key: resetKey, stack: stack.length > 1 ? stack.slice(0, -1) : [''] });
    },
  };
}

export function Select({ value, onChange, options, label, className = '', id }: {
  value: string;
  onChange: (v: string) => void;
  options: readonly { value: string; label: string }[];
  label: string;
  className?: string;
  id?: string;
}) {
  return (
    <select id={id} aria-label={label} value={value} onChange={(e) => onChange(e.target.value)} className={`${inputClass.replace('w-full ', '')} ${className || 'w-auto'}`}>
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

/** Segmented is a row of toggle buttons (periods, granularity). */
export function Segmented<T extends string>({ value, onChange, options, label }: { value: T; onChange: (v: T) => void; options: readonly { value: T; label: string }[]; label: string }) {
  return (
    <div role="group" aria-label={label} className="inline-flex overflow-hidden rounded-md ring-1 ring-slate-300">
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          aria-pressed={o.value === value}
          onClick={() => onChange(o.value)}
          className={`px-3 py-1.5 text-sm focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-teal-600 ${o.value === value ? 'bg-teal-700 text-white' : 'bg-white text-slate-700 hover:bg-slate-100'}`}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <Button
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // Without clipboard access (plain http), select the text for Ctrl+C.
          const el = document.querySelector<HTMLInputElement>('[data-copy-source]');
          el?.select();
        }
        setCopied(true);
      }}
    >
      {copied ? t('common.copied') : (label ?? t('common.copy'))}
    </Button>
  );
}
