// An inbound call from a real INVITE: sipp plays the carrier (uac_hold.xml from
// the Contact's number) against `dialtone serve --sip`, the SIP edge routes it to
// agent1 (Available in the console) and rings their desk phone (a sipp UAS), and
// the console pops the Contact from the offer (docs/DESKTOP.md §2). The second
// server run.sh starts for this; see sipEnv in harness.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, agentDesk, sipEnv, soql, rest, screenshot, until, eventually, go } from './harness.mjs';

let browser, dir;
const procs = [];
before(async () => { browser = await launch(); dir = await mkdtemp(join(tmpdir(), 'dialtone-sipp-')); });
after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill();
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A scenario of crates/dialtone/tests/sip with text replaced, written to the temp dir. */
async function scenario(name, replace) {
  let text = await readFile(join(sipEnv.scenarios, name), 'utf8');
  for (const [from, to] of replace) {
    assert.ok(text.includes(from), `${name} has no ${from}`);
    text = text.split(from).join(to);
  }
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Starts sipp; resolves {code, out} when it exits. */
function sipp(args) {
  const all = [...args, '-nostdin', '-i', '127.0.0.1', '-timeout_error', '-timeout', '60s'];
  const p = spawn('sipp', all, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let out = '';
  p.stdout.on('data', (d) => { out = (out + d).slice(-20000); });
  p.stderr.on('data', (d) => { out = (out + d).slice(-20000); });
  p.done = new Promise((resolve) => p.on('exit', (code) => resolve({ code, out: `sipp ${all.join(' ')}\n${out}` })));
  return p;
}

test('a real INVITE from a Contact\'s number rings agent1\'s desk phone and pops the Contact', async () => {
  assert.ok(sipEnv, 'sipp is not installed (apt-get install -y sip-tester), so run.sh started no SIP server');
  const { context, page, frame } = await agentDesk(browser, 'agent1', '/console', { server: sipEnv });
  const [maria] = await soql(page, "SELECT Id FROM Contact WHERE LastName = 'Anders'");
  // The desk phone rings for a while before it answers, so the offer can be seen.
  const uas = await scenario('uas_agent.xml', [['Content-Length: 0\n\n    ]]>\n  </send>\n  <send retrans="500">', 'Content-Length: 0\n\n    ]]>\n  </send>\n  <pause milliseconds="6000"/>\n  <send retrans="500">']]);
  const phone = sipp(['-sf', uas, '-p', String(sipEnv.phonePort), '-m', '1']);
  const uac = await scenario('uac_hold.xml', [['sip:+1415555[call_number]@', 'sip:+14155550101@']]);
  const carrier = sipp([sipEnv.sipAddr, '-sf', uac, '-s', 'support', '-m', '1']);

  const offer = await frame.waitForSelector('#offers article.offer', { timeout: 20000 });
  const key = await offer.getAttribute('data-key');
  assert.equal(await offer.$eval('.number', (e) => e.textContent), '+1 (415) 555-0101');
  await frame.waitForSelector(`#offers [data-key="${key}"] .match button`, { timeout: 10000 });
  assert.match(await offer.$eval('.match', (e) => e.textContent), /Contact · Maria Anders/);
  // A SIP call is answered on the desk phone: no Accept button.
  assert.equal(await offer.$('button[data-action=accept]'), null);
  assert.match(await offer.textContent(), /Answer on your desk phone/);
  await page.waitForURL((u) => u.pathname === `/console/r/${maria.Id}`, { timeout: 15000 });
  await until(page, () => document.getElementById('record-title')?.textContent === 'Maria Anders', undefined, 'the popped Contact');
  await screenshot(page, 'console-incoming-sip-call');

  // The phone answers, the caller holds, resumes and hangs up: the wrap-up follows.
  const c = await carrier.done;
  assert.equal(c.code, 0, c.out);
  await frame.waitForSelector(`#wrapups [data-key="${key}"]`, { timeout: 20000 });
  const vc = await eventually(async () => {
    const [v] = await soql(page, `SELECT Id, VendorType, CallType, FromPhoneNumber, RelatedRecordId, NumberOfHolds, ScreenPopOutcome, CallEndDateTime FROM VoiceCall WHERE VendorCallKey = '${key}'`);
    return v?.CallEndDateTime && v;
  }, 'the ended SIP VoiceCall', 20000);
  assert.deepEqual([vc.CallType, vc.FromPhoneNumber, vc.RelatedRecordId, vc.NumberOfHolds, vc.ScreenPopOutcome], ['Inbound', '+14155550101', maria.Id, 1, 'Matched'], JSON.stringify(vc));
  const w = await rest(page, 'POST', `/api/desktop/calls/${encodeURIComponent(key)}/wrapup`, { resolution: 'Resolved' });
  assert.equal(w.status, 202, JSON.stringify(w.body));
  // Why agent1? The VoiceCall page's Routing card answers from the stored decision.
  await go(page, `/console/r/${vc.Id}`);
  await page.waitForSelector('#vc-routing #routing-candidates tr[data-verdict=chosen]', { timeout: 10000 });
  assert.equal(await page.$eval('#vc-routing tr[data-verdict=chosen]', (e) => e.dataset.agent), 'agent1@dialtone.demo');
  assert.match(await page.$eval('#routing-state dd', (e) => e.textContent), /Answered · agent1@dialtone\.demo/);
  assert.equal(await page.$eval('#routing-queue dd', (e) => e.textContent), 'Support');
  assert.match(await page.$eval('#routing-rule dd', (e) => e.textContent), /longest idle/);
  await page.$eval('#vc-routing', (e) => e.scrollIntoView());
  await screenshot(page, 'voicecall-routing-decision');
  const p = await phone.done;
  assert.equal(p.code, 0, p.out);
  assert.deepEqual(page.errors, []);
  await context.close();
});
