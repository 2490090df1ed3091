// Dialtone's own softphone (/softphone): an Open CTI adapter. It talks to
// the console only through sforce.opencti, and to Dialtone through the
// desktop WebSocket and REST commands (docs/DESKTOP.md §2–3). Every
// (re)connect starts with `hello`, from which the whole state is rebuilt, so
// a refresh or a dropped socket never shows a call twice.

import { get, post, put, setCsrfToken } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { DesktopSocket } from '../lib/desktop-socket.js';
import { formatDuration, formatPhone, formatTime, parseDateTime } from '../lib/format.js';

const cti = window.sforce.opencti;
const $ = (id) => document.getElementById(id);

const st = {
  session: null,
  agent: null,
  calls: new Map(),   // key → CallView (offered, dialing, connected, held)
  pops: new Map(),    // key → Pop of the offer
  wrapUps: new Map(), // key → {call, required}
  recent: [],
  lines: new Map(),   // key → [{speaker, text}]
  busy: new Set(),    // "key:action" in flight
  work: new Map(),    // key → {callback}: routing's offers of callbacks and other work (accepted here)
  notice: null,
};

// ---------------------------------------------------------------- helpers

function ctiCall(method, args = {}) {
  return new Promise((resolve) => cti[method]({ ...args, callback: resolve }));
}

function notify(text, kind = 'error') {
  const n = $('notice');
  if (!text) { n.hidden = true; n.textContent = ''; return; }
  n.hidden = false;
  n.className = `sp-notice notice notice-${kind}`;
  n.textContent = text;
  clearTimeout(notify.t);
  if (kind !== 'error') notify.t = setTimeout(() => notify(null), 5000);
}

const otherParty = (c) => {
  const n = (c.direction === 'outbound' ? c.to : c.from) || '';
  if (!n) return 'Unknown number';
  return /\d/.test(n) ? formatPhone(n) : 'Withheld number'; // "anonymous", "restricted", …
};
const can = (c, action) => Array.isArray(c.controls) && c.controls.includes(action);

function popRecord(id) {
  if (id) ctiCall('screenPop', { type: cti.SCREENPOP_TYPE.SOBJECT, params: { recordId: id } });
}

function recordLink(rec) {
  if (!rec) return null;
  return h('button', { type: 'button', class: 'link-btn', title: `Open ${rec.object} ${rec.name}`, onclick: () => popRecord(rec.id) },
    h('span', { class: 'muted' }, `${rec.objectLabel || rec.object} · `), rec.name || rec.id);
}

// ---------------------------------------------------------------- commands

async function command(c, action, body) {
  const tag = `${c.key}:${action}`;
  if (st.busy.has(tag)) return;
  st.busy.add(tag);
  render();
  try {
    const res = await post(`/api/desktop/calls/${encodeURIComponent(c.key)}/${action}`, body);
    if (res?.call) upsert(res.call);
    notify(null);
  } catch (e) {
    notify(`${label(action)} failed: ${e.message}`);
  } finally {
    st.busy.delete(tag);
    render();
  }
}

function label(action) {
  return { accept: 'Accept', decline: 'Decline', hold: 'Hold', resume: 'Resume', mute: 'Mute', unmute: 'Unmute', hangup: 'Hang up', transfer: 'Transfer', wrapup: 'Saving the wrap-up' }[action] || action;
}

async function dial(number, recordId) {
  const n = String(number || '').trim();
  const err = $('dial-error');
  err.textContent = '';
  $('dial-number').removeAttribute('aria-invalid');
  if (!n) { err.textContent = 'Type a number to call.'; $('dial-number').focus(); return; }
  const btn = $('dial-call');
  btn.disabled = true;
  btn.textContent = 'Calling…';
  try {
    const res = await post('/api/desktop/dial', recordId ? { number: n, recordId } : { number: n });
    $('dial-number').value = '';
    notify(`Calling ${n}…`, 'ok');
    if (res?.call) upsert(res.call);
  } catch (e) {
    $('dial-number').value = n;
    $('dial-number').setAttribute('aria-invalid', 'true');
    err.textContent = e.code === 'DO_NOT_CALL' ? `Not dialled — Do Not Call: ${e.message}` : e.message;
  } finally {
    btn.disabled = false;
    btn.textContent = 'Call';
  }
}

async function setPresence(name) {
  const status = st.session.presenceStatuses.find((p) => p.name === name);
  const pendingWrapUp = [...st.wrapUps.values()].some((w) => w.required);
  if (status?.base === 'Available' && st.session.callCenter?.wrapUpRequired && pendingWrapUp) {
    notify('Save the wrap-up of your last call before going Available.');
    renderPresence();
    $('wrapups').querySelector('select')?.focus();
    return;
  }
  try {
    const res = await put(`/api/agents/${encodeURIComponent(st.session.user.username)}/presence`, { status: name });
    st.agent = { ...st.agent, presence: res?.presence || res?.status || name, presenceSince: res?.presenceSince || new Date().toISOString() };
    notify(null);
  } catch (e) {
    notify(`Could not change your status: ${e.message}`);
  }
  renderPresence();
}

// ---------------------------------------------------------------- state

function upsert(call) {
  if (!call?.key) return;
  if (call.state === 'ended') {
    st.calls.delete(call.key);
    st.pops.delete(call.key);
    st.recent = [call, ...st.recent.filter((r) => r.key !== call.key)].slice(0, 10);
    // Every call gets a wrap-up form; the server's wrapUp message says whether it is required.
    if (!st.wrapUps.has(call.key) && call.resolution === null) st.wrapUps.set(call.key, { call, required: false });
  } else {
    st.calls.set(call.key, call);
  }
  const w = st.wrapUps.get(call.key);
  if (w) w.call = call;
}

function onMessage(m) {
  switch (m.type) {
    case 'hello':
      st.agent = m.agent || null;
      st.calls = new Map((m.calls || []).map((c) => [c.key, c]));
      for (const k of [...st.pops.keys()]) if (!st.calls.has(k)) st.pops.delete(k);
      st.wrapUps = new Map((m.wrapUps || []).map((c) => [c.key, { call: c, required: Boolean(st.session.callCenter?.wrapUpRequired) }]));
      st.recent = m.recent || [];
      break;
    case 'offer':
      if (m.call) { st.calls.set(m.call.key, m.call); if (m.pop) st.pops.set(m.call.key, m.pop); }
      break;
    case 'offerClosed': {
      st.pops.delete(m.key);
      const c = st.calls.get(m.key);
      if (c && m.result !== 'accepted' && c.state === 'offered') st.calls.delete(m.key);
      break;
    }
    case 'call': upsert(m.call); break;
    case 'wrapUp':
      if (m.call) st.wrapUps.set(m.call.key, { call: m.call, required: Boolean(m.required) });
      break;
    case 'wrapUpSaved': st.wrapUps.delete(m.key); break;
    case 'workOffer': st.work.set(m.key, { callback: Boolean(m.callback) }); break;
    case 'workWithdrawn': st.work.delete(m.key); break;
    case 'presence': st.agent = { ...(st.agent || {}), presence: m.presence, presenceSince: m.presenceSince }; break;
    case 'utterance': {
      const l = st.lines.get(m.key) || [];
      l.push({ speaker: m.speaker, text: m.text });
      st.lines.set(m.key, l.slice(-6));
      break;
    }
    default: return;
  }
  render();
}

// ---------------------------------------------------------------- render

function render() {
  renderPresence();
  renderOffers();
  renderCalls();
  renderWrapUps();
  renderRecent();
}

function renderPresence() {
  const sel = $('presence');
  const statuses = st.session.presenceStatuses || [];
  const cur = st.agent?.presence || 'Offline';
  const names = statuses.map((s) => s.name);
  if (!names.includes(cur)) names.push(cur);
  replace(sel, names.map((n) => h('option', { value: n, selected: n === cur }, n)));
  sel.disabled = !st.agent;
  const base = statuses.find((s) => s.name === cur)?.base || cur;
  $('presence-dot').className = `presence-dot p-${String(base).replace(/\s/g, '')}`;
}

function matchLine(c) {
  const pop = st.pops.get(c.key) || c.pop;
  // While it rings, the offer's pop says what the console shows (a chooser
  // stays a chooser even if the call was related to one of its records).
  if (c.relatedRecord && !(c.state === 'offered' && pop)) return recordLink(c.relatedRecord);
  if (!pop) return c.state === 'offered' ? h('span', { class: 'muted' }, 'Looking up the caller…') : null;
  switch (pop.outcome) {
    case 'matched': return recordLink(pop.records[0]);
    case 'chooser': return h('span', {}, `${pop.records.length} matching records — choose in the console`);
    case 'new': return h('span', {}, 'New caller');
    case 'fallback': return h('span', {}, `Unknown caller${pop.reason ? `: ${pop.reason}` : ''}`);
    default: return null;
  }
}

function button(c, action, text, cls = '') {
  return h('button', { type: 'button', class: `btn ${cls}`.trim(), disabled: !can(c, action) || st.busy.has(`${c.key}:${action}`), dataset: { action }, onclick: () => command(c, action) }, text);
}

/** What a call's card exposes: its key, state and the controls its provider allows now. */
const cardData = (c) => ({ key: c.key, state: c.state, controls: (c.controls || []).join(' ') });

function renderOffers() {
  const offers = [...st.calls.values()].filter((c) => c.state === 'offered');
  replace($('offers'), workCards(), offers.map((c) => h('article', { class: 'sp-card offer', dataset: cardData(c), 'aria-label': `Incoming call from ${otherParty(c)}` },
    h('div', { class: 'sp-card-head' }, h('span', { class: 'ring', 'aria-hidden': 'true' }, '☎'), h('strong', {}, 'Incoming call'), h('span', { class: 'timer tabular', dataset: { since: c.startedAt || '' } })),
    h('div', { class: 'number tabular' }, otherParty(c)),
    h('div', { class: 'match' }, matchLine(c)),
    h('div', { class: 'sp-actions' },
      can(c, 'accept') ? button(c, 'accept', 'Accept', 'btn-ok') : h('span', { class: 'muted' }, c.provider === 'sip' ? 'Answer on your desk phone' : 'Answer on the provider’s phone'),
      can(c, 'decline') ? button(c, 'decline', 'Decline', 'btn-danger') : null))));
}

/** Routing's pushed offers: a callback to make, a case or chat to take. */
function workCards() {
  return [...st.work.entries()].map(([key, w]) => {
    const kind = w.callback ? 'Callback request' : key.startsWith('case:') ? 'Case' : key.startsWith('chat:') ? 'Chat' : 'Work item';
    const act = async (action) => {
      st.busy.add(`${key}:${action}`); render();
      try {
        await post(`/api/routing/work-items/${encodeURIComponent(key)}/${action}`, {});
        st.work.delete(key);
        if (action === 'accept' && w.callback) notify('Calling the customer back…', 'info');
      } catch (e) {
        st.work.delete(key);
        notify(e.message);
      } finally { st.busy.delete(`${key}:${action}`); render(); }
    };
    return h('article', { class: 'sp-card offer work', dataset: { key, state: 'offered', work: w.callback ? 'callback' : 'item' }, 'aria-label': kind },
      h('div', { class: 'sp-card-head' }, h('span', { class: 'ring', 'aria-hidden': 'true' }, w.callback ? '↩' : '✉'), h('strong', {}, kind)),
      h('div', { class: 'muted' }, w.callback ? 'A caller kept their place in the queue: accept to call them back now.' : key),
      h('div', { class: 'sp-actions' },
        h('button', { type: 'button', class: 'btn btn-ok', dataset: { action: 'accept' }, disabled: st.busy.has(`${key}:accept`), onclick: () => act('accept') }, w.callback ? 'Call back' : 'Accept'),
        h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'decline' }, disabled: st.busy.has(`${key}:decline`), onclick: () => act('decline') }, 'Decline')));
  });
}

function renderCalls() {
  const calls = [...st.calls.values()].filter((c) => c.state !== 'offered');
  replace($('calls'), calls.map((c) => {
    const held = c.state === 'held';
    const lines = st.lines.get(c.key) || [];
    const transfer = transferForm(c);
    return h('article', { class: `sp-card call state-${c.state}`, dataset: cardData(c) },
      h('div', { class: 'sp-card-head' }, h('strong', {}, { dialing: 'Calling…', connected: 'On call', held: 'On hold' }[c.state] || c.state),
        c.muted ? h('span', { class: 'badge badge-warn' }, 'Muted') : null,
        h('span', { class: 'timer tabular', dataset: { since: c.answeredAt || c.startedAt || '' } })),
      h('div', { class: 'number tabular' }, otherParty(c)),
      h('div', { class: 'match' }, matchLine(c)),
      h('div', { class: 'sp-actions grid' },
        held ? button(c, 'resume', 'Resume') : button(c, 'hold', 'Hold'),
        c.muted ? button(c, 'unmute', 'Unmute') : button(c, 'mute', 'Mute'),
        h('button', { type: 'button', class: 'btn', disabled: !can(c, 'transfer'), 'aria-expanded': 'false', dataset: { action: 'transfer-open' }, onclick: (e) => { transfer.hidden = !transfer.hidden; e.target.setAttribute('aria-expanded', String(!transfer.hidden)); if (!transfer.hidden) transfer.querySelector('input').focus(); } }, 'Transfer'),
        button(c, 'hangup', 'Hang up', 'btn-danger')),
      transfer,
      lines.length ? h('ul', { class: 'lines' }, lines.map((l) => h('li', {}, h('span', { class: 'muted' }, `${l.speaker === 'agent' ? 'You' : 'Caller'}: `), l.text))) : null);
  }));
}

function transferForm(c) {
  const kind = h('select', { 'aria-label': 'Transfer to' }, h('option', { value: 'agent' }, 'Agent'), h('option', { value: 'queue' }, 'Queue'), h('option', { value: 'number' }, 'Number'));
  const target = h('input', { type: 'text', 'aria-label': 'Agent username, queue name or number', placeholder: 'agent2@dialtone.demo' });
  kind.addEventListener('change', () => { target.placeholder = { agent: 'agent2@dialtone.demo', queue: 'Support', number: '+1 415 555 0100' }[kind.value]; });
  const form = h('form', { class: 'transfer', hidden: true, onsubmit: (e) => {
    e.preventDefault();
    const v = target.value.trim();
    if (!v) { target.setAttribute('aria-invalid', 'true'); target.focus(); return; }
    command(c, 'transfer', { [kind.value]: v });
  } }, kind, target, h('button', { type: 'submit', class: 'btn btn-primary btn-sm' }, 'Transfer'));
  return form;
}

// Wrap-up forms are kept per call and rebuilt only when what they show
// changes, so a message arriving meanwhile never wipes a half-filled form.
const wrapForms = new Map(); // key → {sig, el}

function renderWrapUps() {
  const list = [...st.wrapUps.values()];
  for (const k of [...wrapForms.keys()]) if (!st.wrapUps.has(k)) wrapForms.delete(k);
  const els = list.map((w) => {
    const c = w.call;
    const sig = JSON.stringify([w.required, c.endedAt, c.answeredAt, c.disposition, c.relatedRecord?.id, c.relatedRecord?.name, c.from, c.to]);
    let f = wrapForms.get(c.key);
    if (!f || f.sig !== sig) {
      const el = wrapUpForm(w);
      // Keep what the agent already chose or typed.
      if (f) for (const id of [`res-${c.key}`, `notes-${c.key}`]) { const old = f.el.querySelector(`[id="${id}"]`); const now = el.querySelector(`[id="${id}"]`); if (old && now) now.value = old.value; }
      f = { sig, el };
      wrapForms.set(c.key, f);
    }
    return f.el;
  });
  const box = $('wrapups');
  const same = els.length === box.children.length && els.every((el, i) => box.children[i] === el);
  if (!same) replace(box, els);
}

function wrapUpForm({ call: c, required }) {
  const cc = st.session.callCenter || {};
  const sel = h('select', { id: `res-${c.key}`, required: true, 'aria-describedby': `res-err-${c.key}` },
    h('option', { value: '' }, 'Choose an outcome…'), (cc.resolutions || []).map((r) => h('option', { value: r }, r)));
  const notes = h('textarea', { id: `notes-${c.key}`, rows: '3', maxlength: '32000', placeholder: 'What happened on the call' });
  const err = h('div', { class: 'field-error', id: `res-err-${c.key}`, role: 'alert' });
  sel.addEventListener('change', () => { if (sel.value) { sel.removeAttribute('aria-invalid'); err.textContent = ''; } });
  const failed = c.disposition && !['completed', 'in-progress'].includes(c.disposition);
  const dur = c.answeredAt && c.endedAt ? formatDuration((parseDateTime(c.endedAt) - parseDateTime(c.answeredAt)) / 1000) : null;
  return h('form', { class: 'sp-card wrapup', novalidate: true, dataset: { key: c.key }, onsubmit: async (e) => {
    e.preventDefault();
    if (!sel.value) { sel.setAttribute('aria-invalid', 'true'); err.textContent = 'Choose the call’s outcome.'; sel.focus(); return; }
    const btn = e.target.querySelector('button[type=submit]');
    btn.disabled = true; btn.textContent = 'Saving…';
    try {
      await post(`/api/desktop/calls/${encodeURIComponent(c.key)}/wrapup`, { resolution: sel.value, notes: notes.value.trim() || undefined });
      st.wrapUps.delete(c.key);
      notify('Wrap-up saved.', 'ok');
      document.activeElement?.blur();
      render();
    } catch (ex) {
      btn.disabled = false; btn.textContent = 'Save wrap-up';
      err.textContent = ex.message;
      if (ex.code === 'INVALID_RESOLUTION') sel.setAttribute('aria-invalid', 'true');
    }
  } },
  h('div', { class: 'sp-card-head' }, h('strong', {}, 'Wrap up'), required ? h('span', { class: 'badge badge-warn' }, 'Required') : h('span', { class: 'badge' }, 'Optional')),
  h('div', { class: 'number tabular' }, `${c.direction === 'outbound' ? 'To' : 'From'} ${otherParty(c)}`, dur ? h('span', { class: 'muted' }, ` · ${dur}`) : null,
    failed ? h('span', { class: 'badge badge-danger' }, c.disposition) : null),
  c.relatedRecord ? h('div', { class: 'match' }, recordLink(c.relatedRecord)) : null,
  h('label', { for: sel.id }, 'Outcome'), sel, err,
  h('label', { for: notes.id }, 'Notes'), notes,
  h('div', { class: 'sp-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save wrap-up'),
    required ? null : h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => { st.wrapUps.delete(c.key); render(); } }, 'Skip')));
}

function renderRecent() {
  const ul = $('recent');
  if (!st.recent.length) { replace(ul, h('li', { class: 'muted' }, 'No calls yet.')); return; }
  replace(ul, st.recent.map((c) => h('li', {},
    h('span', { class: `dir dir-${c.direction}`, title: c.direction, 'aria-label': c.direction }, c.direction === 'outbound' ? '↗' : '↙'),
    c.voiceCallId ? h('button', { type: 'button', class: 'link-btn', onclick: () => popRecord(c.voiceCallId) }, otherParty(c)) : h('span', {}, otherParty(c)),
    h('span', { class: 'muted right tabular' }, [c.resolution, formatTime(c.startedAt)].filter(Boolean).join(' · ')),
    h('button', { type: 'button', class: 'btn btn-ghost btn-sm', title: `Call ${otherParty(c)} back`, 'aria-label': `Call ${otherParty(c)} back`, onclick: () => dial(otherParty(c), c.relatedRecord?.id) }, '☎'))));
}

function tick() {
  const now = Date.now();
  for (const t of document.querySelectorAll('.timer[data-since]')) {
    const since = parseDateTime(t.dataset.since);
    t.textContent = since ? formatDuration((now - since.getTime()) / 1000) : '';
  }
}

function buildDialpad() {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
  const input = $('dial-number');
  replace($('dialpad'), keys.map((k) => h('button', { type: 'button', class: 'btn key', onclick: () => { input.value += k; input.focus(); } }, k)));
  $('dial-form').addEventListener('submit', (e) => { e.preventDefault(); dial(input.value); });
}

// ---------------------------------------------------------------- start

async function start() {
  buildDialpad();
  let session;
  try {
    session = await get('/api/desktop/session', { redirectOn401: false });
  } catch (e) {
    notify(e.status === 401 ? 'Signed out: sign in to the console again.' : `The softphone could not start: ${e.message}`);
    return;
  }
  st.session = session;
  setCsrfToken(session.csrfToken);
  st.agent = null;
  render();
  if (!session.permissions.useSoftphone) notify('Your profile lacks the Use Softphone permission: calls cannot be placed or taken here.', 'warn');

  cti.onClickToDial({ listener: (p) => { $('dial-number').value = p.number; dial(p.number, p.recordId); } });
  cti.enableClickToDial({ callback: (r) => { if (!r.success) console.warn('enableClickToDial', r.errors); } });
  cti.setSoftphonePanelLabel({ label: session.callCenter?.panel?.label || 'Phone' });
  cti.notifyInitializationComplete();

  const conn = $('conn');
  new DesktopSocket({
    onMessage,
    onState: (s, d) => {
      conn.className = `sp-conn badge ${s === 'open' ? 'badge-ok' : 'badge-warn'}`;
      conn.textContent = s === 'open' ? 'Connected' : s === 'waiting' ? `Reconnecting in ${Math.ceil(d.delayMs / 1000)} s` : 'Connecting';
    },
  }).start();
  $('presence').addEventListener('change', (e) => setPresence(e.target.value));
  setInterval(tick, 1000);
}

start();
