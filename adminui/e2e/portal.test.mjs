// End-to-end tests of the admin portal in a real browser (Debian's
// chromium driven by playwright-core) against the real product: `convertor
// dev` with the Bedrock emulator, traffic through the gateway, usage rolled
// up by the accountant and the aggregator, and the portal the admin API
// serves at /admin/. Every wait is for a condition, never for a time.
//
//   make e2e            (builds bin/convertor with the portal embedded first)
//   CONVERTOR_BIN=... node --test e2e/
//
// Screenshots of every page go to adminui/test-results/.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startOIDC } from './oidc.mjs';
import { startAdminAPI, startDev, waitFor } from './stack.mjs';

const results = fileURLToPath(new URL('../test-results/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const TZ = 'Asia/Shanghai';
const HAIKU = 'claude-haiku-4-5';
const HAIKU_BEDROCK = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
const UNPRICED_BEDROCK = 'anthropic.e2e-unpriced-v1:0';

let stack;
let browser;
let page;
const seeded = {};

async function api(method, path, body, token = stack.adminToken, headers = {}) {
  const res = await fetch(stack.admin + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

async function chat(key, content, model = HAIKU) {
  const res = await fetch(`${stack.gateway}/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * text waits until the locator's text as the page renders it (innerText:
 * cells and blocks apart), whitespace collapsed, satisfies want (a string
 * or a RegExp).
 */
async function text(locator, want, timeout = 20_000) {
  let last = '';
  try {
    await waitFor(`text ${want}`, async () => {
      last = (await locator.first().innerText({ timeout: 1_000 })).replace(/\s+/g, ' ').trim();
      return typeof want === 'string' ? last === want : want.test(last);
    }, { timeout });
  } catch (e) {
    throw new Error(`${e.message} (last text: ${JSON.stringify(last)})`);
  }
  return last;
}

/** texts waits until there are n matches of the locator and each one's text, as text() reads it, equals want. */
async function texts(locator, n, want, timeout = 20_000) {
  let last = [];
  try {
    await waitFor(`${n} × ${want}`, async () => {
      last = (await locator.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      return last.length === n && last.every((t) => t === want);
    }, { timeout });
  } catch (e) {
    throw new Error(`${e.message} (last texts: ${JSON.stringify(last)})`);
  }
}

/** patchKey changes a key through the admin API, as a script would. */
async function patchKey(id, fields) {
  const r = await api('PATCH', `/api/keys/${id}`, fields);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** models lists the model ids the gateway offers a key: its status, and the ids when 200. */
async function models(key) {
  const res = await fetch(`${stack.gateway}/models`, { headers: { Authorization: `Bearer ${key}` } });
  const body = await res.json();
  return { status: res.status, ids: (body.data ?? []).map((m) => m.id).sort() };
}

async function shot(p, name) {
  await p.screenshot({ path: join(results, `${name}.png`), fullPage: true });
}

/** summary24h reads the dashboard's own numbers from the API. */
async function summary24h() {
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3_600_000;
  const q = new URLSearchParams({ from: new Date(end - 86_400_000).toISOString(), to: new Date(end).toISOString(), tz: TZ });
  return (await api('GET', `/api/usage/summary?${q}`)).body;
}

before(async () => {
  await mkdir(results, { recursive: true });
  stack = await startDev();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('admin portal', () => {
  it('seeds traffic through the gateway and waits for the roll-ups', async () => {
    // Two keys; the emulator reports exact token counts when told to.
    for (const name of ['seed-a', 'seed-b']) {
      const r = await api('POST', '/api/keys', { name, owner: 'e2e' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      seeded[name] = r.body;
    }
    for (let i = 0; i < 3; i++) {
      const r = await chat(seeded['seed-a'].secret, '@emulator usage in 1000 out 200');
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const r = await chat(seeded['seed-b'].secret, '@emulator usage in 2000 out 500');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // claude-haiku-4-5 on the global route is seeded at $1 in / $5 out per
    // million tokens: 1000 + 1000 micro-dollars per seed-a request, 2000 +
    // 2500 for seed-b's: 10,500 micro-dollars in all.
    const s = await waitFor('the usage to be rolled up', async () => {
      const s = await summary24h();
      return s.current?.totals.requests === 4 && s.current.totals.cost_micros === 10_500 ? s : undefined;
    }, { timeout: 60_000, interval: 250 });
    assert.equal(s.current.totals.total_tokens, 6_100);
    assert.equal(s.current.keys_with_usage, 2);
    // Budgets for the dashboard's watch list: seed-a has spent $0.006 of
    // $0.005 (over it), seed-b $0.0045 (90%, near it).
    for (const name of ['seed-a', 'seed-b']) await patchKey(seeded[name].key.id, { monthly_budget_micros: 5_000 });
    await waitFor("the keys' month spend", async () => {
      const a = await api('GET', `/api/keys/${seeded['seed-a'].key.id}`);
      const b = await api('GET', `/api/keys/${seeded['seed-b'].key.id}`);
      return a.body.month_spend_micros === 6_000 && b.body.month_spend_micros === 4_500;
    }, { timeout: 30_000, interval: 250 });
  });

  it('signs in with the admin token and shows the seeded numbers on the dashboard', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: TZ, locale: 'en-US', acceptDownloads: true });
    page = await ctx.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${stack.admin}/admin`);
    await page.getByLabel('Admin token').fill(stack.adminToken);
    await shot(page, 'login-token');
    await page.getByTestId('token-sign-in').click();
    await text(page.getByTestId('stat-requests-value'), '4');
    await text(page.getByTestId('stat-errors-value'), '0');
    await text(page.getByTestId('stat-tokens-value'), '6,100');
    await text(page.getByTestId('stat-cost-value'), '$0.0105');
    await text(page.getByTestId('stat-keys-value'), '2');
    await text(page.getByTestId('stat-tokens'), /5,000 in · 1,100 out/);
    // Each card against the previous 24 hours, which had no traffic.
    await text(page.getByTestId('stat-requests'), /^Requests 4 none in the previous period$/);
    await text(page.getByTestId('stat-errors'), /^Errors 0 0% of requests same as previous period$/);
    // Every chart names the viewer's time zone.
    await texts(page.getByTestId('chart-tz'), 3, 'Times in Asia/Shanghai (UTC+08:00)');
    // Keys near or over their budget, the most spent first.
    const watch = page.getByTestId('budget-watch').locator('li');
    await text(watch.nth(0), /^seed-a sk-\S+ Over budget \$0\.006 \/ \$0\.005 Resets \d{4}-\d{2}-01$/);
    await text(watch.nth(1), /^seed-b sk-\S+ Near budget \$0\.0045 \/ \$0\.005 Resets \d{4}-\d{2}-01$/);
    assert.equal(await watch.count(), 2);
    // Top keys by cost: seed-a ($0.006, 3 requests) before seed-b ($0.0045).
    await text(page.getByTestId('top-keys').locator('tbody tr').nth(0), /seed-a\s*3\s*3,600\s*\$0\.006\s*57\.1%/);
    await text(page.getByTestId('top-keys').locator('tbody tr').nth(1), /seed-b\s*1\s*2,500\s*\$0\.0045\s*42\.9%/);
    await text(page.getByTestId('top-models').locator('tbody tr').nth(0), /claude-haiku-4-5\s*4\s*6,100\s*\$0\.0105\s*100%/);
    // The charts drew bars.
    await waitFor('chart bars', async () => (await page.locator('.recharts-bar-rectangle').count()) > 0);
    // The last 24 hours hold one local midnight: its tick shows the time
    // with the date under it, as narrow as the other ticks, so the chart
    // keeps it (a one-line "12-04 00:00" was dropped for overlapping).
    const localDay = (d) => {
      const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: TZ, month: '2-digit', day: '2-digit' }).formatToParts(d).map((x) => [x.type, x.value]));
      return `${p.month}-${p.day}`;
    };
    const days = [localDay(new Date()), localDay(new Date(Date.now() - 2 * 3600_000))];
    await waitFor('a midnight tick with its date under it', async () => {
      const ticks = await page.locator('text.recharts-cartesian-axis-tick-value').evaluateAll((els) =>
        els.map((el) => [...el.querySelectorAll('tspan')].map((t) => t.textContent)));
      return ticks.some(([time, day]) => time === '00:00' && days.includes(day));
    });
    await shot(page, 'dashboard');
    // The 7-day view by day has the same totals.
    await page.getByRole('button', { name: 'Last 7 days' }).click();
    await waitFor('the period in the URL', () => page.url().includes('period=7d'));
    await text(page.getByTestId('stat-cost-value'), '$0.0105');
    // The viewer chooses the time zone; every chart prints it, and the
    // choice outlives a reload.
    await page.getByTestId('tz-picker').selectOption('UTC');
    await texts(page.getByTestId('chart-tz'), 3, 'Times in UTC (UTC)');
    await page.reload();
    await texts(page.getByTestId('chart-tz'), 3, 'Times in UTC (UTC)');
    await page.getByTestId('tz-picker').selectOption(TZ);
    await texts(page.getByTestId('chart-tz'), 3, 'Times in Asia/Shanghai (UTC+08:00)');
  });

  it('shows loading and error states, and recovers with Try again', async () => {
    // A request held by the browser: its card says it is loading while
    // the others show their figures.
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    const hold = async (route) => {
      await held;
      await route.continue();
    };
    await page.route('**/api/usage/top?*', hold);
    await page.reload();
    await text(page.getByTestId('stat-requests-value'), '4');
    const topKeysCard = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Top keys by cost' }) });
    await text(topKeysCard.getByRole('status'), 'Loading…');
    release();
    await text(page.getByTestId('top-keys').locator('tbody tr').first(), /seed-a/);
    await page.unroute('**/api/usage/top?*', hold);
    // A failing API: the card says what went wrong, with the request id,
    // and Try again loads it once the API answers.
    const fail = (route) => route.fulfill({
      status: 503,
      contentType: 'application/problem+json',
      body: JSON.stringify({ status: 503, title: 'Service Unavailable', detail: 'usage store unavailable', code: 'unavailable', request_id: 'req-e2e-1' }),
    });
    await page.route('**/api/usage/top?*', fail);
    await page.reload();
    const alert = page.getByRole('alert').filter({ hasText: 'usage store unavailable' });
    await text(alert.first(), 'Something went wrong usage store unavailable Request req-e2e-1 Try again', 30_000);
    await shot(page, 'dashboard-error');
    await page.unroute('**/api/usage/top?*', fail);
    await alert.first().getByRole('button', { name: 'Try again' }).click();
    await text(page.getByTestId('top-keys').locator('tbody tr').first(), /seed-a/);
    // An unknown key: the API's not-found answer, said plainly.
    await page.goto(`${stack.admin}/admin/keys/key_doesnotexist`);
    await text(page.getByRole('alert'), /^Something went wrong .*key_doesnotexist/);
    await page.goto(`${stack.admin}/admin/`);
    await text(page.getByTestId('stat-requests-value'), '4');
  });

  it('can be used from the keyboard: the skip link, then the page', async () => {
    await page.goto(`${stack.admin}/admin/`);
    await text(page.getByTestId('stat-requests-value'), '4');
    const focus = () => page.evaluate(() => ({ text: document.activeElement?.textContent?.trim(), inMain: !!document.getElementById('main')?.contains(document.activeElement) }));
    await page.keyboard.press('Tab');
    assert.deepEqual(await focus(), { text: 'Skip to content', inMain: false });
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    // Past the header: the first control of the page, its period picker.
    assert.deepEqual(await focus(), { text: 'Last 24 hours', inMain: true });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await waitFor('the period in the URL', () => page.url().includes('period=7d'));
    await page.goto(`${stack.admin}/admin/`);
  });

  it('creates a key whose secret works on the gateway, edits it, rotates it, revokes it, and pages the key list', async () => {
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await waitFor('the key list', async () => (await page.getByTestId('keys-table').locator('tbody tr').count()) >= 2);
    // Created from the keyboard alone: Enter opens the dialog with the
    // focus on its first field, Tab walks the fields in order, Enter
    // submits, and a mistake is named by its field.
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('name') ?? document.activeElement?.tagName);
    await page.getByTestId('create-key').focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await waitFor('the focus on the name field', async () => (await focused()) === 'name');
    await page.keyboard.type('e2e-client');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'owner');
    await page.keyboard.type('team-portal');
    for (const next of ['rpm', 'tpm', 'budget']) {
      await page.keyboard.press('Tab');
      assert.equal(await focused(), next);
    }
    await page.keyboard.type('five');
    await page.keyboard.press('Enter');
    await text(dialog.getByText('An amount in dollars'), 'An amount in dollars, such as 12.50.');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('5');
    await page.keyboard.press('Enter');
    const secret = await dialog.getByTestId('new-secret').inputValue({ timeout: 20_000 }).then((v) => v || waitFor('the secret', async () => dialog.getByTestId('new-secret').inputValue()));
    assert.match(secret, /^sk-/);
    await shot(page, 'key-secret');
    // The dialog stays until the operator confirms the secret is saved.
    await page.keyboard.press('Escape');
    assert.equal(await dialog.getByTestId('new-secret').isVisible(), true);
    assert.equal(await page.getByRole('button', { name: 'Done' }).isDisabled(), true);
    await dialog.getByTestId('secret-saved').check();
    await page.getByRole('button', { name: 'Done' }).click();
    await waitFor('the key page', () => /\/admin\/keys\/key_/.test(page.url()));
    const keyId = decodeURIComponent(page.url().split('/').pop());
    // A key not used yet: its page says so rather than drawing nothing.
    const requestsCard = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Requests', exact: true }) });
    await text(requestsCard, /No requests in this period\./);
    await text(page.getByTestId('key-usage-totals'), '0 requests · 0 tokens · $0.00');

    // The secret is a working gateway key.
    const ok = await chat(secret, '@emulator usage in 10 out 5');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    // Prompt caching: the gateway's default until the key is given an hour,
    // then back to the default.
    const info = (label) => page.locator('dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');
    const cacheTTL = () => page.getByRole('dialog').locator('select[name=prompt_cache_ttl]');
    await text(info('Prompt caching'), 'Gateway default (PROMPT_CACHE_TTL)');
    await page.getByTestId('edit-key').click();
    await cacheTTL().selectOption('1h');
    await page.getByTestId('save-key').click();
    await text(info('Prompt caching'), '1 hour');
    assert.equal((await api('GET', `/api/keys/${keyId}`)).body.prompt_cache_ttl, '1h');
    await page.getByTestId('edit-key').click();
    assert.equal(await cacheTTL().inputValue(), '1h');
    await cacheTTL().selectOption({ label: 'Gateway default (PROMPT_CACHE_TTL)' });
    await page.getByTestId('save-key').click();
    await text(info('Prompt caching'), 'Gateway default (PROMPT_CACHE_TTL)');
    assert.equal((await api('GET', `/api/keys/${keyId}`)).body.prompt_cache_ttl, undefined);

    // Someone else changes the key while the operator edits it: the save
    // is refused (412) with a clear message, and the page reloads the key.
    await page.getByTestId('edit-key').click();
    const other = await api('GET', `/api/keys/${keyId}`);
    const changed = await api('PATCH', `/api/keys/${keyId}`, { owner: 'someone-else' }, stack.adminToken, { 'If-Match': other.headers.get('etag') });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await page.getByRole('dialog').locator('input[name=budget]').fill('7');
    await page.getByTestId('save-key').click();
    await text(page.getByTestId('key-notice'), /Someone changed this key/);
    await text(page.getByText('someone-else'), 'someone-else');
    // Edited again from the reloaded key: budget, limits, expiry and the
    // models it may use are saved.
    await page.getByTestId('edit-key').click();
    const edit = page.getByRole('dialog');
    await edit.locator('input[name=budget]').fill('12.5');
    await edit.locator('input[name=rpm]').fill('120');
    await edit.locator('input[name=tpm]').fill('50000');
    await edit.locator('input[name=expires]').fill('2099-12-31');
    await edit.getByRole('checkbox', { name: HAIKU, exact: true }).check();
    await page.getByTestId('save-key').click();
    await text(page.getByTestId('key-budget'), /\/ \$12\.50/);
    await text(info('Requests per minute'), '120');
    await text(info('Tokens per minute'), '50,000');
    await text(info('Expires'), '2099-12-31');
    await text(info('Allowed models'), HAIKU);
    const saved = await api('GET', `/api/keys/${keyId}`);
    assert.equal(saved.body.monthly_budget_micros, 12_500_000);
    assert.equal(saved.body.owner, 'someone-else');
    assert.equal(saved.body.rpm, 120);
    assert.equal(saved.body.tpm, 50_000);
    assert.deepEqual(saved.body.allowed_models, [HAIKU]);
    // The key stops at the start of that day in the viewer's zone.
    assert.equal(saved.body.expires_at, '2099-12-30T16:00:00Z');
    // The gateway now offers the key that one model only.
    await waitFor('the gateway to list only the allowed model', async () => (await models(secret)).ids.join() === HAIKU, { timeout: 20_000, interval: 250 });
    // The key's page charts its usage and lists its request, once rolled up.
    await waitFor("the key's request to be rolled up", async () => {
      const q = new URLSearchParams({ key_id: keyId, from: new Date(Date.now() - 86_400_000).toISOString(), tz: TZ });
      return (await api('GET', `/api/usage/summary?${q}`)).body.current?.totals.requests === 1;
    }, { timeout: 60_000, interval: 250 });
    await page.reload();
    await text(page.getByTestId('key-usage-totals'), '1 request · 15 tokens · $0.000035');
    await text(page.getByTestId('request-log').locator('tbody tr'), /claude-haiku-4-5\s*200 ok\s*10\s*5\s*\$0\.000035/);
    // Last used lags the request log by up to a minute, and says so.
    await text(page.getByTestId('key-last-used-note'), 'Recorded about once a minute');
    await shot(page, 'key-detail');

    // Rotated with an hour's grace: a new secret, shown once, and the old
    // one keeps working until the grace ends. The probes list models, so
    // they add no usage.
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    const rotate = page.getByRole('dialog');
    await rotate.getByRole('combobox', { name: 'Old secret keeps working for' }).selectOption('3600');
    await rotate.getByRole('button', { name: 'Rotate', exact: true }).click();
    const rotated = await waitFor('the new secret', async () => (await page.getByTestId('new-secret').inputValue({ timeout: 5_000 })) || undefined);
    assert.match(rotated, /^sk-/);
    assert.notEqual(rotated, secret);
    await shot(page, 'key-rotated');
    await page.getByTestId('secret-saved').check();
    await page.getByRole('button', { name: 'Done' }).click();
    await text(info('Previous secret'), /^sk-\S+ works until \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    const afterRotate = await api('GET', `/api/keys/${keyId}`);
    const graceLeft = Date.parse(afterRotate.body.previous_until) - Date.now();
    assert.ok(graceLeft > 30 * 60_000 && graceLeft <= 3_600_000, `previous secret works for ${graceLeft} ms more, want about an hour`);
    await waitFor('the gateway to take the new secret', async () => (await models(rotated)).status === 200, { timeout: 20_000, interval: 250 });
    assert.equal((await models(secret)).status, 200, 'the old secret works during the grace period');

    // Revoked, neither secret works on the gateway within KEY_CACHE_TTL.
    await page.getByTestId('revoke-key').click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await text(page.locator('h1'), /Revoked/);
    await waitFor('the gateway to refuse both secrets of the revoked key', async () => {
      const [old, cur] = [(await models(secret)).status, (await models(rotated)).status];
      for (const st of [old, cur]) assert.ok(st === 200 || st === 401, `status ${st}`);
      return old === 401 && cur === 401;
    }, { timeout: 20_000, interval: 250 });
    await page.getByRole('link', { name: /Keys$/ }).first().click();
    await page.getByLabel('Search keys').fill('e2e-client');
    await waitFor('the search in the URL', () => page.url().includes('q=e2e-client'));
    await text(page.getByTestId('keys-table').locator('tbody tr').first(), /e2e-client.*team-portal|e2e-client.*someone-else/);
    await page.getByRole('combobox', { name: 'Status' }).selectOption('revoked');
    await waitFor('the status in the URL', () => page.url().includes('status=revoked'));
    await text(page.getByTestId('keys-table').locator('tbody tr').first(), /^sk-\S+ e2e-client someone-else Revoked 120 \/ 50,000 \$0\.000035 \/ \$12\.50.* 2099-12-31$/);
    await shot(page, 'keys');

    // Twenty-one more keys: two pages of search results.
    const soon = new Date(Date.now() + 3.5 * 86_400_000).toISOString();
    for (let i = 0; i < 21; i++) {
      const r = await api('POST', '/api/keys', { name: `pager-${String(i).padStart(2, '0')}`, owner: 'e2e-paging', ...(i === 0 ? { expires_at: soon } : {}) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ value: '' });
    await page.getByLabel('Search keys').fill('pager-');
    await waitFor('the search in the URL', () => page.url().includes('q=pager-') && !page.url().includes('status='));
    const rows = page.getByTestId('keys-table').locator('tbody tr');
    const pageOf = async (n) => {
      const t = await rows.allTextContents();
      return t.length === n && t.every((r) => r.includes('pager-'));
    };
    await waitFor('a full first page', () => pageOf(20));
    await text(page.getByRole('navigation', { name: 'Pages' }), 'Previous Page 1 Next');
    await page.getByRole('button', { name: 'Next' }).click();
    await waitFor('the second page', () => pageOf(1));
    await text(page.getByRole('navigation', { name: 'Pages' }), 'Previous Page 2 Next');
    assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await waitFor('the first page again', () => pageOf(20));
    // A key that expires within two weeks says so in days.
    await page.getByLabel('Search keys').fill('pager-00');
    await waitFor('one key', () => pageOf(1));
    await text(rows.first(), /Active .* In 3 days \(\d{4}-\d{2}-\d{2}\)$/);
  });

  it('adds a route the gateway then serves', async () => {
    await page.getByRole('link', { name: 'Routes', exact: true }).click();
    await page.getByTestId('add-route').click();
    await page.getByRole('dialog').locator('input[name=model]').fill('e2e-fast');
    await page.getByRole('dialog').locator('input[name=bedrock_model_id]').fill(HAIKU_BEDROCK);
    await page.getByTestId('save-route').click();
    await text(page.locator('[data-route="e2e-fast"]'), /e2e-fast\s*global\.anthropic\.claude-haiku-4-5-20251001-v1:0\s*admin\s*yes/);
    await waitFor('the gateway to load the route', async () => {
      const res = await fetch(`${stack.gateway}/models`, { headers: { Authorization: `Bearer ${stack.apiKey}` } });
      return (await res.json()).data?.some((m) => m.id === 'e2e-fast');
    }, { timeout: 30_000, interval: 250 });
    const r = await chat(stack.apiKey, '@emulator usage in 100 out 20', 'e2e-fast');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // A route to a model without a price is marked as such.
    await page.getByTestId('add-route').click();
    await page.getByRole('dialog').locator('input[name=model]').fill('e2e-spare');
    await page.getByRole('dialog').locator('input[name=bedrock_model_id]').fill(UNPRICED_BEDROCK);
    await page.getByTestId('save-route').click();
    await text(page.locator('[data-route="e2e-spare"]'), /^e2e-spare anthropic\.e2e-unpriced-v1:0 admin no price \d{4}-/);
    await shot(page, 'routes');
  });

  it('adds a price from a date and previews a re-pricing', async () => {
    await page.getByRole('link', { name: 'Prices', exact: true }).click();
    // The default prices: input, output, cache read, 5-minute and 1-hour
    // cache writes; Claude Sonnet 4.5's long-context rates under its row.
    await text(page.getByTestId('prices-table'), /anthropic\.claude-haiku-4-5-20251001-v1:0\s*global\s*\$1\.00\s*\$5\.00\s*\$0\.10\s*\$1\.25\s*\$2\.00\s/);
    const defaults = (await api('GET', '/api/prices')).body.prices;
    const haiku = defaults.find((p) => p.model === 'anthropic.claude-haiku-4-5-20251001-v1:0' && p.route === 'global');
    assert.equal(haiku.cache_write_1h_micros_per_mtok, 2_000_000);
    const sonnet = defaults.find((p) => p.model === 'anthropic.claude-sonnet-4-5-20250929-v1:0' && p.route === 'global');
    assert.deepEqual(sonnet.tiers.map((t) => [t.above_tokens, t.input_micros_per_mtok, t.cache_write_1h_micros_per_mtok]), [[200_000, 6_000_000, 12_000_000]]);
    await text(page.getByTestId('prices-table').locator('tr[data-tier="200000"]').filter({ hasText: '$22.50' }), '↳ prompt over 200,000 tokens $6.00 $22.50 $0.60 $7.50 $12.00');
    // The routed model without a price is flagged.
    await text(page.getByTestId('unpriced'), /^1 model has no price .* e2e-spare → anthropic\.e2e-unpriced-v1:0 routed 0 requests in 30 days Add a price$/);
    await page.getByTestId('add-price').click();
    const d = page.getByRole('dialog');
    await d.locator('input[name=model]').fill('anthropic.claude-haiku-4-5-20251001-v1:0');
    await d.locator('input[name=route]').fill('global');
    await d.locator('input[name=effective_from]').fill('2030-01-01T00:00');
    await d.locator('input[name=input]').fill('2');
    await d.locator('input[name=output]').fill('10');
    await d.locator('input[name=cache_write_1h]').fill('4');
    await d.locator('input[name=tier_above_tokens]').fill('100000');
    await d.locator('input[name=tier_input]').fill('4');
    await d.locator('input[name=tier_output]').fill('20');
    await d.locator('input[name=source]').fill('e2e');
    await page.getByTestId('save-price').click();
    const scheduled = page.getByRole('heading', { name: 'Scheduled' }).locator('..').locator('..');
    await text(scheduled, /\$2\.00\s*\$10\.00\s*\$0\.00\s*\$0\.00\s*\$4\.00.*2030-01-01 00:00 e2e ↳ prompt over 100,000 tokens \$4\.00 \$20\.00 \$0\.00 \$0\.00 \$8\.00 \(2× input\)/);
    // The model's history lists the price in effect and the one to come.
    await page.getByTestId('prices-table').getByRole('button', { name: /anthropic\.claude-haiku-4-5-20251001-v1:0/ }).first().click();
    const history = page.getByRole('table', { name: 'Price history of anthropic.claude-haiku-4-5-20251001-v1:0' });
    await text(history, /global \$1\.00 \$5\.00 .*global \$2\.00 \$10\.00 .*2030-01-01 00:00 e2e|global \$2\.00 \$10\.00 .*2030-01-01 00:00 e2e.*global \$1\.00 \$5\.00/);
    const prices = await api('GET', '/api/prices');
    const added = prices.body.scheduled.find((p) => p.source === 'e2e');
    // Midnight in the viewer's zone (Shanghai) is 16:00 UTC the day before.
    assert.equal(added.effective_from, '2029-12-31T16:00:00Z');
    assert.equal(added.input_micros_per_mtok, 2_000_000);
    assert.equal(added.cache_write_1h_micros_per_mtok, 4_000_000);
    assert.deepEqual(added.tiers, [{ above_tokens: 100_000, input_micros_per_mtok: 4_000_000, output_micros_per_mtok: 20_000_000, cache_read_micros_per_mtok: 0, cache_write_micros_per_mtok: 0 }]);
    // Wait for the roll-ups of every request so far: 6 requests, 10,735
    // micro-dollars (the new key's 10 in / 5 out is 35, the route's 100 in /
    // 20 out 200).
    await waitFor('all usage rolled up', async () => (await summary24h()).current.totals.cost_micros === 10_735, { timeout: 60_000, interval: 250 });
    // Re-pricing takes each model's newest price, the 2030 one included:
    // every record of the last 30 days would cost twice as much.
    await page.getByTestId('run-preview').click();
    await text(page.getByTestId('preview-result'), /Records\s*6\s*Would change\s*6\s*Cost now\s*\$0\.010735\s*Cost re-priced\s*\$0\.02147\s*Difference\s*\$0\.010735\s*Still unpriced\s*0/);
    await shot(page, 'prices');
  });

  it('edits a route to a priced model, then deletes it', async () => {
    await page.getByRole('link', { name: 'Routes', exact: true }).click();
    const row = page.locator('[data-route="e2e-spare"]');
    await row.getByRole('button', { name: 'Edit' }).click();
    const d = page.getByRole('dialog');
    assert.equal(await d.locator('input[name=model]').isDisabled(), true, 'a route is edited under its model name');
    await d.locator('input[name=bedrock_model_id]').fill(HAIKU_BEDROCK);
    await page.getByTestId('save-route').click();
    await text(row, /^e2e-spare global\.anthropic\.claude-haiku-4-5-20251001-v1:0 admin yes /);
    await page.getByRole('link', { name: 'Prices', exact: true }).click();
    await text(page.getByTestId('prices-table'), /claude-haiku/);
    assert.equal(await page.getByTestId('unpriced').count(), 0);
    await waitFor('the gateway to load the route', async () => (await models(stack.apiKey)).ids.includes('e2e-spare'), { timeout: 30_000, interval: 250 });
    await page.getByRole('link', { name: 'Routes', exact: true }).click();
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await waitFor('the route to leave the table', async () => (await page.getByTestId('routes-table').count()) === 1 && (await row.count()) === 0);
    await waitFor('the gateway to drop the route', async () => !(await models(stack.apiKey)).ids.includes('e2e-spare'), { timeout: 30_000, interval: 250 });
  });

  it('explores usage with the filters in the URL and exports exactly that as CSV', async () => {
    await page.goto(`${stack.admin}/admin/usage?period=24h&group_by=key&metric=cost&granularity=hour`);
    await text(page.getByTestId('usage-totals'), /6 requests · 6,235 tokens · \$0\.010735/);
    await text(page.getByTestId('usage-table-total'), /Total\s*6\s*0\s*5,110\s*1,125\s*0\s*0\s*\$0\.010735/);
    await shot(page, 'usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    const rows = csv.trim().split('\n').map((l) => l.split(','));
    const head = rows[0];
    assert.deepEqual(head.slice(0, 5), ['bucket_start', 'bucket_end', 'tz', 'group', 'name']);
    const col = (name) => rows.slice(1).reduce((s, r) => s + Number(r[head.indexOf(name)]), 0);
    assert.equal(col('requests'), 6);
    assert.equal(col('cost_micros'), 10_735);
    assert.equal(col('total_tokens'), 6_235);
    assert.equal(rows[1][head.indexOf('tz')], TZ);
    // One line per key, 24 hourly buckets each, the seeded keys among them.
    const groups = new Set(rows.slice(1).map((r) => r[3]));
    assert.ok(groups.has(seeded['seed-a'].key.id) && groups.has(seeded['seed-b'].key.id), [...groups].join(' '));
    assert.equal(rows.length - 1, groups.size * 24);

    // Filters chosen on the page go to the address bar; the same address
    // opened in another tab shows, once signed in there, the same view,
    // and its CSV holds just that.
    const b = seeded['seed-b'].key;
    await page.getByRole('combobox', { name: 'Key', exact: true }).selectOption(b.id);
    await page.getByRole('combobox', { name: 'Group by' }).selectOption('model');
    await waitFor('the filters in the URL', () => page.url().includes(`key_id=${b.id}`) && page.url().includes('group_by=model'));
    await text(page.getByTestId('usage-totals'), '1 request · 2,500 tokens · $0.0045');
    const shared = await page.context().newPage();
    await shared.goto(page.url());
    await shared.getByLabel('Admin token').fill(stack.adminToken);
    await shared.getByTestId('token-sign-in').click();
    await text(shared.getByTestId('usage-totals'), '1 request · 2,500 tokens · $0.0045');
    await text(shared.getByTestId('usage-table').locator('tbody tr'), /claude-haiku-4-5\s*1\s*0\s*2,000\s*500\s*0\s*0\s*\$0\.0045$/);
    const [one] = await Promise.all([shared.waitForEvent('download'), shared.getByTestId('export-csv').click()]);
    const oneRows = (await readFile(await one.path(), 'utf8')).trim().split('\n').map((l) => l.split(','));
    const sum = (name) => oneRows.slice(1).reduce((s, r) => s + Number(r[oneRows[0].indexOf(name)]), 0);
    assert.equal(sum('requests'), 1);
    assert.equal(sum('cost_micros'), 4_500);
    assert.deepEqual([...new Set(oneRows.slice(1).map((r) => r[3]))], [HAIKU]);
    await shared.close();
  });

  it('shows the audit log with before and after', async () => {
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await text(page.getByTestId('audit-table').locator('tbody tr').first(), /Route deleted/);
    // A deletion's before is the route; its after is nothing.
    await page.getByTestId('audit-table').locator('tbody tr').first().getByRole('button').click();
    await text(page.getByTestId('audit-diff'), /^Field Before After bedrock_model_id "global\.anthropic\.claude-haiku-4-5-20251001-v1:0" model "e2e-spare" /);
    await page.getByRole('combobox', { name: 'Resource' }).selectOption('price');
    await waitFor('the resource in the URL', () => page.url().includes('resource=price'));
    await text(page.getByTestId('audit-table').locator('tbody tr').first(), /Price added/);
    await page.getByRole('combobox', { name: 'Resource' }).selectOption({ value: '' });
    await page.getByRole('combobox', { name: 'Action' }).selectOption('key.update');
    await waitFor('the filter in the URL', () => page.url().includes('action=key.update'));
    await page.getByTestId('audit-table').locator('tbody tr').first().getByRole('button').click();
    await text(page.getByTestId('audit-diff'), /monthly_budget_micros\s*7000000\s*12500000|monthly_budget_micros\s*5000000\s*12500000/);
    await shot(page, 'audit');
  });

  it('switches to 中文, remembered across a reload, with translated charts and CSV headers', async () => {
    await page.goto(`${stack.admin}/admin/`);
    await page.getByRole('button', { name: '中文' }).click();
    await text(page.getByRole('link', { name: '概览' }), '概览');
    await text(page.getByTestId('stat-requests'), /请求数\s*6/);
    await text(page.getByTestId('chart-tz'), '时间按 Asia/Shanghai (UTC+08:00) 显示');
    await text(page.locator('.recharts-legend-wrapper').nth(1), /^(?=.*输入)(?=.*输出)(?=.*缓存读取)(?=.*缓存写入)/);
    await page.reload();
    await text(page.getByRole('heading', { level: 1 }), '概览');
    await shot(page, 'dashboard-zh');
    await page.goto(`${stack.admin}/admin/usage?period=24h&group_by=model`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = await readFile(await download.path(), 'utf8');
    assert.ok(csv.startsWith('\uFEFF时间桶开始,时间桶结束,时区,分组,名称,请求数,'), csv.slice(0, 80));
    assert.match(csv, /费用（微美元）,费用（美元）/);
    await shot(page, 'usage-zh');
    await page.getByRole('button', { name: 'English' }).click();
    await text(page.getByRole('heading', { level: 1 }), 'Usage explorer');
  });

  it('is readable on a phone-width screen', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, timezoneId: TZ, isMobile: true });
    const p = await ctx.newPage();
    await p.goto(`${stack.admin}/admin/`);
    await p.getByLabel('Admin token').fill(stack.adminToken);
    await p.getByTestId('token-sign-in').click();
    await text(p.getByTestId('stat-requests-value'), '6');
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the screen`);
    await shot(p, 'dashboard-phone');
    await p.goto(`${stack.admin}/admin/keys`);
    await waitFor('the key list', async () => (await p.getByTestId('keys-table').locator('tbody tr').count()) >= 3);
    assert.ok((await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 1, 'the keys page is wider than the screen');
    await shot(p, 'keys-phone');
    await ctx.close();
  });

  it('lets a Cognito viewer sign in through OIDC and look, but not change anything', async () => {
    const oidc = await startOIDC({ clientId: 'portal-e2e', user: { username: 'vera', email: 'vera@example.com', groups: ['viewer'] } });
    const viewerAPI = await startAdminAPI({
      ADMIN_AUTH: 'cognito',
      ADMIN_COGNITO_USER_POOL_ID: 'us-east-1_E2E',
      ADMIN_COGNITO_CLIENT_IDS: 'scripts,portal-e2e',
      ADMIN_UI_COGNITO_CLIENT_ID: 'portal-e2e',
      ADMIN_COGNITO_ISSUER: oidc.issuer,
      DYNAMODB_ENDPOINT_URL: stack.dynamodb,
    });
    try {
      const cfg = await (await fetch(`${viewerAPI.url}/api/ui-config`)).json();
      assert.deepEqual(cfg.cognito, { authority: oidc.issuer, client_id: 'portal-e2e', scopes: 'openid email profile' });
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: TZ });
      const p = await ctx.newPage();
      await p.goto(`${viewerAPI.url}/admin/keys`);
      await p.getByTestId('cognito-sign-in').click();
      // Back from the provider on the page the viewer asked for.
      await waitFor('the keys page after sign-in', async () => (await p.getByTestId('keys-table').count()) > 0 && p.url().endsWith('/admin/keys'));
      await text(p.getByTestId('whoami'), 'vera · viewer');
      await text(p.getByTestId('viewer-banner'), /viewer/);
      assert.equal(await p.getByTestId('create-key').count(), 0);
      await shot(p, 'viewer-keys');
      await p.getByLabel('Search keys').fill('seed-a');
      await p.getByTestId('keys-table').getByRole('link', { name: 'seed-a' }).click();
      await text(p.getByTestId('key-usage-totals'), /3 requests/);
      assert.equal(await p.getByTestId('edit-key').count(), 0);
      assert.equal(await p.getByTestId('revoke-key').count(), 0);
      await p.getByRole('link', { name: 'Routes', exact: true }).click();
      await text(p.locator('[data-route="e2e-fast"]'), /e2e-fast/);
      assert.equal(await p.getByTestId('add-route').count(), 0);
      assert.equal(await p.getByRole('button', { name: 'Override' }).count(), 0);
      await p.getByRole('link', { name: 'Prices', exact: true }).click();
      await text(p.getByTestId('prices-table'), /claude-haiku/);
      assert.equal(await p.getByTestId('add-price').count(), 0);
      await p.getByRole('link', { name: 'Dashboard', exact: true }).click();
      await text(p.getByTestId('stat-requests-value'), '6');
      await shot(p, 'viewer-dashboard');
      // The admin API refuses the viewer's writes too, whatever the portal shows.
      const token = await p.evaluate(() => {
        for (let i = 0; i < sessionStorage.length; i++) {
          const k = sessionStorage.key(i);
          if (k?.startsWith('oidc.user:')) return JSON.parse(sessionStorage.getItem(k)).id_token;
        }
        return null;
      });
      assert.ok(token, 'the portal keeps the signed-in user in sessionStorage');
      const refused = await fetch(`${viewerAPI.url}/api/keys`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{"name":"nope"}' });
      assert.equal(refused.status, 403);
      await ctx.close();
    } finally {
      await viewerAPI.stop();
      await oidc.close();
    }
  });

  it('shows a banner when the admin API runs without authentication', async () => {
    const open = await startAdminAPI({ ADMIN_AUTH: 'none', DYNAMODB_ENDPOINT_URL: stack.dynamodb });
    try {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: TZ });
      const p = await ctx.newPage();
      await p.goto(`${open.url}/admin/`);
      await text(p.getByTestId('auth-none-banner'), /Authentication is off \(ADMIN_AUTH=none\)/);
      await text(p.getByTestId('stat-requests-value'), '6');
      await shot(p, 'auth-none');
      await ctx.close();
    } finally {
      await open.stop();
    }
  });
});
