import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useAuth, useMe } from '../auth/auth';
import { LANGUAGES } from '../i18n';
import { Link, useRoute } from '../lib/router';
import { useSettings } from '../lib/settings';
import { timeZones } from '../lib/time';
import { Button, inputClass } from './ui';

const NAV = [
  { to: '/', key: 'nav.dashboard' },
  { to: '/keys', key: 'nav.keys' },
  { to: '/usage', key: 'nav.usage' },
  { to: '/prices', key: 'nav.prices' },
  { to: '/routes', key: 'nav.routes' },
  { to: '/audit', key: 'nav.audit' },
] as const;

export function TimeZonePicker() {
  const { t } = useTranslation();
  const { tz, setTz } = useSettings();
  const [zones] = useState(() => timeZones(tz));
  return (
    <label className="flex items-center gap-1.5 text-sm text-slate-600" title={t('settings.timeZone')}>
      <svg aria-hidden="true" viewBox="0 0 20 20" className="h-4 w-4 fill-none stroke-current stroke-2">
        <circle cx="10" cy="10" r="7.5" />
        <path d="M10 6v4l2.5 2" strokeLinecap="round" />
      </svg>
      <select aria-label={t('settings.timeZone')} value={tz} onChange={(e) => setTz(e.target.value)} className={`${inputClass.replace('w-full ', '')} w-40`} data-testid="tz-picker">
        {zones.map((z) => (
          <option key={z} value={z}>
            {z}
          </option>
        ))}
      </select>
    </label>
  );
}

export function LanguagePicker() {
  const { t } = useTranslation();
  const { lang, setLang } = useSettings();
  return (
    <div role="group" aria-label={t('settings.language')} className="inline-flex overflow-hidden rounded-md ring-1 ring-slate-300">
      {LANGUAGES.map((l) => (
        <button
          key={l.code}
          type="button"
          lang={l.code}
          aria-pressed={lang === l.code}
          onClick={() => setLang(l.code)}
          className={`px-2.5 py-1.5 text-sm ${lang === l.code ? 'bg-slate-800 text-white' : 'bg-white text-slate-700 hover:bg-slate-100'}`}
        >
          {l.label}
        </button>
      ))}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { state, signOut } = useAuth();
  const me = useMe();
  const route = useRoute();
  const mode = state.status === 'signed-in' ? state.settings.auth_mode : 'token';
  const active = (to: string) => (to === '/' ? route.path === '/' : route.path === to || route.path.startsWith(`${to}/`));
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
        {t('nav.skip')}
      </a>
      {mode === 'none' && (
        <div role="alert" className="bg-amber-400 px-4 py-2 text-center text-sm font-medium text-amber-950" data-testid="auth-none-banner">
          {t('auth.noneBanner')}
        </div>
      )}
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-3 gap-y-2 px-4 py-2">
          <Link to="/" className="flex items-center gap-2 font-semibold text-slate-900">
            <img src="/admin/favicon.svg" alt="" className="h-6 w-6" />
            <span>{t('app.title')}</span>
          </Link>
          <nav aria-label={t('nav.main')} className="order-3 -mx-1 flex w-full gap-1 overflow-x-auto lg:order-none lg:w-auto">
            {NAV.map((n) => (
              <Link
                key={n.to}
                to={n.to}
                aria-current={active(n.to) ? 'page' : undefined}
                className={`whitespace-nowrap rounded-md px-2.5 py-1.5 text-sm ${active(n.to) ? 'bg-teal-50 font-medium text-teal-800' : 'text-slate-600 hover:bg-slate-100'}`}
              >
                {t(n.key)}
              </Link>
            ))}
          </nav>
          <div className="ml-auto flex flex-wrap items-center gap-2">
            <TimeZonePicker />
            <LanguagePicker />
            <span className="hidden max-w-48 truncate text-sm text-slate-600 md:inline" data-testid="whoami" title={`${me.name} · ${me.role}`}>
              {me.name} · {t(me.role === 'viewer' ? 'auth.roleViewer' : 'auth.roleAdmin')}
            </span>
            {mode !== 'none' && (
              <Button variant="ghost" onClick={() => void signOut()}>
                {t('auth.signOut')}
              </Button>
            )}
          </div>
        </div>
      </header>
      {!me.can_write && (
        <div className="bg-sky-50 px-4 py-1.5 text-center text-sm text-sky-900" data-testid="viewer-banner">
          {t('auth.viewerBanner')}
        </div>
      )}
      {/* tabIndex -1: the skip link moves the focus here, not only the scroll, in every browser. */}
      <main id="main" tabIndex={-1} className="mx-auto max-w-7xl px-4 py-5 focus:outline-none">
        {children}
      </main>
    </div>
  );
}
