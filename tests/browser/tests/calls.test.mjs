// Live calls through the agent desktop: the simulator (POST /api/calls/events)
// plays the carrier, agent1 works the call in Dialtone's softphone, and the
// console pops the caller's record (docs/DESKTOP.md §2–5).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { launch, agentDesk, carrier, rest, soql, screenshot, until, eventually, go, softphoneFrame } from './harness.mjs';

let browser, sim;
before(async () => { browser = await launch(); sim = await carrier(browser); });
after(async () => { await sim?.close(); await browser?.close(); });

// Calls a test started: ended and wrapped up afterwards even when it failed
// midway, so agent1 is never left on a call or in After Call Work for the next.
const started = new Set();
afterEach(async () => {
  for (const key of started) {
    try { await sim.send(key, [{ kind: 'ended', reason: 'agentDisconnect' }]); } catch { /* already over */ }
    await rest(sim.page, 'POST', `/api/desktop/calls/${encodeURIComponent(key)}/wrapup`, { resolution: 'Resolved' });
  }
  started.clear();
});

test('an inbound call pops the caller\'s Contact and shows the offer in the softphone', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const [maria] = await soql(page, "SELECT Id FROM Contact WHERE LastName = 'Anders'");
  const key = await ring('+14155550101');
  const offer = await frame.waitForSelector(`#offers article.offer[data-key="${key}"]`, { timeout: 15000 });
  assert.equal(await offer.$eval('.number', (e) => e.textContent), '+1 (415) 555-0101');
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

/** sim.ring for agent1, remembered for the cleanup. */
async function ring(from) {
  const key = await sim.ring('agent1', from);
  started.add(key);
  return key;
}

/** The softphone card of a call (offer, live call or wrap-up). */
const card = (frame, section, key) => frame.waitForSelector(`#${section} [data-key="${key}"]`, { timeout: 15000 });

/** Every call-control button on the card: [action, enabled]. */
const buttons = (el) => el.$$eval('button[data-action]', (bs) => bs.map((b) => [b.dataset.action, !b.disabled]));

/** Saves a wrap-up through REST (cleanup: the agent leaves After Call Work). */
async function wrapUp(page, key, resolution = 'Resolved') {
  const r = await rest(page, 'POST', `/api/desktop/calls/${encodeURIComponent(key)}/wrapup`, { resolution });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

/** Polls the call's VoiceCall until its RelatedRecordId is `id`. */
async function relatedBecomes(key, id) {
  let last;
  for (let i = 0; i < 100; i++) {
    last = (await sim.voiceCall(key, 'RelatedRecordId')).RelatedRecordId;
    if (last === id) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the call ${key} is related to ${last}, not ${id}`);
}

test('two matching records show the chooser (type, name, owner); choosing one opens it', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  // A Lead with Thomas Hardy's number: the number now matches two records.
  const lead = await rest(sim.page, 'POST', '/services/data/v60.0/sobjects/Lead', { FirstName: 'Tom', LastName: 'Hardy-Lead', Company: 'Hardy & Sons', Phone: '+1 415 555 0102' });
  assert.equal(lead.status, 201, JSON.stringify(lead.body));
  const [thomas] = await soql(page, "SELECT Id FROM Contact WHERE LastName = 'Hardy'");
  const key = await ring('+14155550102');
  await page.waitForSelector('[data-modal="chooser"] .chooser li button', { timeout: 15000 });
  const rows = await page.$$eval('[data-modal="chooser"] .chooser li button', (bs) => bs.map((b) => [...b.children].map((c) => c.textContent)));
  assert.deepEqual(rows, [
    ['Contact', 'Thomas Hardy · +1 415 555 0102', '—'], // the demo's records have no owner
    ['Lead', 'Tom Hardy-Lead · +1 415 555 0102', 'Avery Admin'],
  ].map((r) => r), JSON.stringify(rows));
  const offer = await card(frame, 'offers', key);
  assert.match(await offer.$eval('.match', (e) => e.textContent), /2 matching records/);
  await screenshot(page, 'console-chooser');
  await page.click(`[data-modal="chooser"] button[data-record-id="${lead.body.id}"]`);
  await page.waitForURL((u) => u.pathname === `/console/r/${lead.body.id}`);
  await until(page, () => document.getElementById('record-title')?.textContent === 'Tom Hardy-Lead', undefined, 'the chosen Lead');
  assert.equal(await page.$('[data-modal="chooser"]'), null, 'the chooser closed');
  assert.notEqual(thomas.Id, lead.body.id);
  // The call is about the record the agent chose, not the server's guess.
  await relatedBecomes(key, lead.body.id);
  await sim.send(key, [{ kind: 'ended', reason: 'canceled' }]);
  assert.equal((await sim.voiceCall(key, 'ScreenPopOutcome')).ScreenPopOutcome, 'Chooser');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('an unknown number opens a prefilled New Contact form that saves; a withheld number opens the fallback form', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const number = `+1415555${String(Date.now()).slice(-4)}`;
  const key = await ring(number);
  const form = await page.waitForSelector('[data-modal="new-Contact"] #record-form', { timeout: 15000 });
  assert.equal(await form.$eval('#f-Phone', (e) => e.value), number);
  assert.match(await (await card(frame, 'offers', key)).$eval('.match', (e) => e.textContent), /New caller/);
  await page.fill('#f-FirstName', 'Nora');
  await page.fill('#f-LastName', 'Newcaller');
  await page.click('[data-modal="new-Contact"] button[type=submit]');
  await page.waitForURL(/\/console\/r\/003/);
  const [made] = await soql(page, "SELECT Id, Phone, Name FROM Contact WHERE LastName = 'Newcaller'");
  assert.equal(made.Phone, number);
  assert.equal(new URL(page.url()).pathname, `/console/r/${made.Id}`);
  await relatedBecomes(key, made.Id);
  await sim.send(key, [{ kind: 'ended', reason: 'canceled' }]);
  assert.equal((await sim.voiceCall(key, 'ScreenPopOutcome')).ScreenPopOutcome, 'NewRecord');

  const anon = await ring('anonymous');
  const fb = await page.waitForSelector('[data-modal="new-Lead"] #record-form', { timeout: 15000 });
  assert.match(await fb.$eval('.form-top', (e) => e.textContent), /caller id withheld/);
  assert.equal(await fb.$eval('#f-Phone', (e) => e.value), '', 'no number to prefill');
  assert.match(await (await card(frame, 'offers', anon)).$eval('.match', (e) => e.textContent), /Unknown caller: caller id withheld/);
  assert.equal(await frame.textContent(`#offers [data-key="${anon}"] .number`), 'Withheld number');
  await screenshot(page, 'console-fallback-form');
  await page.click('[data-modal="new-Lead"] .modal-foot .btn:not(.btn-primary)');
  await sim.send(anon, [{ kind: 'ended', reason: 'canceled' }]);
  assert.equal((await sim.voiceCall(anon, 'ScreenPopOutcome')).ScreenPopOutcome, 'Fallback');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('accept, hold, resume, mute and hang up from the softphone buttons, enabled exactly per controls', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const key = await ring('+12125550143'); // Hanna Moos
  let el = await card(frame, 'offers', key);
  assert.deepEqual(await buttons(el), [['accept', true], ['decline', true]]);
  assert.equal(await el.getAttribute('data-controls'), 'accept decline');

  await frame.click(`#offers [data-key="${key}"] button[data-action=accept]`);
  el = await card(frame, 'calls', key);
  await frame.waitForSelector(`#offers [data-key="${key}"]`, { state: 'detached' });
  const connected = async () => {
    const c = await card(frame, 'calls', key);
    assert.equal(await c.getAttribute('data-state'), 'connected');
    assert.equal(await c.getAttribute('data-controls'), 'hold mute hangup transfer');
    assert.deepEqual(await buttons(c), [['hold', true], ['mute', true], ['transfer-open', true], ['hangup', true]]);
  };
  await connected();
  assert.equal(await frame.isVisible(`#calls [data-key="${key}"] form.transfer`), false, 'the transfer form opens only on Transfer');
  // The call timer runs.
  const t0 = await el.$eval('.timer', (e) => e.textContent);
  await eventually(async () => { const t = await (await card(frame, 'calls', key)).$eval('.timer', (e) => e.textContent); return /^\d+:\d\d$/.test(t) && t !== t0 && t; }, 'the call timer to tick', 15000);

  await frame.click(`#calls [data-key="${key}"] button[data-action=hold]`);
  await frame.waitForSelector(`#calls [data-key="${key}"][data-state="held"]`, { timeout: 15000 });
  el = await card(frame, 'calls', key);
  assert.equal(await el.getAttribute('data-controls'), 'resume mute hangup transfer');
  assert.deepEqual(await buttons(el), [['resume', true], ['mute', true], ['transfer-open', true], ['hangup', true]]);
  assert.match(await el.$eval('.sp-card-head', (e) => e.textContent), /On hold/);

  await frame.click(`#calls [data-key="${key}"] button[data-action=resume]`);
  await frame.waitForSelector(`#calls [data-key="${key}"][data-state="connected"]`, { timeout: 15000 });
  await connected();

  await frame.click(`#calls [data-key="${key}"] button[data-action=mute]`);
  await frame.waitForSelector(`#calls [data-key="${key}"][data-controls="hold unmute hangup transfer"]`, { timeout: 15000 });
  el = await card(frame, 'calls', key);
  assert.deepEqual(await buttons(el), [['hold', true], ['unmute', true], ['transfer-open', true], ['hangup', true]]);
  assert.match(await el.$eval('.sp-card-head', (e) => e.textContent), /Muted/);
  await screenshot(frame.locator('body'), 'softphone-on-call');
  await frame.click(`#calls [data-key="${key}"] button[data-action=unmute]`);
  await frame.waitForSelector(`#calls [data-key="${key}"][data-controls="hold mute hangup transfer"]`, { timeout: 15000 });

  await frame.click(`#calls [data-key="${key}"] button[data-action=hangup]`);
  await frame.waitForSelector(`#calls [data-key="${key}"]`, { state: 'detached', timeout: 15000 });
  const vc = await eventually(async () => { const v = await sim.voiceCall(key, 'Id, NumberOfHolds, CallDisposition, CallEndDateTime, CallAcceptDateTime'); return v.CallEndDateTime && v; }, 'the ended VoiceCall');
  assert.equal(vc.NumberOfHolds, 1, JSON.stringify(vc));
  assert.ok(vc.CallAcceptDateTime, 'answered');
  await wrapUp(page, key);
  assert.deepEqual(page.errors, []);
  await context.close();
});

/** Rings agent1 with `from`, accepts in the softphone; the card of the connected call. */
async function answered(frame, from) {
  const key = await ring(from);
  await (await card(frame, 'offers', key)).$eval('button[data-action=accept]', (b) => b.click());
  await frame.waitForSelector(`#calls [data-key="${key}"][data-state="connected"]`, { timeout: 15000 });
  return key;
}

test('wrap-up: the form lists the call center\'s outcomes, After Call Work blocks Available, saving stores the disposition', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const session = await rest(page, 'GET', '/api/desktop/session');
  const outcomes = session.body.callCenter.resolutions;
  assert.ok(session.body.callCenter.wrapUpRequired);
  assert.ok(outcomes.length >= 2 && outcomes.includes('Resolved'), JSON.stringify(outcomes));
  const key = await answered(frame, '+12125550156'); // Diego Roel
  await frame.click(`#calls [data-key="${key}"] button[data-action=hangup]`);
  const form = `#wrapups [data-key="${key}"]`; // a selector: the form may be rebuilt as messages arrive
  await frame.waitForSelector(`${form} .badge-warn`, { timeout: 15000 });
  assert.deepEqual(await frame.$$eval(`${form} select option`, (o) => o.map((x) => x.value)), ['', ...outcomes]);
  await frame.waitForSelector(`${form} .match:has-text("Diego Roel")`);
  // After Call Work: the server put the agent there, and Available is refused until the wrap-up is saved.
  await frame.waitForSelector('#presence-dot.p-AfterCallWork', { timeout: 15000 });
  assert.equal(await frame.inputValue('#presence'), 'After Call Work');
  await frame.selectOption('#presence', 'Available');
  await frame.waitForSelector('#notice:not([hidden])');
  assert.match(await frame.textContent('#notice'), /Save the wrap-up/);
  assert.equal(await frame.inputValue('#presence'), 'After Call Work');
  const refused = await rest(page, 'PUT', '/api/agents/agent1@dialtone.demo/presence', { status: 'Available' });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body[0].errorCode, 'WRAP_UP_REQUIRED');
  // Saving without an outcome is refused in the form.
  await frame.click(`#wrapups [data-key="${key}"] button[type=submit]`);
  assert.match(await frame.textContent(`${form} .field-error`), /outcome/);
  await frame.selectOption(`#res-${key}`, 'Callback Requested');
  assert.equal(await frame.textContent(`${form} .field-error`), '', 'choosing an outcome clears the message');
  await frame.fill(`#notes-${key}`, 'Wants a call back on Friday about the invoice.');
  await screenshot(frame.locator('body'), 'softphone-wrap-up');
  await screenshot(page, 'console-wrap-up');
  await frame.click(`#wrapups [data-key="${key}"] button[type=submit]`);
  await frame.waitForSelector(`#wrapups [data-key="${key}"]`, { state: 'detached', timeout: 15000 });
  await frame.waitForSelector('#presence-dot.p-Available', { timeout: 15000 });
  const vc = await eventually(async () => { const v = await sim.voiceCall(key, 'Id, CallResolution'); return v.CallResolution && v; }, 'VoiceCall.CallResolution');
  assert.equal(vc.CallResolution, 'Callback Requested');
  const task = await eventually(async () => (await soql(sim.page, `SELECT Id, CallDisposition, Description FROM Task WHERE CallObject = '${key}'`))[0], 'the call\'s Task');
  assert.equal(task.CallDisposition, 'Callback Requested');
  assert.match(task.Description || '', /call back on Friday/);
  const recent = await frame.waitForSelector(`#recent li:has-text("Callback Requested")`, { timeout: 15000 });
  assert.ok(recent);
  // The finished call's page in the console shows the outcome.
  await go(page, `/console/r/${vc.Id}`);
  await page.waitForSelector('[data-field="CallResolution"] dd:has-text("Callback Requested")', { timeout: 15000 });
  await page.waitForSelector('#vc-task .plain-list li a');
  await screenshot(page, 'voicecall-wrapped-up');
  // The browser logs the refused PUT's 409 (WRAP_UP_REQUIRED) above; nothing else may fail.
  assert.deepEqual(page.errors.filter((e) => !/status of 409 \(Conflict\)/.test(e)), []);
  await context.close();
});

test('click-to-dial on a Contact places an outbound call related to it; Do Not Call is refused with the reason', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const [maria] = await soql(page, "SELECT Id FROM Contact WHERE LastName = 'Anders'");
  await go(page, `/console/r/${maria.Id}`);
  await page.click('[data-field="Phone"] a.c2d');
  const el = await frame.waitForSelector('#calls article.call[data-state="connected"]', { timeout: 15000 });
  const key = await el.getAttribute('data-key');
  started.add(key);
  assert.equal(await el.getAttribute('data-controls'), 'hold mute hangup transfer');
  await frame.waitForSelector(`#calls [data-key="${key}"] .match:has-text("Maria Anders")`, { timeout: 15000 });
  const vc = await eventually(async () => { const v = await sim.voiceCall(key, 'Id, CallType, RelatedRecordId, ToPhoneNumber'); return v.RelatedRecordId && v; }, 'the VoiceCall related to Maria');
  assert.equal(vc.CallType, 'Outbound');
  assert.equal(vc.RelatedRecordId, maria.Id);
  assert.equal(vc.ToPhoneNumber, '+14155550101');
  assert.equal(new URL(page.url()).pathname, `/console/r/${maria.Id}`, 'an own dial pops nothing');
  await frame.click(`#calls [data-key="${key}"] button[data-action=hangup]`);
  await card(frame, 'wrapups', key);
  await wrapUp(page, key);
  await frame.waitForSelector(`#wrapups [data-key="${key}"]`, { state: 'detached', timeout: 15000 });

  // Diego Roel asked not to be called.
  const [diego] = await soql(sim.page, "SELECT Id FROM Contact WHERE LastName = 'Roel'");
  const p = await rest(sim.page, 'PATCH', `/services/data/v60.0/sobjects/Contact/${diego.Id}`, { DoNotCall: true });
  assert.equal(p.status, 204, JSON.stringify(p.body));
  const before = (await soql(sim.page, 'SELECT Id FROM VoiceCall')).length;
  await go(page, `/console/r/${diego.Id}`);
  await page.click('[data-field="Phone"] a.c2d');
  await frame.waitForSelector('#dial-error:has-text("Do Not Call")', { timeout: 15000 });
  assert.match(await frame.textContent('#dial-error'), /Not dialled — Do Not Call: Diego Roel .* is marked Do Not Call/);
  assert.equal(await frame.$('#calls article.call'), null, 'no call');
  assert.equal((await soql(sim.page, 'SELECT Id FROM VoiceCall')).length, before, 'no VoiceCall');
  await screenshot(frame.locator('body'), 'softphone-do-not-call');
  await rest(sim.page, 'PATCH', `/services/data/v60.0/sobjects/Contact/${diego.Id}`, { DoNotCall: false });
  // The browser logs the refused dial's 400 (DO_NOT_CALL); nothing else may fail.
  assert.deepEqual(page.errors.filter((e) => !/status of 400 \(Bad Request\)/.test(e)), []);
  await context.close();
});

test('a page refresh mid-call resumes the live call in the softphone, once', async () => {
  const { context, page, frame } = await agentDesk(browser, 'agent1');
  const key = await answered(frame, '+19175550144'); // Hanna Moos's mobile
  await frame.click(`#calls [data-key="${key}"] button[data-action=hold]`);
  await frame.waitForSelector(`#calls [data-key="${key}"][data-state="held"]`, { timeout: 15000 });
  const url = page.url();
  await page.reload();
  await page.waitForSelector('body.console:not(.booting)');
  const again = await softphoneFrame(page);
  await again.waitForSelector('#conn.badge-ok', { timeout: 15000 });
  const el = await again.waitForSelector(`#calls [data-key="${key}"]`, { timeout: 15000 });
  assert.equal(await el.getAttribute('data-state'), 'held');
  assert.equal(await el.getAttribute('data-controls'), 'resume mute hangup transfer');
  assert.match(await el.$eval('.match', (e) => e.textContent), /Hanna Moos/);
  assert.equal(await again.$$eval('article.call, article.offer', (a) => a.length), 1, 'the call once, no offer again');
  assert.equal(page.url(), url, 'no second pop');
  await again.click(`#calls [data-key="${key}"] button[data-action=resume]`);
  await again.waitForSelector(`#calls [data-key="${key}"][data-state="connected"]`, { timeout: 15000 });
  await again.click(`#calls [data-key="${key}"] button[data-action=hangup]`);
  await card(again, 'wrapups', key);
  assert.equal((await sim.voiceCall(key, 'NumberOfHolds')).NumberOfHolds, 1);
  await wrapUp(page, key);
  assert.deepEqual(page.errors, []);
  await context.close();
});
