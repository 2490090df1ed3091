import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openConsole, adapterFrame, go, until } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an adapter that never calls notifyInitializationComplete is replaced by the standby URL', async () => {
  const { context, page } = await openConsole(browser, 'failover');
  const first = await adapterFrame(page, { role: 'adapter' });
  assert.match(first.url(), /noinit=1/);
  // reqTimeout is 1500 ms.
  const standby = await adapterFrame(page, { role: 'standby', timeout: 6000 });
  assert.equal(new URL(standby.url()).searchParams.get('role'), 'standby');
  assert.equal(new URL(standby.url()).origin, env.adapterBase);
  await until(page, () => document.getElementById('softphone-state').textContent === 'Standby');
  // The standby is a working adapter: the bridge answers it.
  const r = await standby.evaluate(() => window.adapter.call('getCallCenterSettings'));
  assert.equal(r.returnValue['/reqGeneralInfo/reqInternalName'], 'AcmeFailover');
  await context.close();
});
