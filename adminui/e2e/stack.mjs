// Starts the product for the end-to-end tests: `convertor dev` (gateway,
// accountant, aggregator, admin API, embedded NATS and DynamoDB, the
// Bedrock emulator) on free ports in a temporary data folder, and reads
// its addresses and admin token from the banner it prints. Every process
// started here is stopped by its PID.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** binary is the convertor to test: CONVERTOR_BIN, else bin/convertor as `make build` leaves it. */
export function binary() {
  const bin = process.env.CONVERTOR_BIN ?? join(repoRoot, 'bin', 'convertor');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run make build (it embeds the portal) or set CONVERTOR_BIN`);
  return bin;
}

/** waitFor polls fn until it returns a value other than undefined/false, or fails after timeout ms. */
export async function waitFor(what, fn, { timeout = 30_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false && v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

function start(name, args, env, onLine) {
  const child = spawn(binary(), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const feed = (stream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line);
      }
    });
  };
  feed(child.stdout);
  feed(child.stderr);
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return {
    name,
    child,
    lines,
    exited,
    log: () => lines.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** startDev runs `convertor dev` and resolves once its banner is printed. */
export async function startDev() {
  const dataDir = await mkdtemp(join(tmpdir(), 'convertor-e2e-'));
  const info = {};
  const proc = start('convertor dev', ['dev'], {
    DATA_DIR: dataDir,
    GATEWAY_ADDR: '127.0.0.1:0',
    ADMIN_ADDR: '127.0.0.1:0',
    DEV_NATS_PORT: '0',
    DEV_DYNAMODB_ADDR: '127.0.0.1:0',
    DEV_BEDROCK_EMULATOR: 'true',
    LOG_LEVEL: 'warn',
  }, (line) => {
    const m = /^\s+(OpenAI base URL|API key|DynamoDB|Admin API|Admin token):\s+(\S+)/.exec(line);
    if (m) info[m[1]] = m[2];
  });
  await Promise.race([
    waitFor('the convertor dev banner', () => info['Admin token'] && info['OpenAI base URL'], { timeout: 60_000 }),
    proc.exited.then(({ code }) => {
      throw new Error(`convertor dev exited (${code}):\n${proc.log()}`);
    }),
  ]);
  return {
    proc,
    dataDir,
    gateway: info['OpenAI base URL'], // http://127.0.0.1:N/v1
    apiKey: info['API key'],
    dynamodb: info['DynamoDB'],
    admin: info['Admin API'].replace(/\/api\/$/, ''), // http://127.0.0.1:N
    adminToken: info['Admin token'],
    async stop() {
      await proc.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** startAdminAPI runs `convertor adminapi` with env and resolves with its base URL once it listens. */
export async function startAdminAPI(env) {
  let addr;
  const proc = start('convertor adminapi', ['adminapi'], { ADMIN_ADDR: '127.0.0.1:0', LOG_LEVEL: 'info', ...env }, (line) => {
    const m = /msg="admin API listening" addr=(\S+)/.exec(line);
    if (m) addr = m[1];
  });
  await Promise.race([
    waitFor('the admin API to listen', () => addr, { timeout: 30_000 }),
    proc.exited.then(({ code }) => {
      throw new Error(`convertor adminapi exited (${code}):\n${proc.log()}`);
    }),
  ]);
  return { proc, url: `http://${addr}`, stop: () => proc.stop() };
}
