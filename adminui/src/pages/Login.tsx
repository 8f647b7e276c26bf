import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth/auth';
import { LanguagePicker } from '../components/Layout';
import { Button, ErrorBox, Field, Spinner, inputClass } from '../components/ui';

function Frame({ children }: { children: React.ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-md rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">
        <div className="mb-4 flex items-center justify-between gap-2">
          <h1 className="flex items-center gap-2 text-lg font-semibold">
            <img src="/admin/favicon.svg" alt="" className="h-6 w-6" />
            {t('app.title')}
          </h1>
          <LanguagePicker />
        </div>
        {children}
      </div>
    </div>
  );
}

export function LoginPage() {
  const { t } = useTranslation();
  const { state, signInWithToken, signInWithCognito, retry } = useAuth();
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (state.status === 'loading') {
    return (
      <Frame>
        <Spinner />
      </Frame>
    );
  }
  if (state.status === 'unreachable') {
    return (
      <Frame>
        <ErrorBox error={state.error} onRetry={retry} />
      </Frame>
    );
  }
  if (state.status !== 'signed-out') return null;
  const reason = state.reason === 'expired' ? t('auth.expired') : state.reason === 'refused' ? t('auth.refused', { detail: state.detail ?? '' }) : state.reason === 'failed' ? t('auth.failed', { detail: state.detail ?? '' }) : null;
  return (
    <Frame>
      {reason && (
        <p role="alert" className="mb-3 rounded-md bg-amber-50 p-2 text-sm text-amber-900 ring-1 ring-amber-200">
          {reason}
        </p>
      )}
      {state.settings.auth_mode === 'cognito' ? (
        <>
          <p className="mb-4 text-sm text-slate-600">{t('auth.cognitoIntro')}</p>
          <Button variant="primary" className="w-full" onClick={() => void signInWithCognito()} data-testid="cognito-sign-in">
            {t('auth.cognitoSignIn')}
          </Button>
        </>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              await signInWithToken(token);
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          <p className="mb-3 text-sm text-slate-600">{t('auth.tokenIntro')}</p>
          <Field label={t('auth.token')} hint={t('auth.tokenHint')}>
            <input type="password" autoComplete="current-password" className={`${inputClass} font-mono`} value={token} onChange={(e) => setToken(e.target.value)} required name="token" autoFocus />
          </Field>
          {error !== null && <ErrorBox error={error} />}
          <Button type="submit" variant="primary" className="mt-4 w-full" disabled={busy || !token.trim()} data-testid="token-sign-in">
            {t('auth.signIn')}
          </Button>
        </form>
      )}
    </Frame>
  );
}
