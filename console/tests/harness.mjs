// The test bench of the console's browser tests: a real `zkpush serve` on a free loopback port with
// its own data folder, emulated panels (`zkpush simulate --scenario`), API calls as a client would
// make them, and Chromium (Debian's package) driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const BIN = process.env.ZKPUSH_BIN ?? resolve(import.meta.dirname, '../../build/zkpush');
export const ARTEFACTS = process.env.ZKPUSH_ARTEFACTS ?? resolve(import.meta.dirname, '../../build/console-test');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` until it returns a truthy value (returned) or `ms` pass (throws with `what`).
export async function until(what, fn, ms = 30000, every = 200) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(every);
  }
}

export class Bench {
  constructor() {
    this.children = [];
    this.logs = {};
  }

  async start({ adminToken = 'ConsoleAdminToken-0123456789' } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'zkpush-console-'));
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.admin = adminToken;
    mkdirSync(ARTEFACTS, { recursive: true });
    this.server = this.spawn('server', [
      'serve', '--listen', `127.0.0.1:${this.port}`, '--data', join(this.dir, 'data'), '--api-token', adminToken,
    ]);
    await until('the server to answer /healthz', async () => (await fetch(`${this.base}/healthz`)).ok, 20000);
    return this;
  }

  spawn(name, args) {
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.logs[name] = '';
    const keep = (d) => {
      this.logs[name] = (this.logs[name] + d.toString()).slice(-20000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.children.push(child);
    return child;
  }

  // An emulated panel running a scenario script (docs/simulate.md), polling every second; `extra`:
  // more simulate flags (--remote-auth).
  panel(name, prefix, script, profile = 'inbio460', extra = []) {
    const file = join(this.dir, `${name}.scn`);
    writeFileSync(file, script);
    return this.spawn(name, [
      'simulate', '--server', this.base, '--scenario', file, '--sn-prefix', prefix, '--profile', profile, '--poll-interval', '1',
      ...extra,
    ]);
  }

  async api(method, path, body, token = this.admin, contentType = 'application/json') {
    const r = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async browser() {
    this.chromium = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    return this.chromium;
  }

  // A fresh browser context (its own sessionStorage) with every request it makes recorded.
  async page({ width = 1280, height = 900, touch = false } = {}) {
    const context = await this.chromium.newContext({ viewport: { width, height }, hasTouch: touch, isMobile: touch });
    const page = await context.newPage();
    page.requested = [];
    page.on('request', (r) => page.requested.push(r.url()));
    page.failures = []; // answers of 400 and above, "status method url"
    page.on('response', (r) => {
      if (r.status() >= 400) page.failures.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.consoleErrors = [];
    page.on('console', (m) => {
      if (m.type() === 'error') page.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
    return page;
  }

  async signIn(page, token = this.admin) {
    await page.goto(`${this.base}/`);
    const input = page.locator('input[name=token]');
    await input.fill(token);
    await input.press('Enter');
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  }

  async stop() {
    await this.chromium?.close().catch(() => undefined);
    for (const c of this.children.reverse()) {
      if (c.exitCode === null) c.kill('SIGTERM');
    }
    await sleep(300);
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    if (!process.env.ZKPUSH_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}
