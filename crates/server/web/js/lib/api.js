// The REST client of the console and the softphone: same-origin, the
// console's session cookie, and the CSRF header on every write.

export const API_VERSION = 'v60.0';
export const DATA = `/services/data/${API_VERSION}`;

let csrfToken = null;

/** Set once from GET /api/desktop/session. */
export function setCsrfToken(t) { csrfToken = t; }

/** An error from Dialtone: the first errorCode and message of its body. */
export class ApiError extends Error {
  constructor(status, code, message, fields = [], body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.body = body;
  }
}

async function parse(res) {
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

/** fetch + JSON + errors (`raw`: the body is sent as the text it is). A 401 sends the page to the sign-in page. */
export async function request(method, path, body, { signal, redirectOn401 = true, headers: extra = {}, raw = false } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = raw ? 'text/plain; charset=utf-8' : 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined || raw ? body : JSON.stringify(body), credentials: 'same-origin', signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'Dialtone could not be reached. Check the connection and try again.');
  }
  const data = await parse(res);
  if (!res.ok) {
    const first = Array.isArray(data) ? data[0] : data;
    const code = first?.errorCode || first?.error || `HTTP_${res.status}`;
    const message = first?.message || first?.error_description || `${res.status} ${res.statusText}`;
    if (res.status === 401 && redirectOn401 && top === self) {
      location.assign(`/console/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    throw new ApiError(res.status, code, message, first?.fields || [], data);
  }
  return data;
}

export const get = (p, o) => request('GET', p, undefined, o);
export const post = (p, b, o) => request('POST', p, b === undefined ? {} : b, o);
export const patch = (p, b, o) => request('PATCH', p, b, o);
export const put = (p, b, o) => request('PUT', p, b, o);

/** SOQL through /query; `nextRecordsUrl` pages come from `more`. */
export const query = (soql, o = {}) => get(`${DATA}/query?q=${encodeURIComponent(soql)}`, { ...o, headers: o.batchSize ? { 'Sforce-Query-Options': `batchSize=${o.batchSize}` } : {} });
export const more = (nextRecordsUrl, o) => get(nextRecordsUrl, o);

/** A SOQL string literal. */
export function soqlString(s) {
  return `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A record id as Salesforce writes them: 15 or 18 letters and digits. */
export const isRecordId = (s) => typeof s === 'string' && /^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(s);
