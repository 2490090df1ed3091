// Acceptance tests: the real, unmodified npm `jsforce` package against a
// running dialtone server. Run through tests/clients/run.sh, which starts the
// server and sets DIALTONE_URL (plain http), DIALTONE_HTTPS_URL, DIALTONE_USER,
// DIALTONE_PASSWORD, DIALTONE_CLIENT_ID, DIALTONE_CLIENT_SECRET and
// NODE_EXTRA_CA_CERTS (the server's self-signed certificate).
//
// Login: jsforce's Connection#login(username, password) uses the OAuth 2.0
// username-password flow when oauth2.clientId and clientSecret are set: it
// POSTs grant_type=password to `${loginUrl}/services/oauth2/token`, then takes
// instanceUrl from `instance_url` and the user/org ids from the last two path
// segments of `id`. jsforce accepts any loginUrl, http included, so the main
// connection uses the http port and one test logs in over https too.
//
// jsforce is pinned to 3.10.16: the newest 3.x releases (3.10.19 and later)
// need Node >= 22 (their undici 8 does not load on Node 20, the version this
// machine and CI have); 3.10.16 is the last 3.x with engines ">=18".

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import jsforce from 'jsforce';

const VERSION = '60.0';
const BULK_ROWS = 2100; // > 2000, the default query batch size: paging must happen

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `environment variable ${name} is not set: run these tests through tests/clients/run.sh`,
    );
  }
  return value;
}

const tag = `js${randomBytes(5).toString('hex')}`;

const CONTACTS = [
  ['Alice', '+1 (415) 555-0100'],
  ['Bob', '415.555.0101'],
  ['Carol', '(415) 555-0102'],
  ['Dave', '+14155550103'],
  ['Erin', '+44 20 7946 0958'],
  ['Frank', '415-555-0105'],
];
const LEADS = [
  ['Gina', '(212) 555-0110', 'Web'],
  ['Hank', '212.555.0111', 'Web'],
  ['Ivy', '+1 212 555 0112', 'Web'],
  ['Jack', '2125550113', 'Phone Inquiry'],
  ['Kim', '+1-212-555-0114', 'Phone Inquiry'],
  ['Liam', '+33 1 42 68 53 00', 'Partner Referral'],
];

function assertCreated(res) {
  assert.equal(res.success, true, JSON.stringify(res));
  assert.deepEqual(res.errors, [], JSON.stringify(res));
  assert.ok(typeof res.id === 'string' && res.id.length > 0, JSON.stringify(res));
  return res.id;
}

/** Expect `promise` to reject with a Salesforce REST error of `errorCode`. */
async function rejectsWith(promise, errorCode) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.errorCode, errorCode, `${err.name}: ${err.message}`);
    return true;
  });
}

describe('jsforce against dialtone', { timeout: 300_000 }, () => {
  let cfg;
  let conn;
  let userInfo;
  const contactIds = {};
  const leadIds = {};

  function newConnection(loginUrl = cfg.url) {
    return new jsforce.Connection({
      oauth2: { loginUrl, clientId: cfg.clientId, clientSecret: cfg.clientSecret },
      version: VERSION,
    });
  }

  before(async () => {
    cfg = {
      url: env('DIALTONE_URL').replace(/\/$/, ''),
      httpsUrl: env('DIALTONE_HTTPS_URL').replace(/\/$/, ''),
      user: env('DIALTONE_USER'),
      password: env('DIALTONE_PASSWORD'),
      clientId: env('DIALTONE_CLIENT_ID'),
      clientSecret: env('DIALTONE_CLIENT_SECRET'),
    };
    conn = newConnection();
    userInfo = await conn.login(cfg.user, cfg.password);

    // Contacts one at a time (POST sobjects/Contact) ...
    for (const [first, phone] of CONTACTS) {
      const res = await conn.sobject('Contact').create({
        FirstName: first,
        LastName: tag,
        Phone: phone,
        Email: `${first.toLowerCase()}.${tag}@example.com`,
      });
      contactIds[first] = assertCreated(res);
    }
    // ... Leads as an array, which jsforce sends to composite/sobjects.
    const results = await conn.sobject('Lead').create(
      LEADS.map(([first, phone, source]) => ({
        FirstName: first,
        LastName: tag,
        Company: `Co-${tag}`,
        Phone: phone,
        LeadSource: source,
        Status: 'Open - Not Contacted',
      })),
      { allOrNone: true },
    );
    assert.equal(results.length, LEADS.length);
    LEADS.forEach(([first], i) => {
      leadIds[first] = assertCreated(results[i]);
    });
  });

  // ------------------------------------------------------------------ login

  test('login with the OAuth2 password grant sets instance URL, token and user info', () => {
    assert.ok(conn.accessToken, 'access token');
    assert.equal(conn.instanceUrl, cfg.url, 'instance_url must be the origin logged in to');
    assert.ok(userInfo.id, 'user id from the token response id URL');
    assert.ok(userInfo.organizationId, 'org id from the token response id URL');
    assert.ok(userInfo.url.includes(userInfo.id));
  });

  test('login over https trusting the self-signed certificate', async () => {
    const secure = newConnection(cfg.httpsUrl);
    await secure.login(cfg.user, cfg.password);
    assert.equal(secure.instanceUrl, cfg.httpsUrl);
    const res = await secure.query(`SELECT Id FROM Contact WHERE LastName = '${tag}'`);
    assert.equal(res.totalSize, CONTACTS.length);
  });

  test('wrong password fails login', async () => {
    await assert.rejects(newConnection().login(cfg.user, `${cfg.password}-wrong`), (err) => {
      assert.equal(err.name, 'invalid_grant', err.message);
      return true;
    });
  });

  test('a bogus access token gives INVALID_SESSION_ID', async () => {
    const bogus = new jsforce.Connection({
      instanceUrl: cfg.url,
      accessToken: '00Dbogus!notatoken',
      version: VERSION,
    });
    await rejectsWith(bogus.query('SELECT Id FROM Contact LIMIT 1'), 'INVALID_SESSION_ID');
  });

  test('an expired session is renewed with the refresh token grant', { timeout: 60_000 }, async () => {
    const tok = await conn.oauth2.authenticate(cfg.user, cfg.password);
    assert.ok(tok.refresh_token, 'password grant returns a refresh_token');
    const stale = new jsforce.Connection({
      oauth2: { loginUrl: cfg.url, clientId: cfg.clientId, clientSecret: cfg.clientSecret },
      instanceUrl: tok.instance_url,
      accessToken: 'expired-or-revoked-token',
      refreshToken: tok.refresh_token,
      version: VERSION,
    });
    let refreshed = null;
    stale.on('refresh', (accessToken) => {
      refreshed = accessToken;
    });
    // 401 INVALID_SESSION_ID -> jsforce posts grant_type=refresh_token -> retries
    const res = await stale.query(`SELECT Id FROM Contact WHERE LastName = '${tag}'`);
    assert.equal(res.totalSize, CONTACTS.length);
    assert.ok(refreshed, 'jsforce refreshed the session');
    assert.equal(stale.accessToken, refreshed);
  });

  // ------------------------------------------------------------ create/read

  test('describeGlobal lists the standard objects', async () => {
    const res = await conn.describeGlobal();
    const names = new Set(res.sobjects.map((o) => o.name));
    for (const name of ['Account', 'Contact', 'Lead', 'Case']) {
      assert.ok(names.has(name), `describeGlobal lacks ${name}`);
    }
  });

  test('describe Lead', async () => {
    const desc = await conn.sobject('Lead').describe();
    assert.equal(desc.name, 'Lead');
    const fields = new Map(desc.fields.map((f) => [f.name, f]));
    for (const name of ['Id', 'FirstName', 'LastName', 'Company', 'Phone', 'LeadSource', 'Status']) {
      assert.ok(fields.has(name), `Lead describe lacks ${name}`);
    }
    assert.equal(fields.get('Phone').type, 'phone');
  });

  test('retrieve returns what was created, phones as written', async () => {
    for (const [first, phone] of CONTACTS) {
      const rec = await conn.sobject('Contact').retrieve(contactIds[first]);
      assert.equal(rec.Id, contactIds[first]);
      assert.equal(rec.attributes.type, 'Contact');
      assert.ok(rec.attributes.url.endsWith(`/sobjects/Contact/${rec.Id}`), rec.attributes.url);
      assert.equal(rec.FirstName, first);
      assert.equal(rec.LastName, tag);
      assert.equal(rec.Phone, phone);
    }
    for (const [first, phone, source] of LEADS) {
      const rec = await conn.sobject('Lead').retrieve(leadIds[first]);
      assert.equal(rec.Company, `Co-${tag}`);
      assert.equal(rec.Phone, phone);
      assert.equal(rec.LeadSource, source);
    }
  });

  test('required field missing', async () => {
    await assert.rejects(conn.sobject('Lead').create({ FirstName: 'NoCompany', LastName: tag }), (err) => {
      assert.equal(err.errorCode, 'REQUIRED_FIELD_MISSING', err.message);
      assert.ok((err.data?.fields ?? []).includes('Company'), JSON.stringify(err.data));
      return true;
    });
  });

  // ------------------------------------------------------------------ query

  test('query with WHERE, ORDER BY and LIMIT', async () => {
    const res = await conn.query(
      `SELECT Id, FirstName, Phone FROM Contact WHERE LastName = '${tag}' ORDER BY FirstName DESC LIMIT 3`,
    );
    assert.equal(res.done, true);
    assert.equal(res.totalSize, 3);
    assert.deepEqual(
      res.records.map((r) => r.FirstName),
      ['Frank', 'Erin', 'Dave'],
    );
    for (const r of res.records) {
      assert.equal(r.attributes.type, 'Contact');
      assert.equal(r.Id, contactIds[r.FirstName]);
    }
  });

  test('query built by find().sort().limit()', async () => {
    const recs = await conn
      .sobject('Contact')
      .find({ LastName: tag, Phone: { $ne: null } }, ['Id', 'FirstName'])
      .sort({ FirstName: 1 })
      .limit(2);
    assert.deepEqual(
      recs.map((r) => r.FirstName),
      ['Alice', 'Bob'],
    );
  });

  test('query by a phone as written', async () => {
    const res = await conn.query(
      `SELECT Id FROM Contact WHERE LastName = '${tag}' AND Phone = '+44 20 7946 0958'`,
    );
    assert.deepEqual(
      res.records.map((r) => r.Id),
      [contactIds.Erin],
    );
  });

  test('count() (SELECT count() ...)', async () => {
    const n = await conn.sobject('Contact').count({ LastName: tag });
    assert.equal(n, CONTACTS.length);
  });

  test('aggregate with GROUP BY', async () => {
    const res = await conn.query(
      `SELECT LeadSource, COUNT(Id) cnt FROM Lead WHERE Company = 'Co-${tag}' GROUP BY LeadSource`,
    );
    const bySource = {};
    for (const r of res.records) {
      assert.equal(r.attributes.type, 'AggregateResult');
      bySource[r.LeadSource] = r.cnt;
    }
    assert.deepEqual(bySource, { Web: 3, 'Phone Inquiry': 2, 'Partner Referral': 1 });

    const plain = await conn.query(`SELECT COUNT(Id) FROM Lead WHERE Company = 'Co-${tag}'`);
    assert.equal(plain.records[0].expr0, LEADS.length);
  });

  test(`autoFetch pages through ${BULK_ROWS} rows with nextRecordsUrl`, { timeout: 240_000 }, async () => {
    const company = `Bulk-${tag}`;
    const records = Array.from({ length: BULK_ROWS }, (_, i) => ({
      FirstName: `B${String(i).padStart(5, '0')}`,
      LastName: tag,
      Company: company,
      Phone: `+1 212 555 ${String(i).padStart(4, '0')}`,
    }));
    // jsforce splits arrays into composite/sobjects calls of 200 records
    const results = await conn
      .sobject('Lead')
      .create(records, { allOrNone: true, allowRecursive: true });
    assert.equal(results.length, BULK_ROWS);
    const ids = new Set(results.map(assertCreated));
    assert.equal(ids.size, BULK_ROWS);

    const soql = `SELECT Id, FirstName FROM Lead WHERE Company = '${company}'`;
    const first = await conn.query(soql); // no autoFetch: one page
    assert.equal(first.totalSize, BULK_ROWS);
    assert.equal(first.done, false, 'more than 2000 rows must come in more than one page');
    assert.ok(first.records.length > 0 && first.records.length < BULK_ROWS);
    // jsforce keeps only the last path segment of nextRecordsUrl (the locator)
    // and rebuilds `${instanceUrl}/services/data/vXX.X/query/${locator}`.
    assert.match(first.nextRecordsUrl, new RegExp(`/services/data/v${VERSION}/query/[^/]+$`));

    const more = await conn.queryMore(first.nextRecordsUrl);
    assert.ok(more.records.length > 0);

    const all = await conn.query(soql).run({ autoFetch: true, maxFetch: 10_000 });
    assert.equal(all.records.length, BULK_ROWS);
    assert.deepEqual(new Set(all.records.map((r) => r.Id)), ids);
  });

  // ---------------------------------------------------------- update/delete

  test('update then retrieve', async () => {
    const id = assertCreated(
      await conn.sobject('Contact').create({ FirstName: 'Upd', LastName: `${tag}-upd`, Phone: '415 555 0170' }),
    );
    const res = await conn.sobject('Contact').update({ Id: id, Phone: '+1 415-555-0171', MobilePhone: '(415) 555-0172' });
    assert.equal(res.success, true);
    assert.equal(res.id, id);
    const rec = await conn.sobject('Contact').retrieve(id);
    assert.equal(rec.Phone, '+1 415-555-0171');
    assert.equal(rec.MobilePhone, '(415) 555-0172');
    assert.equal(rec.FirstName, 'Upd');
  });

  test('destroy then retrieve is NOT_FOUND', async () => {
    const id = assertCreated(await conn.sobject('Contact').create({ FirstName: 'Del', LastName: `${tag}-del` }));
    const res = await conn.sobject('Contact').destroy(id);
    assert.equal(res.success, true);
    await rejectsWith(conn.sobject('Contact').retrieve(id), 'NOT_FOUND');
    const q = await conn.query(`SELECT Id FROM Contact WHERE Id = '${id}'`);
    assert.equal(q.totalSize, 0);
  });

  // ----------------------------------------------------------------- errors

  test('malformed SOQL is MALFORMED_QUERY', async () => {
    await rejectsWith(conn.query('SELEC Id FROM Contact'), 'MALFORMED_QUERY');
  });

  test('unknown field is INVALID_FIELD', async () => {
    await rejectsWith(conn.query('SELECT Id, NoSuchField__c FROM Contact'), 'INVALID_FIELD');
  });
});
