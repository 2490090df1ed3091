// Dialtone's own softphone in the console. Tests that need the desktop
// WebSocket and commands (docs/DESKTOP.md §2–3) join this file once the
// server side is merged: offers, accept/decline, hold, wrap-up, dial refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openConsole, softphoneFrame, soql, screenshot, go, until } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the own softphone loads in the panel, initialises and enables click-to-dial', async () => {
  const { context, page } = await openConsole(browser, 'agent1');
  const frame = await softphoneFrame(page);
  assert.equal(new URL(frame.url()).pathname, '/softphone');
  await until(page, () => document.getElementById('softphone-state').textContent === 'Ready');
  const [maria] = await soql(page, "SELECT Id FROM Contact WHERE LastName = 'Anders'");
  await go(page, `/console/r/${maria.Id}`);
  await page.waitForSelector('[data-field="Phone"] a.c2d');
  await frame.waitForSelector('#dialpad .key');
  assert.equal(await frame.$$eval('#dialpad .key', (k) => k.length), 12);
  await screenshot(page, 'console-softphone');
  await screenshot(frame.locator('body'), 'softphone');
  await context.close();
});
