import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, createApi, fetchText, ifMatch, setCredentials, unwrap } from './client';

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

/** fakeFetch answers every request with answer and records it. */
function fakeFetch(answer: (req: Request) => Response) {
  const seen: Seen[] = [];
  const f = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://admin.test'), init);
    seen.push({ url: req.url, method: req.method, headers: req.headers, body: req.body ? await req.clone().text() : '' });
    return answer(req);
  };
  return { f, seen };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers } });
}

afterEach(() => setCredentials({ token: () => null, rejected: () => undefined }));

describe('the typed client', () => {
  it('sends the bearer token and the typed query', async () => {
    setCredentials({ token: () => 'adm-secret', rejected: () => undefined });
    const { f, seen } = fakeFetch(() => json(200, { keys: [], next_cursor: 'c2' }));
    const api = createApi('http://admin.test', f);
    const d = unwrap(await api.GET('/api/keys', { params: { query: { q: 'ci', status: 'active', limit: 20 } } }));
    expect(d.next_cursor).toBe('c2');
    expect(seen[0]?.url).toBe('http://admin.test/api/keys?q=ci&status=active&limit=20');
    expect(seen[0]?.headers.get('Authorization')).toBe('Bearer adm-secret');
  });

  it('sends no Authorization header without a token (ADMIN_AUTH=none)', async () => {
    const { f, seen } = fakeFetch(() => json(200, { auth_mode: 'none' }));
    const api = createApi('http://admin.test', f);
    expect(unwrap(await api.GET('/api/ui-config')).auth_mode).toBe('none');
    expect(seen[0]?.headers.has('Authorization')).toBe(false);
  });

  it('makes a key change conditional on its revision', async () => {
    setCredentials({ token: () => 't', rejected: () => undefined });
    const { f, seen } = fakeFetch(() =>
      json(412, { status: 412, title: 'Precondition Failed', code: 'precondition', detail: 'key changed meanwhile', request_id: 'req_1' }),
    );
    const api = createApi('http://admin.test', f);
    const r = await api.PATCH('/api/keys/{id}', { params: { path: { id: 'key_1' }, header: { 'If-Match': ifMatch(3) } }, body: { monthly_budget_micros: 5_000_000 } });
    expect(seen[0]?.method).toBe('PATCH');
    expect(seen[0]?.url).toBe('http://admin.test/api/keys/key_1');
    expect(seen[0]?.headers.get('If-Match')).toBe('"3"');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ monthly_budget_micros: 5_000_000 });
    let err: unknown;
    try {
      unwrap(r);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 412, code: 'precondition', message: 'key changed meanwhile', requestId: 'req_1' });
  });

  it('names the fields at fault', () => {
    const e = new ApiError(400, { detail: 'invalid request: body.rpm: must be >= 0', code: 'invalid', errors: [{ location: 'body.rpm', message: 'must be >= 0' }] });
    expect(e.fields).toEqual([{ location: 'body.rpm', message: 'must be >= 0' }]);
    expect(new ApiError(502, 'not json').code).toBe('internal');
  });

  it('tells the portal when the token is refused', async () => {
    let rejected = 0;
    setCredentials({ token: () => 'expired', rejected: () => {
      rejected++;
    } });
    const { f } = fakeFetch(() => json(401, { status: 401, code: 'unauthorized', detail: 'token expired' }));
    const api = createApi('http://admin.test', f);
    await expect(api.GET('/api/me').then(unwrap)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(rejected).toBe(1);
  });

  it('downloads CSV with the same credentials and parameters', async () => {
    setCredentials({ token: () => 'tok', rejected: () => undefined });
    const { f, seen } = fakeFetch(() => new Response('a,b\n1,2\n', { status: 200, headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="usage-series.csv"' } }));
    const got = await fetchText('http://admin.test/api/usage/series.csv', { tz: 'Asia/Shanghai', from: '2026-12-01', key_id: '', model: undefined }, f);
    expect(got).toEqual({ text: 'a,b\n1,2\n', filename: 'usage-series.csv' });
    expect(seen[0]?.url).toBe('http://admin.test/api/usage/series.csv?tz=Asia%2FShanghai&from=2026-12-01');
    expect(seen[0]?.headers.get('Authorization')).toBe('Bearer tok');
  });
});
