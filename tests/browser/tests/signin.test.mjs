import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, newPage, signIn, openConsole, screenshot, go, until } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a wrong password is refused with a reason and no session', async () => {
  const { context, page } = await newPage(browser);
  await page.goto(`${env.base}/console/login`);
  await page.fill('#username', env.users.agent3.username);
  await page.fill('#password', 'not-the-password');
  const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/login') && r.request().method() === 'POST'), page.click('#login-submit')]);
  assert.equal(res.status(), 401);
  assert.match(await page.textContent('#login-error'), /wrong username or password/i);
  assert.equal(await page.inputValue('#username'), env.users.agent3.username, 'the username stays filled in');
  assert.equal((await context.cookies()).filter((c) => c.name === 'dialtone_sid').length, 0);
  // Without a session the console sends you to sign in, remembering where you were going.
  await page.goto(`${env.base}/console/list/Contact`);
  assert.equal(new URL(page.url()).pathname, '/console/login');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/console/list/Contact');
  await context.close();
});

test('the right password lands on the console with an HttpOnly, SameSite=Strict cookie', async () => {
  const { context, page } = await newPage(browser);
  await signIn(page, 'agent1');
  assert.equal(new URL(page.url()).pathname, '/console');
  await page.waitForSelector('body.console:not(.booting)');
  await until(page, () => document.getElementById('user-name').textContent.includes('Sam Rivera'));
  const cookie = (await context.cookies()).find((c) => c.name === 'dialtone_sid');
  assert.ok(cookie, 'session cookie set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('dialtone_sid')), false, 'scripts cannot read the session');
  await page.waitForSelector('.home-grid');
  await screenshot(page, 'console-home');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('next= returns to the page asked for; signing out ends the session', async () => {
  const { context, page } = await openConsole(browser, 'agent1', '/console/list/Lead');
  assert.equal(new URL(page.url()).pathname, '/console/list/Lead');
  await page.waitForSelector('table.list tbody tr a');
  await Promise.all([page.waitForURL((u) => u.pathname === '/console/login'), page.click('#logout-form button')]);
  const r = await page.evaluate(async () => (await fetch('/api/desktop/session')).status);
  assert.equal(r, 401, 'the revoked session no longer works');
  await context.close();
});

test('an outside next= is not followed', async () => {
  const { context, page } = await newPage(browser);
  await signIn(page, 'agent1', { next: '//evil.example/steal' });
  const u = new URL(page.url());
  assert.equal(u.origin, env.base);
  assert.equal(u.pathname, '/console');
  await context.close();
});
