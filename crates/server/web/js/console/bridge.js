// The host side of Open CTI (docs/DESKTOP.md §4): answers the softphone
// iframe's postMessage calls. Only messages whose source is the softphone
// frame's window and whose origin is the adapter URL's are answered; replies
// and events go only to that window, with that origin as target.

import { DATA, get, post, patch, isRecordId, ApiError } from '../lib/api.js';
import { app, navigate, setClickToDial } from './app.js';
import { objectOfId, describe } from './meta.js';
import { openNewRecord } from './modal.js';
import { performPop } from './pops.js';
import { searchRecords } from './search.js';
import * as sp from './softphone-host.js';

export const stats = { answered: 0, rejected: 0, lastRejected: null };
const registered = { onClickToDial: false, onNavigationChange: false };

class ArgError extends Error { constructor(m) { super(m); this.code = 'INVALID_ARGUMENTS'; } }
const ok = (returnValue = null) => ({ success: true, returnValue, errors: null });
const fail = (code, description, details = null) => ({ success: false, returnValue: null, errors: [{ code, description, details }] });

const SCREENPOP = ['sobject', 'url', 'objecthome', 'list', 'search', 'newRecord', 'flow'];
const CALL_TYPES = ['inbound', 'outbound', 'internal'];

function need(cond, message) { if (!cond) throw new ArgError(message); }
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const intIn = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;

export function initBridge() {
  sp.panel.onReset = () => {
    registered.onClickToDial = false;
    registered.onNavigationChange = false;
    setClickToDial(false);
  };
  window.addEventListener('message', onMessage);
  app.emit = (event, payload) => {
    if (!registered[event]) return false;
    const w = sp.frameWindow();
    if (!w) return false;
    w.postMessage({ dtOpenCti: 1, event, payload }, sp.panel.origin);
    return true;
  };
  app.viewListeners.push((view) => app.emit('onNavigationChange', view));
}

async function onMessage(ev) {
  const m = ev.data;
  if (!m || m.dtOpenCti !== 1) return;
  const frame = sp.frameWindow();
  if (!frame || ev.source !== frame || ev.origin !== sp.panel.origin) {
    stats.rejected += 1;
    stats.lastRejected = { origin: ev.origin, method: typeof m.method === 'string' ? m.method : null };
    console.warn(`Open CTI: ignored a message from ${ev.origin || 'an unknown origin'}: only the softphone frame (${sp.panel.origin || 'none'}) may call the console`);
    return;
  }
  if (typeof m.id !== 'number' || typeof m.method !== 'string') {
    console.warn('Open CTI: ignored a malformed message (it needs a numeric id and a method name)');
    return;
  }
  let response;
  try {
    const handler = Object.prototype.hasOwnProperty.call(METHODS, m.method) ? METHODS[m.method] : null;
    if (!handler) response = fail('UNKNOWN_METHOD', `sforce.opencti.${m.method} is not an Open CTI method`);
    else {
      need(m.args === undefined || isObj(m.args), `${m.method}: the argument must be an object`);
      response = await handler(m.args || {});
    }
  } catch (e) {
    if (e instanceof ArgError) response = fail('INVALID_ARGUMENTS', e.message);
    else if (e instanceof ApiError) response = fail(e.code, e.message, e.body);
    else { console.error('Open CTI', m.method, e); response = fail('INTERNAL_ERROR', `${m.method} failed: ${e.message}`); }
  }
  stats.answered += 1;
  if (!response.success) reportAdapterError(m.method, response.errors[0]);
  // The frame may have navigated meanwhile: answer only the document that asked.
  if (sp.frameWindow() === frame) frame.postMessage({ dtOpenCti: 1, id: m.id, response }, sp.panel.origin);
}

/** The default softphone layout of docs/DESKTOP.md §3, in Open CTI's shape. */
function layoutToOpenCti(layout) {
  const one = (l) => {
    const objects = {};
    for (const o of l.searchOrder || []) objects[o] = [{ apiName: 'Name', displayName: 'Name' }];
    return {
      objects,
      screenPopSettings: {
        NoMatch: l.noMatch?.action === 'new' ? { screenPopType: 'PopToEntity', screenPopData: l.noMatch.object } : { screenPopType: 'DoNotPop' },
        SingleMatch: l.singleMatch === 'open' ? { screenPopType: 'PopToEntity' } : { screenPopType: 'DoNotPop' },
        MultipleMatches: l.multipleMatches === 'chooser' ? { screenPopType: 'PopToSearch' } : { screenPopType: 'DoNotPop' },
      },
    };
  };
  return { Inbound: one(layout.inbound || {}), Outbound: one(layout.outbound || {}), Internal: one(layout.internal || {}) };
}

const DEFAULT_LAYOUT_ONE = { searchOrder: ['Contact', 'Account', 'Lead'], singleMatch: 'open', multipleMatches: 'chooser', noMatch: { action: 'new', object: 'Contact' }, fallback: { object: 'Lead' } };
const DEFAULT_LAYOUT = { inbound: DEFAULT_LAYOUT_ONE, outbound: DEFAULT_LAYOUT_ONE, internal: DEFAULT_LAYOUT_ONE };

async function softphoneLayout() {
  const cc = app.session.callCenter;
  try {
    return await get(`/api/callcenters/${encodeURIComponent(cc.internalName)}/softphone-layout`);
  } catch (e) {
    if (e.status === 404 || e.status === 405) return DEFAULT_LAYOUT;
    throw e;
  }
}

/**
 * A Pop for searchAndScreenPop: the server's (GET /api/desktop/pop) for
 * phone numbers; for other text, global search under the default layout.
 */
async function popFor(search, callType) {
  const digits = search.replace(/[^0-9]/g, '').length;
  if (digits >= 6 && /^[+0-9 ().\-/]+$/.test(search)) {
    try {
      return await get(`/api/desktop/pop?number=${encodeURIComponent(search)}&callType=${callType}`);
    } catch (e) {
      if (e.status !== 404) throw e;
      // The server predates /api/desktop/pop: the phone lookup under the default layout.
      const r = await get(`/api/phone/lookup?number=${encodeURIComponent(search)}`);
      const records = r.matches.map((x) => ({ id: x.id, object: x.object, objectLabel: x.object, name: x.name, owner: null, phone: search }));
      return shapePop(records, r.hiddenMatches, search, { Phone: r.e164 || search });
    }
  }
  const r = await searchRecords(search);
  const records = r.results.map((x) => ({ id: x.id, object: x.object, objectLabel: x.objectLabel, name: x.name, owner: null }));
  return shapePop(records, 0, search, {});
}

function shapePop(records, hidden, number, fields) {
  const l = DEFAULT_LAYOUT_ONE;
  const ordered = records.filter((r) => l.searchOrder.includes(r.object)).sort((a, b) => l.searchOrder.indexOf(a.object) - l.searchOrder.indexOf(b.object));
  if (ordered.length === 1) return { outcome: 'matched', records: ordered, newRecord: null, number, reason: null, hiddenMatches: hidden };
  if (ordered.length > 1) return { outcome: 'chooser', records: ordered, newRecord: null, number, reason: null, hiddenMatches: hidden };
  return { outcome: 'new', records: [], newRecord: { object: l.noMatch.object, fields }, number, reason: null, hiddenMatches: hidden };
}

/** A Pop as Open CTI's screenPop arguments (what `deferred` hands back). */
function popToScreenPopData(pop, search, defaults) {
  switch (pop.outcome) {
    case 'matched': return { type: 'sobject', params: { recordId: pop.records[0].id } };
    case 'chooser': return { type: 'search', params: { searchString: search } };
    case 'new': case 'fallback': return pop.newRecord ? { type: 'newRecord', params: { entityName: pop.newRecord.object, defaultFieldValues: { ...(pop.newRecord.fields || {}), ...(defaults || {}) } } } : null;
    default: return null;
  }
}

async function doScreenPop(type, params, defaultFieldValues) {
  need(SCREENPOP.includes(type), `screenPop: type must be one of sforce.opencti.SCREENPOP_TYPE (${SCREENPOP.join(', ')}); got ${JSON.stringify(type)}`);
  need(isObj(params), 'screenPop: params must be an object');
  switch (type) {
    case 'sobject': {
      need(isRecordId(params.recordId), 'screenPop SOBJECT: params.recordId must be a 15- or 18-character record id');
      const object = await objectOfId(params.recordId);
      if (!object) return fail('NOT_FOUND', `No object has ids starting ${params.recordId.slice(0, 3)}`);
      navigate(`/console/r/${params.recordId}`);
      return ok(null);
    }
    case 'url': {
      need(typeof params.url === 'string' && params.url.length > 0, 'screenPop URL: params.url must be a non-empty string');
      const path = consolePath(params.url);
      if (path) { navigate(path); return ok(null); }
      if (/^https?:\/\//i.test(params.url)) { window.open(params.url, '_blank', 'noopener'); return ok(null); }
      return fail('INVALID_ARGUMENTS', `screenPop URL: ${params.url} is neither a console path (/console/…, /lightning/r/Object/id/view) nor an http(s) URL`);
    }
    case 'objecthome': case 'list': {
      need(typeof params.scope === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(params.scope), `screenPop ${type.toUpperCase()}: params.scope must name an object, e.g. "Account"`);
      await describe(params.scope);
      navigate(`/console/list/${params.scope}`);
      return ok(null);
    }
    case 'search': {
      need(typeof params.searchString === 'string' && params.searchString.trim().length >= 2, 'screenPop SEARCH: params.searchString needs at least two characters');
      navigate(`/console/search?q=${encodeURIComponent(params.searchString.trim())}`);
      return ok(null);
    }
    case 'newRecord': {
      need(typeof params.entityName === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(params.entityName), 'screenPop NEW_RECORD_MODAL: params.entityName must name an object, e.g. "Contact"');
      const defaults = params.defaultFieldValues ?? defaultFieldValues ?? {};
      need(isObj(defaults), 'screenPop NEW_RECORD_MODAL: defaultFieldValues must be an object of field names and values');
      for (const [k, v] of Object.entries(defaults)) need(v === null || ['string', 'number', 'boolean'].includes(typeof v), `screenPop NEW_RECORD_MODAL: defaultFieldValues.${k} must be a string, number, boolean or null`);
      await describe(params.entityName);
      openNewRecord(params.entityName, defaults);
      return ok(null);
    }
    case 'flow':
      return fail('UNSUPPORTED', 'screenPop FLOW: Dialtone has no flows');
    default:
      return fail('INVALID_ARGUMENTS', 'screenPop: unknown type');
  }
}

/** `/console/…` as is; Lightning's `/lightning/r/{Object}/{id}/view` and `/lightning/o/{Object}/home|list` mapped. */
function consolePath(url) {
  let u;
  try { u = new URL(url, location.origin); } catch { return null; }
  if (u.origin !== location.origin) return null;
  if (u.pathname === '/console' || u.pathname.startsWith('/console/')) return u.pathname + u.search;
  let m = /^\/lightning\/r\/(?:[A-Za-z0-9_]+\/)?([a-zA-Z0-9]{15,18})\/view$/.exec(u.pathname);
  if (m && isRecordId(m[1])) return `/console/r/${m[1]}`;
  m = /^\/lightning\/o\/([A-Za-z][A-Za-z0-9_]*)\/(home|list)$/.exec(u.pathname);
  if (m) return `/console/list/${m[1]}`;
  return null;
}

const METHODS = {
  notifyInitializationComplete() { sp.markReady(); return ok(null); },
  enableClickToDial() { setClickToDial(true); return ok(null); },
  disableClickToDial() { setClickToDial(false); return ok(null); },
  onClickToDial() { registered.onClickToDial = true; return ok(null); },
  onNavigationChange() { registered.onNavigationChange = true; return ok(null); },
  getAppViewInfo() { return ok({ ...app.view, url: location.href }); },
  getCallCenterSettings() { return ok({ ...(app.session.callCenter.settings || {}) }); },
  async getSoftphoneLayout() { return ok(layoutToOpenCti(await softphoneLayout())); },
  isSoftphonePanelVisible() { return ok({ visible: sp.panel.visible }); },
  setSoftphonePanelVisibility(a) { need(typeof a.visible === 'boolean', 'setSoftphonePanelVisibility: visible must be true or false'); sp.setVisible(a.visible); return ok(null); },
  setSoftphonePanelHeight(a) { need(intIn(a.heightPX, ...sp.LIMITS.height), `setSoftphonePanelHeight: heightPX must be a whole number from ${sp.LIMITS.height.join(' to ')}`); sp.setHeight(a.heightPX); return ok(null); },
  setSoftphonePanelWidth(a) { need(intIn(a.widthPX, ...sp.LIMITS.width), `setSoftphonePanelWidth: widthPX must be a whole number from ${sp.LIMITS.width.join(' to ')}`); sp.setWidth(a.widthPX); return ok(null); },
  setSoftphonePanelLabel(a) { need(typeof a.label === 'string' && a.label.length <= 80, 'setSoftphonePanelLabel: label must be text of at most 80 characters'); sp.setLabel(a.label); return ok(null); },
  setSoftphonePanelIcon(a) { need(typeof a.key === 'string', 'setSoftphonePanelIcon: key must name an icon, e.g. "call"'); sp.setIcon(a.key); return ok(null); },
  setSoftphoneItemLabel(a) { need(typeof a.label === 'string' && a.label.length <= 40, 'setSoftphoneItemLabel: label must be text of at most 40 characters'); sp.setItemLabel(a.label); return ok(null); },
  setSoftphoneItemIcon(a) { need(typeof a.key === 'string', 'setSoftphoneItemIcon: key must name an icon, e.g. "call"'); sp.setItemIcon(a.key); return ok(null); },
  screenPop(a) { return doScreenPop(a.type, a.params, a.defaultFieldValues); },
  async searchAndScreenPop(a) {
    need(typeof a.callType === 'string' && CALL_TYPES.includes(a.callType), `searchAndScreenPop: callType is required, one of sforce.opencti.CALL_TYPE (${CALL_TYPES.join(', ')})`);
    need(typeof a.searchParams === 'string' && a.searchParams.trim().length > 0, 'searchAndScreenPop: searchParams must be the text to search, e.g. the caller\'s number');
    need(a.defaultFieldValues === undefined || isObj(a.defaultFieldValues), 'searchAndScreenPop: defaultFieldValues must be an object');
    need(a.deferred === undefined || typeof a.deferred === 'boolean', 'searchAndScreenPop: deferred must be true or false');
    const search = a.searchParams.trim();
    const pop = await popFor(search, a.callType);
    const result = {};
    for (const r of pop.records || []) result[r.id] = { Id: r.id, Name: r.name, RecordType: r.object, displayName: r.objectLabel || r.object, Owner: r.owner || null };
    if (a.deferred) {
      const data = popToScreenPopData(pop, search, a.defaultFieldValues);
      if (data) result.SCREEN_POP_DATA = data;
    } else {
      performPop(pop, { defaultFieldValues: a.defaultFieldValues });
    }
    return ok(result);
  },
  async saveLog(a) {
    need(isObj(a.value), 'saveLog: value must be an object of field names and values (with entityApiName to create, or Id to update)');
    const { entityApiName, Id, ...fields } = a.value;
    for (const [k, v] of Object.entries(fields)) need(v === null || ['string', 'number', 'boolean'].includes(typeof v), `saveLog: value.${k} must be a string, number, boolean or null`);
    if (Id !== undefined && Id !== null) {
      need(isRecordId(Id), 'saveLog: value.Id must be a record id');
      const object = entityApiName || await objectOfId(Id);
      need(object, `saveLog: no object has ids starting ${String(Id).slice(0, 3)}`);
      await patch(`${DATA}/sobjects/${object}/${Id}`, fields);
      return ok({ recordId: Id });
    }
    need(typeof entityApiName === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(entityApiName), 'saveLog: value.entityApiName must name the object to create, e.g. "Task" (or pass value.Id to update)');
    const res = await post(`${DATA}/sobjects/${entityApiName}`, fields);
    return ok({ recordId: res.id });
  },
  refreshView() { app.refresh(); return ok(null); },
  async runApex(a) {
    need(typeof a.apexClass === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(a.apexClass), 'runApex: apexClass must name a class, e.g. "DialtoneLookup"');
    need(typeof a.methodName === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(a.methodName), 'runApex: methodName must name a method');
    need(a.methodParams === undefined || typeof a.methodParams === 'string', 'runApex: methodParams must be a string of name=value pairs joined with &');
    const params = Object.fromEntries(new URLSearchParams(a.methodParams || ''));
    const res = await post(`/api/desktop/actions/${a.apexClass}.${a.methodName}`, { params });
    return ok({ runApex: res.result });
  },
};

// Adapter errors (an Open CTI call that failed) go to the server in small
// batches, so the adapter-errors report counts them; a page that errors in a
// loop sends at most 500.
const pendingErrors = [];
let errorTimer = null;
let errorsSent = 0;
function reportAdapterError(method, e) {
  if (errorsSent + pendingErrors.length >= 500) return;
  pendingErrors.push({ method, code: e?.code || 'UNKNOWN', message: String(e?.description || '').slice(0, 255) });
  if (!errorTimer) errorTimer = setTimeout(flushAdapterErrors, 2000);
}
async function flushAdapterErrors() {
  errorTimer = null;
  const batch = pendingErrors.splice(0, 50);
  if (!batch.length) return;
  errorsSent += batch.length;
  try { await post('/api/desktop/adapter-errors', { errors: batch }); } catch (err) { console.warn('could not report adapter errors', err); }
  if (pendingErrors.length) errorTimer = setTimeout(flushAdapterErrors, 2000);
}
