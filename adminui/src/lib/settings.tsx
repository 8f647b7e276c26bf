// The viewer's display settings: time zone (default the browser's) and
// language, both remembered in localStorage.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { setLanguage, type Language } from '../i18n';
import { browserTimeZone, isTimeZone } from './time';

export const TZ_STORAGE_KEY = 'convertor.tz';

interface Settings {
  tz: string;
  setTz: (tz: string) => void;
  lang: Language;
  setLang: (lang: Language) => void;
}

const SettingsContext = createContext<Settings | null>(null);

function initialTz(): string {
  const kept = localStorage.getItem(TZ_STORAGE_KEY);
  return kept && isTimeZone(kept) ? kept : browserTimeZone();
}

export function SettingsProvider({ children }: { children: ReactNode }) {
  const [tz, setTzState] = useState(initialTz);
  const { i18n } = useTranslation();
  const lang: Language = i18n.language === 'zh' ? 'zh' : 'en';
  const setTz = useCallback((z: string) => {
    if (!isTimeZone(z)) return;
    localStorage.setItem(TZ_STORAGE_KEY, z);
    setTzState(z);
  }, []);
  const value = useMemo(() => ({ tz, setTz, lang, setLang: setLanguage }), [tz, setTz, lang]);
  return <SettingsContext.Provider value={value}>{children}</SettingsContext.Provider>;
}

export function useSettings(): Settings {
  const v = useContext(SettingsContext);
  if (!v) throw new Error('useSettings outside SettingsProvider');
  return v;
}
