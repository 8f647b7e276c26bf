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

/** text waits until the locator's text, trimmed, satisfies want (a string or a RegExp). */
async function text(locator, want, timeout = 20_000) {
  let last = '';
  try {
    await waitFor(`text ${want}`, async () => {
      last = ((await locator.first().textContent({ timeout: 1_000 })) ?? '').replace(/\s+/g, ' ').trim();
      return typeof want === 'string' ? last === want : want.test(last);
    }, { timeout });
  } catch (e) {
    throw new Error(`${e.message} (last text: ${JSON.stringify(last)})`);
  }
  return last;
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
    // Every chart names the viewer's time zone.
    await text(page.getByTestId('chart-tz'), 'Times in Asia/Shanghai (UTC+08:00)');
    assert.equal(await page.getByTestId('chart-tz').count(), 3);
    // Top keys by cost: seed-a ($0.006, 3 requests) before seed-b ($0.0045).
    await text(page.getByTestId('top-keys').locator('tbody tr').nth(0), /seed-a\s*3\s*3,600\s*\$0\.006\s*57\.1%/);
    await text(page.getByTestId('top-keys').locator('tbody tr').nth(1), /seed-b\s*1\s*2,500\s*\$0\.0045\s*42\.9%/);
    await text(page.getByTestId('top-models').locator('tbody tr').nth(0), /claude-haiku-4-5\s*4\s*6,100\s*\$0\.0105\s*100%/);
    // The charts drew bars.
    await waitFor('chart bars', async () => (await page.locator('.recharts-bar-rectangle').count()) > 0);
    await shot(page, 'dashboard');
    // The 7-day view by day has the same totals.
    await page.getByRole('button', { name: 'Last 7 days' }).click();
    await waitFor('the period in the URL', () => page.url().includes('period=7d'));
    await text(page.getByTestId('stat-cost-value'), '$0.0105');
  });

  it('creates a key whose secret works on the gateway, edits its budget, and revokes it', async () => {
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await waitFor('the key list', async () => (await page.getByTestId('keys-table').locator('tbody tr').count()) >= 2);
    await page.getByTestId('create-key').click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name=name]').fill('e2e-client');
    await dialog.locator('input[name=owner]').fill('team-portal');
    await dialog.locator('input[name=budget]').fill('5');
    await dialog.getByTestId('create-key-submit').click();
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

    // The secret is a working gateway key.
    const ok = await chat(secret, '@emulator usage in 10 out 5');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

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
    // Edited again from the reloaded key, the budget is saved.
    await page.getByTestId('edit-key').click();
    await page.getByRole('dialog').locator('input[name=budget]').fill('12.5');
    await page.getByTestId('save-key').click();
    await text(page.getByTestId('key-budget'), /\/ \$12\.50/);
    const saved = await api('GET', `/api/keys/${keyId}`);
    assert.equal(saved.body.monthly_budget_micros, 12_500_000);
    assert.equal(saved.body.owner, 'someone-else');
    // The key's page charts its usage and lists its request, once rolled up.
    await waitFor("the key's request to be rolled up", async () => {
      const q = new URLSearchParams({ key_id: keyId, from: new Date(Date.now() - 86_400_000).toISOString(), tz: TZ });
      return (await api('GET', `/api/usage/summary?${q}`)).body.current?.totals.requests === 1;
    }, { timeout: 60_000, interval: 250 });
    await page.reload();
    await text(page.getByTestId('key-usage-totals'), '1 request · 15 tokens · $0.000035');
    await text(page.getByTestId('request-log').locator('tbody tr'), /claude-haiku-4-5\s*200 ok\s*10\s*5\s*\$0\.000035/);
    await shot(page, 'key-detail');

    // Revoked, the key stops working on the gateway within KEY_CACHE_TTL.
    // The probe names no model the gateway routes: while the key still
    // works it gets 404 before reaching Bedrock, so it adds no usage.
    await page.getByTestId('revoke-key').click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await text(page.locator('h1'), /Revoked/);
    await waitFor('the gateway to refuse the revoked key', async () => {
      const r = await chat(secret, 'hello', 'no-such-model');
      assert.ok(r.status === 404 || r.status === 401, JSON.stringify(r.body));
      return r.status === 401;
    }, { timeout: 20_000, interval: 250 });
    await page.getByRole('link', { name: /Keys$/ }).first().click();
    await page.getByLabel('Search keys').fill('e2e-client');
    await waitFor('the search in the URL', () => page.url().includes('q=e2e-client'));
    await text(page.getByTestId('keys-table').locator('tbody tr').first(), /e2e-client.*team-portal|e2e-client.*someone-else/);
    await shot(page, 'keys');
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
    await shot(page, 'routes');
  });

  it('adds a price from a date and previews a re-pricing', async () => {
    await page.getByRole('link', { name: 'Prices', exact: true }).click();
    await text(page.getByTestId('prices-table'), /anthropic\.claude-haiku-4-5-20251001-v1:0\s*global\s*\$1\.00\s*\$5\.00/);
    await page.getByTestId('add-price').click();
    const d = page.getByRole('dialog');
    await d.locator('input[name=model]').fill('anthropic.claude-haiku-4-5-20251001-v1:0');
    await d.locator('input[name=route]').fill('global');
    await d.locator('input[name=effective_from]').fill('2030-01-01T00:00');
    await d.locator('input[name=input]').fill('2');
    await d.locator('input[name=output]').fill('10');
    await d.locator('input[name=source]').fill('e2e');
    await page.getByTestId('save-price').click();
    await text(page.getByRole('heading', { name: 'Scheduled' }).locator('..').locator('..'), /\$2\.00\s*\$10\.00.*2030-01-01 00:00/);
    const prices = await api('GET', '/api/prices');
    const added = prices.body.scheduled.find((p) => p.source === 'e2e');
    // Midnight in the viewer's zone (Shanghai) is 16:00 UTC the day before.
    assert.equal(added.effective_from, '2029-12-31T16:00:00Z');
    assert.equal(added.input_micros_per_mtok, 2_000_000);
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
  });

  it('shows the audit log with before and after', async () => {
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await text(page.getByTestId('audit-table').locator('tbody tr').first(), /Price added/);
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
