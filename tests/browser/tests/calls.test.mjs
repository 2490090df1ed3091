// Live calls through the agent desktop: the simulator (POST /api/calls/events)
// plays the carrier, agent1 works the call in Dialtone's softphone, and the
// console pops the caller's record (docs/DESKTOP.md §2–5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, agentDesk, carrier, soql, screenshot, until, eventually } from './harness.mjs';

let browser, sim;
before(async () => { browser = await launch(); sim = await carrier(browser); });
after(async () => { await sim?.close(); await browser?.close(); });

test('an inbound call pops the caller\'s Contact and shows the offer in the softphone', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const [maria] = await soql(page, "SELECT Id FROM Contact WHERE LastName = 'Anders'");
  const key = await sim.ring('agent1', '+14155550101');
  const offer = await frame.waitForSelector(`#offers article.offer[data-key="${key}"]`, { timeout: 15000 });
  assert.equal(await offer.$eval('.number', (e) => e.textContent), '+14155550101');
  await frame.waitForSelector(`#offers article[data-key="${key}"] .match button`);
  assert.match(await offer.$eval('.match', (e) => e.textContent), /Contact · Maria Anders/);
  await page.waitForURL((u) => u.pathname === `/console/r/${maria.Id}`, { timeout: 15000 });
  await until(page, () => document.getElementById('record-title')?.textContent === 'Maria Anders', undefined, 'the popped Contact');
  await screenshot(page, 'console-incoming-call');
  const vc = await sim.voiceCall(key, 'Id, ScreenPopOutcome');
  assert.equal((await eventually(async () => (await sim.voiceCall(key, 'ScreenPopOutcome')).ScreenPopOutcome, 'ScreenPopOutcome')), 'Matched', JSON.stringify(vc));
  await sim.send(key, [{ kind: 'ended', reason: 'canceled' }]);
  await frame.waitForSelector(`#offers article[data-key="${key}"]`, { state: 'detached', timeout: 15000 });
  assert.deepEqual(page.errors, []);
  await context.close();
});
