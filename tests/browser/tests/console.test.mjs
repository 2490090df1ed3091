import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openConsole, softphoneFrame, rest, soql, screenshot, eventually, go, until } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('global search finds a demo Contact by name and by phone; keyboard opens it', async () => {
  const { context, page } = await openConsole(browser, 'agent1');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'global-search', '/ focuses search');
  await page.keyboard.type('Anders');
  await page.waitForSelector('#search-results li[role=option] .sr-name');
  const names = await page.$$eval('#search-results li[role=option] .sr-name', (els) => els.map((e) => e.textContent));
  assert.ok(names.includes('Maria Anders'), `results: ${names}`);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/console\/r\/003/);
  await page.waitForSelector('#record-title');
  assert.equal(await page.textContent('#record-title'), 'Maria Anders');
  // A number written another way finds her through the phone index.
  const byPhone = await rest(page, 'GET', '/api/desktop/search?q=' + encodeURIComponent('+1 415-555-0101'));
  assert.ok(byPhone.body.results.some((r) => r.name === 'Maria Anders' && r.matchedField === 'Phone'), JSON.stringify(byPhone.body));
  // Hostile input is just text.
  const odd = await rest(page, 'GET', '/api/desktop/search?q=' + encodeURIComponent("%' OR Name != '"));
  assert.equal(odd.status, 200);
  assert.deepEqual(odd.body.results, []);
  await context.close();
});

test('a record page shows described fields, related lists and a tab', async () => {
  const { context, page } = await openConsole(browser, 'agent1');
  const [acct] = await soql(page, "SELECT Id FROM Account WHERE Name = 'Northwind Traders'");
  await go(page, `/console/r/${acct.Id}`);
  await page.waitForSelector('#record-title');
  assert.equal(await page.textContent('#record-title'), 'Northwind Traders');
  assert.equal(await page.textContent('[data-field="Industry"] dd'), 'Retail');
  assert.equal(await page.textContent('[data-field="Industry"] dt'), 'Industry', 'labels come from describe');
  assert.equal(await page.$('[data-field="PersonEmail"]'), null, 'a business account shows no person fields');
  await page.waitForSelector('[data-related="Contact"] .plain-list li');
  const contacts = await page.$$eval('[data-related="Contact"] .plain-list li a', (a) => a.map((x) => x.textContent));
  assert.deepEqual(contacts.sort(), ['Maria Anders', 'Thomas Hardy']);
  assert.match(await page.textContent('.tab[aria-selected="true"]'), /Northwind Traders/);

  const [person] = await soql(page, "SELECT Id FROM Account WHERE LastName = 'Lovelace'");
  await page.click('#global-search');
  await go(page, `/console/r/${person.Id}`);
  await page.waitForSelector('[data-field="PersonEmail"]');
  assert.equal(await page.textContent('.page-head .kind'), 'Person Account');
  assert.equal(await page.textContent('[data-field="PersonEmail"] dd'), 'ada@example.net');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('phone numbers become click-to-dial links once the adapter enables it, and deliver onClickToDial', async () => {
  const { context, page } = await openConsole(browser, 'acme');
  const frame = await softphoneFrame(page);
  await frame.waitForFunction(() => window.adapter);
  const [maria] = await soql(page, "SELECT Id, AccountId FROM Contact WHERE LastName = 'Anders'");
  await go(page, `/console/r/${maria.Id}`);
  await page.waitForSelector('[data-field="Phone"] [data-phone]');
  assert.equal(await page.$('[data-field="Phone"] a.c2d'), null, 'plain text before the adapter enables click-to-dial');
  await frame.click('#enable-c2d');
  await page.waitForSelector('[data-field="Phone"] a.c2d');
  assert.equal(await page.textContent('[data-field="Phone"] a.c2d'), '(415) 555-0101');
  assert.ok(await page.$('[data-field="MobilePhone"] a.c2d'), 'every phone field');
  await screenshot(page, 'record-page');
  await page.click('[data-field="Phone"] a.c2d');
  const ev = await eventually(() => frame.evaluate(() => window.adapter.events.find((e) => e.kind === 'onClickToDial')), 'onClickToDial in the adapter');
  assert.deepEqual(ev.data, {
    number: '(415) 555-0101', recordId: maria.Id, recordName: 'Maria Anders', objectType: 'Contact',
    personAccount: false, accountId: maria.AccountId, contactId: maria.Id,
  });
  assert.equal(new URL(page.url()).pathname, `/console/r/${maria.Id}`, 'the tel: link did not navigate');
  await frame.click('#disable-c2d');
  await until(page, () => !document.querySelector('[data-field="Phone"] a.c2d'));
  await context.close();
});

test('the VoiceCall page shows facts, timeline, transcript, recording and the Task', async () => {
  // An admin feeds a call through the real call lifecycle (POST /api/calls/events) ...
  const admin = await openConsole(browser, 'admin');
  const [agent] = await soql(admin.page, "SELECT Id FROM User WHERE Username = 'agent1@dialtone.demo'");
  const key = `BROWSER-${Date.now()}`;
  const t0 = Date.now() - 5 * 60 * 1000;
  const at = (s) => new Date(t0 + s * 1000).toISOString();
  const events = [
    { vendorCallKey: key, seq: 1, at: at(0), kind: 'initiated', direction: 'inbound', from: '+14155550101', to: '+18005550100', callCenter: 'DialtoneDemo' },
    { vendorCallKey: key, seq: 2, at: at(4), kind: 'answered', agent: agent.Id },
    { vendorCallKey: key, seq: 3, at: at(60), kind: 'held' },
    { vendorCallKey: key, seq: 4, at: at(75), kind: 'resumed' },
    // Live transcript lines (stored as the call's ConversationEntry records).
    { vendorCallKey: key, seq: 7, at: at(10), kind: 'transcript', speaker: 'customer', text: 'Hello, my internet is down.' },
    { vendorCallKey: key, seq: 8, at: at(14), kind: 'transcript', speaker: agent.Id, text: 'I can see an outage on your street.' },
    { vendorCallKey: key, seq: 5, at: at(150), kind: 'recording', recording: 'RE1', url: 'https://media.example.com/RE1.mp3', durationSeconds: 146 },
    { vendorCallKey: key, seq: 6, at: at(151), kind: 'ended', reason: 'customerDisconnect' },
  ];
  const r = await rest(admin.page, 'POST', '/api/calls/events', events);
  assert.ok(r.status < 300, JSON.stringify(r.body));
  const call = await eventually(async () => (await soql(admin.page, `SELECT Id, Name FROM VoiceCall WHERE VendorCallKey = '${key}'`))[0], 'the VoiceCall');
  const rec = await eventually(async () => (await soql(admin.page, `SELECT Id FROM VoiceCallRecording WHERE VoiceCallId = '${call.Id}'`))[0], 'the recording');
  const p = await rest(admin.page, 'PATCH', `/services/data/v60.0/sobjects/VoiceCallRecording/${rec.Id}`, { Transcript: 'Customer: My router keeps dropping the line.\nAgent: Let me check your line from here.\nCustomer: Thanks, that fixed it.' });
  assert.equal(p.status, 204, JSON.stringify(p.body));
  await admin.context.close();

  // ... and the agent who took it opens it.
  const { context, page } = await openConsole(browser, 'agent1', `/console/r/${call.Id}`);
  await page.waitForSelector('#transcript-lines li');
  assert.match(await page.textContent('#record-title'), new RegExp(call.Name));
  assert.equal(await page.textContent('[data-field="CallType"] dd'), 'Inbound');
  assert.match(await page.textContent('[data-field="RelatedRecordId"] dd'), /Maria Anders/);
  const lines = await page.$$eval('#transcript-lines li', (l) => l.map((x) => [x.className, x.lastChild.textContent]));
  assert.deepEqual(lines.slice(0, 2), [['', 'Hello, my internet is down.'], ['agent', 'I can see an outage on your street.']], JSON.stringify(lines));
  assert.deepEqual(lines[3], ['agent', 'Let me check your line from here.'], 'then the recording\'s transcript');
  const timeline = await page.textContent('#vc-timeline');
  assert.match(timeline, /Call started/);
  assert.match(timeline, /Answered/);
  assert.match(timeline, /Ended/);
  await page.waitForSelector('#vc-task .plain-list li a');
  assert.match(await page.textContent('#vc-task'), /inbound call/i);
  await page.waitForSelector('#vc-recording .plain-list li');
  await screenshot(page, 'voicecall-page');
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('an admin sees every layer on the health page; an agent has no link to it', async () => {
  const { context, page } = await openConsole(browser, 'admin');
  await page.waitForSelector('#nav-health:not([hidden]) a');
  await page.click('#nav-health a');
  await page.waitForSelector('#health-layers [data-layer="flows"]');
  for (const layer of ['store', 'telephony', 'adapters', 'routing', 'flows']) {
    const status = await page.$eval(`#health-layers [data-layer="${layer}"] .health-badge`, (e) => e.dataset.status);
    assert.ok(['ok', 'degraded'].includes(status), `${layer}: ${status}`);
  }
  assert.match(await page.textContent('#health-layers [data-layer="store"]'), /sqlite/);
  assert.match(await page.$eval('#health-stamp', (e) => e.textContent), /every 5 seconds/);
  await screenshot(page, 'console-health');
  assert.deepEqual(page.errors, []);
  await context.close();

  const agent = await openConsole(browser, 'agent1');
  assert.equal(await agent.page.$eval('#nav-health', (e) => e.hidden), true, 'no System health link for agents');
  await agent.context.close();
});

test('a supervisor watches the live queues; an agent has no such page', async () => {
  const { context, page } = await openConsole(browser, 'admin');
  await page.waitForSelector('#nav-routing:not([hidden]) a');
  await page.click('#nav-routing a');
  await page.waitForSelector('#routing-queues tr[data-queue="Support"]');
  const members = await page.$eval('#routing-queues tr[data-queue="Support"]', (tr) => Number(tr.children[6].textContent));
  assert.ok(members >= 3, `the demo's agents are all in Support: ${members}`);
  await page.waitForSelector('#routing-agents tr[data-agent="agent1@dialtone.demo"] [data-col=status]');
  assert.match(await page.$eval('#routing-stamp', (e) => e.textContent), /Updated .* every 3 seconds/);
  await screenshot(page, 'console-live-queues');
  assert.deepEqual(page.errors, []);
  await context.close();

  const agent = await openConsole(browser, 'agent1');
  assert.equal(await agent.page.$eval('#nav-routing', (e) => e.hidden), true, 'no Live queues link for agents');
  const r = await rest(agent.page, 'GET', '/api/routing/queues');
  assert.equal(r.status, 403, JSON.stringify(r.body));
  await agent.context.close();
});

test('a supervisor reads the dashboard: tiles, server-drawn charts, the SOQL behind each figure', async () => {
  const { context, page } = await openConsole(browser, 'admin');
  await page.waitForSelector('#nav-dashboard:not([hidden]) a');
  await page.click('#nav-dashboard a');
  await page.waitForSelector('#dashboard-tiles .tile[data-figure="calls"]');
  // Counted in the supervisor's own time zone (the demo users keep the default, Los Angeles) …
  await until(page, () => /America\/Los_Angeles/.test(document.querySelector('#dashboard-zone')?.textContent || ''), null, 'the user\'s zone shown');
  assert.equal(await page.inputValue('#dashboard-filters input[name=timeZone]'), 'America/Los_Angeles');
  // … or in another one, chosen in the filters.
  await page.fill('#dashboard-filters input[name=timeZone]', 'UTC');
  await page.click('#dashboard-filters button[type=submit]');
  await until(page, () => document.querySelector('#dashboard-zone')?.textContent === 'Days and hours are in UTC.' && document.querySelector('#dashboard-tiles'), null, 'the dashboard in UTC');
  const from = await page.inputValue('#dashboard-filters input[name=from]');
  const to = await page.inputValue('#dashboard-filters input[name=to]');
  const end = new Date(Date.parse(`${to}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
  const calls = await rest(page, 'GET', `/services/data/v60.0/query?q=${encodeURIComponent(`SELECT COUNT() FROM VoiceCall WHERE CallStartDateTime >= ${from}T00:00:00Z AND CallStartDateTime < ${end}T00:00:00Z`)}`);
  const shown = await page.textContent('#dashboard-tiles .tile[data-figure="calls"] .tile-value');
  assert.equal(Number(shown), calls.body.totalSize, 'the tile is the SOQL count');
  assert.ok(await page.$('#report-calls-by-hour .chart svg rect'), 'a chart drawn on the server');
  assert.ok(await page.$('#report-outcomes table'), 'and its table');
  const csv = await page.getAttribute('#report-outcomes .card-head a', 'href');
  assert.match(csv, /timeZone=UTC/, 'the CSV counts in the zone shown');
  const r = await page.evaluate(async (u) => { const res = await fetch(u); return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }; }, csv);
  assert.equal(r.status, 200);
  assert.match(r.type, /text\/csv/);
  assert.match(r.text, /^Outcome,Calls/);
  await screenshot(page, 'console-dashboard');
  // Drill-down: the first outcome's label opens the Calls list of exactly those calls.
  const first = await page.$$eval('#report-outcomes table tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
  await page.click('#report-outcomes table tbody tr:first-child td a.drill');
  await page.waitForSelector('#list-filter');
  assert.match(await page.textContent('#list-filter'), new RegExp(`Answered, abandoned, voicemail: ${first[0]}`));
  await until(page, () => /of \d+/.test(document.querySelector('.list-foot')?.textContent || ''), null, 'the list count');
  const total = await page.$eval('.list-foot', (e) => Number(e.textContent.match(/of (\d+)/)[1]));
  assert.equal(total, Number(first[1]), 'the list holds the calls the row counts');
  await screenshot(page, 'console-drill-down');
  assert.deepEqual(page.errors, []);
  await context.close();

  const agent = await openConsole(browser, 'agent1');
  assert.equal(await agent.page.$eval('#nav-dashboard', (e) => e.hidden), true, 'no dashboard for agents');
  await agent.context.close();
});

test('an admin writes a flow in the console editor: Check lists problems, Save adds it, it runs, the record shows its run', async () => {
  const { context, page } = await openConsole(browser, 'admin');
  page.on('dialog', (d) => d.accept());
  await page.waitForSelector('#nav-flows:not([hidden]) a');
  await page.click('#nav-flows a');
  await page.waitForSelector('#flows-new');
  await page.click('#flows-new');
  await page.waitForSelector('#flow-form');
  const name = `Welcome task ${Date.now()}`;
  await page.fill('#flow-name', name);
  await page.fill('#flow-object', 'Contact');
  await page.dispatchEvent('#flow-object', 'change');
  await page.selectOption('#flow-when', 'created');
  assert.equal(await page.isVisible('#flow-field'), false, 'the changed-to inputs only for "When a field changes to"');
  assert.equal(await page.isVisible('#flow-th-count'), false, 'the threshold inputs only for alerts');
  await page.fill('#flow-condition', "Title = 'Browser");
  await page.fill('#flow-actions .flow-field-value', 'Welcome {!LastName}');
  await page.click('#flow-check');
  await page.waitForSelector('#flow-problems .notice-error');
  assert.match(await page.textContent('#flow-problems'), /condition/i, 'the problem names the condition');
  assert.deepEqual(page.errors.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)'], 'only the refused check');

  await page.fill('#flow-condition', "Title = 'Browser test'");
  await page.click('#flow-check');
  await page.waitForSelector('#flow-problems .notice-ok');
  await screenshot(page, 'console-flow-editor');
  await page.click('#flow-save');
  await page.waitForSelector(`#flows-list tr[data-flow="${name}"]`);
  assert.equal(await page.$('#flow-form'), null, 'the editor closed once saved');

  // The flow runs on the next Contact an agent creates, and the agent sees the run on the Contact.
  const agent = await openConsole(browser, 'agent1');
  assert.equal(await agent.page.$eval('#nav-flows', (e) => e.hidden), true, 'no Flows link for agents');
  const last = `Browserflow${Date.now()}`;
  const made = await rest(agent.page, 'POST', '/services/data/v60.0/sobjects/Contact', { LastName: last, Title: 'Browser test' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const tasks = await eventually(async () => {
    const rows = await soql(page, `SELECT Id, WhoId FROM Task WHERE Subject = 'Welcome ${last}'`);
    return rows.length ? rows : null;
  }, 'the Task the flow creates');
  assert.equal(tasks.length, 1, 'exactly once');
  await go(agent.page, `/console/r/${made.body.id}`);
  await agent.page.waitForSelector('#record-runs tr[data-status="Succeeded"]');
  assert.match(await agent.page.textContent('#record-runs'), new RegExp(name));
  assert.deepEqual(agent.page.errors, []);
  await agent.context.close();

  // Edit: switch it off; then delete it.
  await page.click(`#flows-list tr[data-flow="${name}"] button`);
  await page.waitForSelector('#flow-form');
  assert.equal(await page.inputValue('#flow-condition'), "Title = 'Browser test'", 'the editor opens with the saved flow');
  await page.uncheck('#flow-active');
  await page.click('#flow-save');
  await until(page, (n) => document.querySelector(`#flows-list tr[data-flow="${n}"]`)?.children[6]?.textContent === 'No', name, 'the flow shown inactive');
  await page.click(`#flows-list tr[data-flow="${name}"] button`);
  await page.waitForSelector('#flow-delete');
  await page.click('#flow-delete');
  await until(page, (n) => !document.querySelector(`#flows-list tr[data-flow="${n}"]`), name, 'the flow gone from the list');
  assert.deepEqual(page.errors, []);
  await context.close();
});
