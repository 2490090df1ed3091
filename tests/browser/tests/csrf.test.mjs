import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openConsole, rest } from './harness.mjs';

let browser, page, context;
before(async () => { browser = await launch(); ({ context, page } = await openConsole(browser, 'agent1')); });
after(async () => { await context?.close(); await browser?.close(); });

const task = { Subject: 'CSRF probe', Status: 'Not Started' };

test('a cookie request that changes something needs the CSRF token', async () => {
  const none = await rest(page, 'POST', '/services/data/v60.0/sobjects/Task', task, { csrf: false });
  assert.equal(none.status, 403);
  assert.equal(none.body[0].errorCode, 'INVALID_CSRF_TOKEN');
  const forged = await page.evaluate(async (t) => {
    const r = await fetch('/services/data/v60.0/sobjects/Task', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'a'.repeat(64) }, body: JSON.stringify(t) });
    return { status: r.status, body: await r.json() };
  }, task);
  assert.equal(forged.status, 403);
  assert.equal(forged.body[0].errorCode, 'INVALID_CSRF_TOKEN');
  const good = await rest(page, 'POST', '/services/data/v60.0/sobjects/Task', task);
  assert.equal(good.status, 201, JSON.stringify(good.body));
  assert.equal(good.body.success, true);
});

test('reads need no token; sign-out without the token is refused', async () => {
  const read = await rest(page, 'GET', '/api/desktop/session', undefined, { csrf: false });
  assert.equal(read.status, 200);
  assert.match(read.body.csrfToken, /^[0-9a-f]{64}$/);
  const out = await page.evaluate(async () => (await fetch('/console/logout', { method: 'POST', redirect: 'manual' })).status);
  assert.equal(out, 403);
  assert.equal((await rest(page, 'GET', '/api/desktop/session')).status, 200, 'still signed in');
});
