// Helpers for the browser tests: the server and adapter run.sh started,
// Chromium from Debian, signing in, the console, the softphone frame.
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const env = {
  base: need('DIALTONE_URL'),
  adapterBase: need('ADAPTER_URL'),
  users: JSON.parse(need('DIALTONE_USERS')), // {admin:{username,password}, agent1:…, agent3:…, acme:…, failover:…}
  screenshots: process.env.DIALTONE_SCREENSHOTS === '1',
};

/**
 * The second server run.sh starts with the SIP edge (`serve --sip`), a SIP
 * trunk from 127.0.0.1 to DialtoneDemo and agent1's desk phone at
 * 127.0.0.1:phonePort; null when sipp is not installed.
 */
export const sipEnv = process.env.SIP_URL ? {
  base: process.env.SIP_URL,
  users: JSON.parse(process.env.SIP_USERS),
  sipAddr: process.env.SIP_ADDR,
  phonePort: Number(process.env.SIP_PHONE_PORT),
  scenarios: process.env.SIP_SCENARIOS,
} : null;

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests with tests/browser/run.sh`);
  return v;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A fresh context at 1280x800 that collects console errors and CSP violations. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    // Until the desktop WebSocket (docs/DESKTOP.md §2) is merged, its endpoint is 404 and
    // the browser logs each (re)connect attempt; any other failure still counts.
    if (m.type() === 'error' && !/\/api\/desktop\/ws' failed: .*Unexpected response code: 404/.test(m.text())) page.errors.push(m.text());
  });
  return { context, page };
}

export async function signIn(page, who, { next, server = env } = {}) {
  const u = server.users[who] || who;
  await page.goto(`${server.base}/console/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.fill('#username', u.username);
  await page.fill('#password', u.password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/console/login')), page.click('#login-submit')]);
}

/** Signs in and waits for the console to finish booting. */
export async function openConsole(browser, who, path = '/console', { server = env } = {}) {
  const { context, page } = await newPage(browser);
  await signIn(page, who, { next: path, server });
  await page.waitForSelector('body.console:not(.booting)');
  return { context, page };
}

/** Client-side navigation in the console (the softphone panel stays loaded). */
export async function go(page, path) {
  await page.evaluate((p) => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }, path);
  await page.waitForURL((u) => u.pathname + u.search === path);
}

/**
 * Polls fn(arg) in the page until it is truthy. (page.waitForFunction compiles
 * its predicate with eval, which the console's Content-Security-Policy forbids.)
 */
export function until(page, fn, arg, what = 'a condition in the page', timeout = 8000) {
  return eventually(() => page.evaluate(fn, arg), what, timeout);
}

/** The softphone iframe's Frame once its document has loaded (optionally a given role). */
export async function softphoneFrame(page, { role, timeout = 10000 } = {}) {
  const sel = role ? `#softphone-frame[data-role="${role}"]` : '#softphone-frame';
  const handle = await page.waitForSelector(sel, { timeout, state: 'attached' });
  const frame = await handle.contentFrame();
  await frame.waitForLoadState('domcontentloaded');
  return frame;
}

/** For the third-party adapter: waits until window.adapter exists in the frame. */
export async function adapterFrame(page, opts) {
  const frame = await softphoneFrame(page, opts);
  await frame.waitForFunction(() => window.adapter && window.adapter.cti);
  return frame;
}

/** Calls sforce.opencti.<method> in the adapter and resolves its callback's response. */
export function cti(frame, method, args = {}) {
  return frame.evaluate(([m, a]) => window.adapter.call(m, a), [method, args]);
}

/** REST from inside the console page (cookie session + CSRF header). */
export function rest(page, method, path, body, { csrf = true } = {}) {
  return page.evaluate(async ([m, p, b, c]) => {
    const s = window.dialtoneConsole.app.session;
    const headers = { Accept: 'application/json' };
    if (b !== undefined) headers['Content-Type'] = 'application/json';
    if (c && m !== 'GET') headers['X-CSRF-Token'] = s.csrfToken;
    const r = await fetch(p, { method: m, headers, body: b === undefined ? undefined : JSON.stringify(b) });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: r.status, body: json };
  }, [method, path, body, csrf]);
}

export async function soql(page, q) {
  const r = await rest(page, 'GET', `/services/data/v60.0/query?q=${encodeURIComponent(q)}`);
  if (r.status !== 200) throw new Error(`query failed ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.records;
}

const shotsDir = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));

/** Writes docs/screenshots/NAME.png when DIALTONE_SCREENSHOTS=1. */
export async function screenshot(pageOrFrame, name) {
  if (!env.screenshots) return;
  await mkdir(shotsDir, { recursive: true });
  await pageOrFrame.screenshot({ path: `${shotsDir}${name}.png` });
}

/** Waits until fn() is truthy (polling), or fails with `what`. */
export async function eventually(fn, what, timeout = 8000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

// ---------------------------------------------------------------- calls

/**
 * The "carrier": an admin's console page that feeds simulator call events
 * (POST /api/calls/events, docs/DESKTOP.md) and reads back with SOQL.
 */
export async function carrier(browser) {
  const { context, page } = await openConsole(browser, 'admin');
  const ids = new Map();
  let seq = 0;
  const c = {
    page,
    close: () => context.close(),
    async userId(who) {
      const username = (env.users[who] || { username: who }).username;
      if (!ids.has(username)) {
        const [u] = await soql(page, `SELECT Id FROM User WHERE Username = '${username}'`);
        ids.set(username, u.Id);
      }
      return ids.get(username);
    },
    /** Posts events [{kind, …}] for `key` (seq and at filled in). */
    async send(key, events) {
      const body = events.map((e) => ({ vendorCallKey: key, seq: ++seq, at: new Date().toISOString(), ...e }));
      const r = await rest(page, 'POST', '/api/calls/events', body);
      if (r.status >= 300) throw new Error(`call events refused ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    /** A new inbound call from `from` to DialtoneDemo, offered to `who`. */
    async ring(who, from, key = `SIM-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`) {
      const agent = await c.userId(who);
      await c.send(key, [
        { kind: 'initiated', direction: 'inbound', from, to: '+18005550100', callCenter: 'DialtoneDemo' },
        { kind: 'offered', agent },
      ]);
      return key;
    },
    voiceCall(key, fields = 'Id') {
      return eventually(async () => (await soql(page, `SELECT ${fields} FROM VoiceCall WHERE VendorCallKey = '${key}'`))[0], `the VoiceCall of ${key}`, 15000);
    },
  };
  return c;
}

/**
 * An agent's console with Dialtone's softphone connected and the agent
 * Available: {context, page, frame}.
 */
export async function agentDesk(browser, who, path = '/console', { server = env } = {}) {
  const { context, page } = await openConsole(browser, who, path, { server });
  const frame = await softphoneFrame(page);
  await frame.waitForSelector('#conn.badge-ok', { timeout: 15000 });
  await until(page, () => document.body.dataset.popSocket === 'open', undefined, 'the console pop socket');
  if ((await frame.inputValue('#presence')) !== 'Available') {
    await frame.selectOption('#presence', 'Available');
  }
  await frame.waitForSelector('#presence-dot.p-Available');
  return { context, page, frame };
}
