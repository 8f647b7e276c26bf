// The typed admin API client: openapi-fetch over the types generated from
// the admin API's OpenAPI document (schema.d.ts), with the bearer token of
// the signed-in person on every request and problem details turned into
// ApiError.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type KeyView = Schemas['KeyView'];
export type KeySecret = Schemas['KeySecret'];
export type Summary = Schemas['Summary'];
export type Series = Schemas['Series'];
export type Line = Schemas['Line'];
export type Totals = Schemas['Totals'];
export type Top = Schemas['Top'];
export type Price = Schemas['Price'];
export type PriceTier = Schemas['PriceTier'];
export type PricesView = Schemas['PricesView'];
export type RouteView = Schemas['RouteView'];
export type AuditEntry = Schemas['AuditEntry'];
export type RequestView = Schemas['RequestView'];
export type RepricePreview = Schemas['RepricePreview'];
export type Me = Schemas['Me'];
export type UISettings = Schemas['UISettings'];

/** ApiError is an admin API error answer (RFC 9457 problem details). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string;
  readonly fields: { location: string; message: string }[];

  constructor(status: number, body: unknown) {
    const p = (typeof body === 'object' && body !== null ? body : {}) as Partial<Schemas['Error']>;
    super(p.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = p.code ?? (status >= 500 ? 'internal' : 'error');
    this.requestId = p.request_id ?? '';
    this.fields = (p.errors ?? []).map((e) => ({ location: e.location ?? '', message: e.message ?? '' }));
  }
}

/** Credentials supplies the Authorization header and learns when it was refused. */
export interface Credentials {
  /** token returns the bearer token, or null to send none. */
  token(): string | null;
  /** rejected is told of every 401, so that the portal asks to sign in again. */
  rejected(): void;
}

let credentials: Credentials = { token: () => null, rejected: () => undefined };

/** setCredentials installs how requests are authenticated. */
export function setCredentials(c: Credentials): void {
  credentials = c;
}

/** authHeader is the Authorization header of the current credentials. */
export function authHeader(): Record<string, string> {
  const t = credentials.token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = credentials.token();
    if (t) request.headers.set('Authorization', `Bearer ${t}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) credentials.rejected();
    return response;
  },
};

/** createApi returns a client of the admin API at baseUrl ("" for the origin that served the portal). */
export function createApi(baseUrl = '', fetchImpl?: typeof fetch) {
  const c = createClient<paths>({ baseUrl, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  c.use(auth);
  return c;
}

export const api = createApi();

/**
 * unwrap returns the data of an openapi-fetch result, or throws ApiError.
 * Use it as `unwrap(await api.GET(...))`.
 */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (!r.response.ok || r.error !== undefined) throw new ApiError(r.response.status, r.error);
  return r.data as T;
}

/** etagOf is the revision a response's ETag names, for If-Match. */
export function etagOf(r: { response: Response }): string | null {
  return r.response.headers.get('ETag');
}

/** ifMatch is the If-Match header value of a key revision. */
export function ifMatch(revision: number): string {
  return `"${revision}"`;
}

/**
 * fetchText downloads a text view of the API (CSV) with the same
 * credentials; it throws ApiError on an error answer.
 */
export async function fetchText(path: string, query: Record<string, string | undefined>, fetchImpl: typeof fetch = fetch): Promise<{ text: string; filename: string }> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, v);
  const res = await fetchImpl(`${path}?${qs.toString()}`, { headers: authHeader() });
  if (res.status === 401) credentials.rejected();
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    throw new ApiError(res.status, body);
  }
  const cd = res.headers.get('Content-Disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(cd)?.[1] ?? 'export.csv';
  return { text: await res.text(), filename };
}
