// Sign-in, per the admin API's ADMIN_AUTH (read from the public
// /api/ui-config before anyone signs in):
//   cognito — OpenID Connect authorization code with PKCE against the user
//             pool (oidc-client-ts); the ID token is the bearer token;
//   token   — the admin token, typed once and kept in sessionStorage for
//             the tab's life;
//   none    — no sign-in, and a banner that says so.
// The role comes from GET /api/me: viewers see no write controls.
import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, api, setCredentials, unwrap, type Me, type UISettings } from '../api/client';
import { BASE, navigate } from '../lib/router';

export const TOKEN_STORAGE_KEY = 'convertor.adminToken';
export const CALLBACK_PATH = '/callback';

export type AuthState =
  | { status: 'loading' }
  | { status: 'unreachable'; error: Error }
  | { status: 'signed-out'; settings: UISettings; reason?: 'expired' | 'refused' | 'failed'; detail?: string }
  | { status: 'signed-in'; settings: UISettings; me: Me };

interface AuthContextValue {
  state: AuthState;
  /** signInWithToken checks an admin token and keeps it for the tab. */
  signInWithToken: (token: string) => Promise<void>;
  /** signInWithCognito goes to the user pool's sign-in page. */
  signInWithCognito: () => Promise<void>;
  signOut: () => Promise<void>;
  retry: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function useAuth(): AuthContextValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** useMe is the signed-in caller; only inside the signed-in app. */
export function useMe(): Me {
  const { state } = useAuth();
  if (state.status !== 'signed-in') throw new Error('useMe while not signed in');
  return state.me;
}

/** useCanWrite says whether write controls are shown. */
export function useCanWrite(): boolean {
  return useMe().can_write;
}

function userManager(s: UISettings): UserManager | null {
  if (s.auth_mode !== 'cognito' || !s.cognito) return null;
  const origin = window.location.origin;
  return new UserManager({
    authority: s.cognito.authority,
    client_id: s.cognito.client_id,
    redirect_uri: origin + BASE + CALLBACK_PATH,
    post_logout_redirect_uri: origin + BASE + '/',
    response_type: 'code',
    scope: s.cognito.scopes,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
    loadUserInfo: false,
  });
}

// The code in the callback URL can be redeemed once; React may run the
// effect that handles it twice (StrictMode), so both runs share one promise.
let callback: { url: string; user: Promise<User> } | null = null;

function redeem(m: UserManager): Promise<User> {
  const url = window.location.href;
  if (callback?.url !== url) callback = { url, user: m.signinRedirectCallback(url) };
  return callback.user;
}

function bearerOf(u: User | null): string | null {
  if (!u || u.expired) return null;
  // The ID token names the person (email) for the audit log; the admin
  // API accepts ID and access tokens alike.
  return u.id_token ?? u.access_token;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const token = useRef<string | null>(null);
  const manager = useRef<UserManager | null>(null);
  const settingsRef = useRef<UISettings | null>(null);

  // Every API request reads the token here; a 401 signs out.
  useEffect(() => {
    setCredentials({
      token: () => token.current,
      rejected: () => {
        const s = settingsRef.current;
        if (!s || s.auth_mode === 'none') return;
        token.current = null;
        sessionStorage.removeItem(TOKEN_STORAGE_KEY);
        void manager.current?.removeUser();
        setState((prev) => (prev.status === 'signed-in' ? { status: 'signed-out', settings: s, reason: 'expired' } : prev));
      },
    });
  }, []);

  const loadMe = useCallback(async (s: UISettings) => {
    const me = unwrap(await api.GET('/api/me'));
    setState({ status: 'signed-in', settings: s, me });
  }, []);

  useEffect(() => {
    const run = { cancelled: false };
    void (async () => {
      let s: UISettings;
      try {
        s = unwrap(await api.GET('/api/ui-config'));
      } catch (e) {
        if (!run.cancelled) setState({ status: 'unreachable', error: e instanceof Error ? e : new Error(String(e)) });
        return;
      }
      settingsRef.current = s;
      const signedOut = (reason?: 'expired' | 'refused' | 'failed', detail?: string) => {
        if (!run.cancelled) setState({ status: 'signed-out', settings: s, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) });
      };
      try {
        switch (s.auth_mode) {
          case 'none':
            token.current = null;
            await loadMe(s);
            return;
          case 'token': {
            token.current = sessionStorage.getItem(TOKEN_STORAGE_KEY);
            if (!token.current) {
              signedOut();
              return;
            }
            await loadMe(s);
            return;
          }
          case 'cognito': {
            const m = userManager(s);
            manager.current = m;
            if (!m) {
              signedOut('failed', 'cognito settings missing');
              return;
            }
            m.events.addUserLoaded((u) => {
              token.current = bearerOf(u);
            });
            m.events.addAccessTokenExpired(() => {
              token.current = null;
              signedOut('expired');
            });
            let user: User | null;
            if (window.location.pathname === BASE + CALLBACK_PATH) {
              user = await redeem(m);
              const back = (user.state as { returnTo?: string } | undefined)?.returnTo ?? '/';
              navigate(back, { replace: true });
            } else {
              user = await m.getUser();
            }
            token.current = bearerOf(user);
            if (!token.current) {
              signedOut();
              return;
            }
            await loadMe(s);
            return;
          }
        }
      } catch (e) {
        token.current = null;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          sessionStorage.removeItem(TOKEN_STORAGE_KEY);
          signedOut('refused', e.message);
          return;
        }
        signedOut('failed', e instanceof Error ? e.message : String(e));
      }
    })();
    return () => {
      run.cancelled = true;
    };
  }, [attempt, loadMe]);

  const value = useMemo<AuthContextValue>(
    () => ({
      state,
      signInWithToken: async (t: string) => {
        const s = settingsRef.current;
        if (!s) return;
        token.current = t.trim();
        try {
          const me = unwrap(await api.GET('/api/me'));
          sessionStorage.setItem(TOKEN_STORAGE_KEY, token.current);
          setState({ status: 'signed-in', settings: s, me });
        } catch (e) {
          token.current = null;
          throw e;
        }
      },
      signInWithCognito: async () => {
        const returnTo = window.location.pathname.slice(BASE.length) + window.location.search;
        await manager.current?.signinRedirect({ state: { returnTo: returnTo === CALLBACK_PATH ? '/' : returnTo || '/' } });
      },
      signOut: async () => {
        const s = settingsRef.current;
        token.current = null;
        sessionStorage.removeItem(TOKEN_STORAGE_KEY);
        await manager.current?.removeUser();
        if (s) setState({ status: 'signed-out', settings: s });
      },
      retry: () => {
        setState({ status: 'loading' });
        setAttempt((n) => n + 1);
      },
    }),
    [state],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
