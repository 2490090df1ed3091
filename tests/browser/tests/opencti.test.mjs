// The third-party adapter (another origin) using Open CTI as Salesforce adapters do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openConsole, adapterFrame, cti, soql, rest, screenshot, eventually, go, until } from './harness.mjs';

let browser, page, context, frame, maria;
before(async () => {
  browser = await launch();
  ({ context, page } = await openConsole(browser, 'acme'));
  frame = await adapterFrame(page);
  [maria] = await soql(page, "SELECT Id, Name, AccountId FROM Contact WHERE LastName = 'Anders'");
});
after(async () => { await context?.close(); await browser?.close(); });

test('the adapter runs on its own origin inside the sandboxed panel', async () => {
  assert.equal(new URL(frame.url()).origin, env.adapterBase);
  const sandbox = await page.getAttribute('#softphone-frame', 'sandbox');
  assert.equal(sandbox, 'allow-scripts allow-same-origin allow-forms allow-popups');
  await until(page, () => document.getElementById('softphone-state').textContent === 'Ready');
  const box = await page.$eval('#softphone-panel', (e) => e.getBoundingClientRect().width);
  assert.equal(box, 300, 'reqSoftphoneWidth');
});

test('getCallCenterSettings returns the definition keyed /section/item', async () => {
  const r = await cti(frame, 'getCallCenterSettings');
  assert.equal(r.success, true);
  assert.equal(r.returnValue['/reqGeneralInfo/reqInternalName'], 'AcmeCti');
  assert.equal(r.returnValue['/reqGeneralInfo/reqAdapterUrl'], `${env.adapterBase}/index.html`);
  assert.equal(r.returnValue['/acmeSettings/acmeRegion'], 'eu-west', 'vendor sections too');
  assert.equal(r.errors, null);
});

test('screenPop SOBJECT opens the record and onNavigationChange reports it', async () => {
  const r = await cti(frame, 'screenPop', { type: 'sobject', params: { recordId: maria.Id } });
  assert.deepEqual(r, { success: true, returnValue: null, errors: null });
  await page.waitForURL(new RegExp(`/console/r/${maria.Id}$`));
  await until(page, () => document.getElementById('record-title')?.textContent === 'Maria Anders');
  const nav = await eventually(() => frame.evaluate((id) => window.adapter.events.filter((e) => e.kind === 'onNavigationChange').map((e) => e.data).find((d) => d.recordId === id), maria.Id), 'onNavigationChange');
  assert.equal(nav.objectType, 'Contact');
  assert.equal(nav.recordName, 'Maria Anders');
  assert.equal(nav.accountId, maria.AccountId);
  assert.equal(nav.contactId, maria.Id);
  assert.equal(nav.personAccount, false);
  const info = await cti(frame, 'getAppViewInfo');
  assert.equal(info.returnValue.recordId, maria.Id);
  assert.match(info.returnValue.url, new RegExp(`/console/r/${maria.Id}$`));
});

test('screenPop NEW_RECORD_MODAL opens a form with the default field values', async () => {
  const r = await cti(frame, 'screenPop', { type: 'newRecord', params: { entityName: 'Contact', defaultFieldValues: { LastName: 'Caller', Phone: '+14155550199', NoSuchField__c: 'x' } } });
  assert.equal(r.success, true, JSON.stringify(r));
  await page.waitForSelector('[data-modal="new-Contact"]');
  assert.equal(await page.inputValue('#f-LastName'), 'Caller');
  assert.equal(await page.inputValue('#f-Phone'), '+14155550199');
  assert.match(await page.textContent('[data-modal="new-Contact"] .form-top'), /NoSuchField__c/);
  await page.fill('#f-FirstName', 'Casey');
  await page.click('[data-modal="new-Contact"] button[type=submit]');
  await page.waitForURL(/\/console\/r\/003/);
  await until(page, () => document.getElementById('record-title')?.textContent === 'Casey Caller');
});

test('malformed arguments are refused with a clear error', async () => {
  const noType = await cti(frame, 'screenPop', { params: { recordId: maria.Id } });
  assert.equal(noType.success, false);
  assert.equal(noType.errors[0].code, 'INVALID_ARGUMENTS');
  assert.match(noType.errors[0].description, /type must be one of/);
  const badId = await cti(frame, 'screenPop', { type: 'sobject', params: { recordId: 'nope' } });
  assert.match(badId.errors[0].description, /recordId/);
  const noCallType = await cti(frame, 'searchAndScreenPop', { searchParams: '4155550101' });
  assert.equal(noCallType.success, false);
  assert.match(noCallType.errors[0].description, /callType is required/);
  const height = await cti(frame, 'setSoftphonePanelHeight', { heightPX: 'tall' });
  assert.equal(height.errors[0].code, 'INVALID_ARGUMENTS');
  const thrown = await frame.evaluate(() => { try { window.sforce.opencti.screenPop('sobject'); return null; } catch (e) { return e.message; } });
  assert.match(thrown, /takes one object argument/);
  // The console reports what it refused, so the adapter-errors report counts it.
  const logged = await eventually(async () => {
    const rows = await soql(page, "SELECT Method FROM AdapterErrorLog WHERE Code = 'INVALID_ARGUMENTS'");
    return rows.length >= 4 && rows;
  }, 'the refused calls stored as adapter errors');
  assert.ok(logged.some((r) => r.Method === 'setSoftphonePanelHeight'), JSON.stringify(logged));
});

test('saveLog creates a Task with the user\'s access, and updates it by Id', async () => {
  const r = await cti(frame, 'saveLog', { value: { entityApiName: 'Task', Subject: 'Logged by Acme', Status: 'Completed', TaskSubtype: 'Call', WhoId: maria.Id } });
  assert.equal(r.success, true, JSON.stringify(r));
  const id = r.returnValue.recordId;
  assert.match(id, /^00T/);
  const u = await cti(frame, 'saveLog', { value: { Id: id, Description: 'Customer asked for a callback' } });
  assert.equal(u.success, true, JSON.stringify(u));
  const [task] = await soql(page, `SELECT Subject, WhoId, Description, OwnerId FROM Task WHERE Id = '${id}'`);
  assert.equal(task.Subject, 'Logged by Acme');
  assert.equal(task.WhoId, maria.Id);
  assert.equal(task.Description, 'Customer asked for a callback');
  const bad = await cti(frame, 'saveLog', { value: { entityApiName: 'Task', Subject: 'x', TaskSubtype: 'Nonsense' } });
  assert.equal(bad.success, false);
  assert.equal(bad.errors[0].code, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', JSON.stringify(bad));
});

test('searchAndScreenPop deferred returns the matches and what to pop, without popping', async () => {
  await cti(frame, 'screenPop', { type: 'objecthome', params: { scope: 'Lead' } });
  await page.waitForURL(/\/console\/list\/Lead$/);
  const r = await cti(frame, 'searchAndScreenPop', { searchParams: '(415) 555-0101', callType: 'inbound', deferred: true });
  assert.equal(r.success, true, JSON.stringify(r));
  assert.equal(r.returnValue[maria.Id].Name, 'Maria Anders');
  assert.equal(r.returnValue[maria.Id].RecordType, 'Contact');
  assert.deepEqual(r.returnValue.SCREEN_POP_DATA, { type: 'sobject', params: { recordId: maria.Id } });
  await new Promise((res) => setTimeout(res, 300));
  assert.match(page.url(), /\/console\/list\/Lead$/, 'deferred: no pop');
  const none = await cti(frame, 'searchAndScreenPop', { searchParams: '+1 202 555 0188', callType: 'inbound', deferred: true });
  assert.equal(none.returnValue.SCREEN_POP_DATA.type, 'newRecord');
  assert.equal(none.returnValue.SCREEN_POP_DATA.params.entityName, 'Contact');
  // Not deferred: it pops.
  await cti(frame, 'searchAndScreenPop', { searchParams: '(415) 555-0101', callType: 'inbound' });
  await page.waitForURL(new RegExp(`/console/r/${maria.Id}$`));
});

test('panel label, icon, size and visibility are the adapter\'s to set', async () => {
  assert.equal((await cti(frame, 'setSoftphonePanelLabel', { label: 'Acme Phone' })).success, true);
  assert.equal(await page.textContent('#softphone-label'), 'Acme Phone');
  await cti(frame, 'setSoftphoneItemLabel', { label: 'Acme' });
  assert.equal(await page.textContent('#phone-item-label'), 'Acme');
  await cti(frame, 'setSoftphonePanelWidth', { widthPX: 340 });
  assert.equal(await page.$eval('#softphone-panel', (e) => e.getBoundingClientRect().width), 340);
  await cti(frame, 'setSoftphonePanelVisibility', { visible: false });
  assert.equal((await cti(frame, 'isSoftphonePanelVisible')).returnValue.visible, false);
  assert.equal(await page.isVisible('#softphone-panel'), false);
  await page.click('#phone-item');
  assert.equal((await cti(frame, 'isSoftphonePanelVisible')).returnValue.visible, true);
  const layout = await cti(frame, 'getSoftphoneLayout');
  assert.equal(layout.success, true);
  assert.ok(layout.returnValue.Inbound.objects.Contact, JSON.stringify(layout));
});

test('runApex runs a registered server action; an unknown one is an error', async () => {
  const r = await cti(frame, 'runApex', { apexClass: 'DialtoneLookup', methodName: 'findByPhone', methodParams: 'number=4155550101' });
  assert.equal(r.success, true, JSON.stringify(r));
  assert.ok(r.returnValue.runApex.records.some((x) => x.id === maria.Id));
  const u = await cti(frame, 'runApex', { apexClass: 'NoSuch', methodName: 'thing', methodParams: '' });
  assert.equal(u.success, false);
  assert.equal(u.errors[0].code, 'UNKNOWN_ACTION');
});

test('a postMessage from a window other than the softphone frame is ignored', async () => {
  const before = await page.evaluate(() => window.dialtoneConsole.stats.rejected);
  const [lead] = await soql(page, "SELECT Id FROM Lead WHERE LastName = 'Wong'");
  const path = new URL(page.url()).pathname;
  await page.evaluate((id) => window.postMessage({ dtOpenCti: 1, id: 1, method: 'screenPop', args: { type: 'sobject', params: { recordId: id } } }, '*'), lead.Id);
  await eventually(() => page.evaluate((b) => window.dialtoneConsole.stats.rejected > b, before), 'the rejection');
  assert.equal(new URL(page.url()).pathname, path, 'no pop');
  await screenshot(page, 'console-third-party-adapter');
});

test('unknown methods and the CSP: the adapter\'s origin is the only extra frame source', async () => {
  const csp = await page.evaluate(async () => (await fetch('/console')).headers.get('content-security-policy'));
  assert.match(csp, new RegExp(`frame-src 'self' ${env.adapterBase.replace(/[.]/g, '\\.')}`));
  assert.doesNotMatch(csp, /unsafe-inline/);
  const r = await rest(page, 'GET', '/api/desktop/actions');
  assert.ok(r.body.actions.some((a) => a.name === 'DialtoneLookup.findByPhone'));
});
