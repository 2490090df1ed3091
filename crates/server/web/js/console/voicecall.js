// The VoiceCall page: the call's facts, a timeline (the call's timestamps
// and its field history), the transcript (VoiceCallRecording.Transcript,
// redacted before it was stored, plus live lines while the call runs), the
// recording (opened through a short-lived signed link, offered only with
// the permission to listen), the call's Task, and why routing sent it
// where it went (routing.js).

import { DATA, get, query, soqlString } from '../lib/api.js';
import { h, replace, toast } from '../lib/dom.js';
import { formatDateTime, formatDuration, formatValue, parseDateTime } from '../lib/format.js';
import { describe, rememberName } from './meta.js';
import { app, setView } from './app.js';
import { labelRecord } from './tabs.js';
import { recordHeader, recordSkeleton, valueNode } from './record.js';
import { loadRouting } from './routing.js';
import { loadRuns } from './flows.js';

const FACTS = ['CallType', 'FromPhoneNumber', 'ToPhoneNumber', 'RelatedRecordId', 'CallDisposition', 'CallResolution', 'DisconnectReason',
  'QueueName', 'CallStartDateTime', 'CallAcceptDateTime', 'CallEndDateTime', 'CallDurationInSeconds', 'NumberOfHolds', 'CustomerHoldDuration',
  'LongestHoldDuration', 'AfterCallWorkDuration', 'IsRecorded', 'ScreenPopOutcome', 'VendorType', 'CallOrigin', 'OwnerId', 'PreviousCallId', 'NextCallId', 'Description'];
const STAMPS = [['CallQueuedDateTime', 'Queued'], ['CallStartDateTime', 'Call started'], ['CallAcceptDateTime', 'Answered'], ['CallEndDateTime', 'Ended']];
const SPEAKERS = { customer: 'Customer', agent: 'Agent', virtualAgent: 'Virtual agent' };

export async function renderVoiceCall(view, id, signal) {
  replace(view, recordSkeleton());
  const [d, rec] = await Promise.all([describe('VoiceCall'), get(`${DATA}/sobjects/VoiceCall/${id}`, { signal })]);
  const title = rec.Name || id;
  rememberName(id, 'VoiceCall', title);
  labelRecord(id, title, 'VoiceCall');
  const byName = new Map(d.fields.map((f) => [f.name, f]));
  const related = rec.RelatedRecordId || null;
  const ctx = { recordId: related, objectType: null, recordName: null };
  const facts = FACTS.filter((n) => byName.has(n)).map((n) => {
    const f = byName.get(n);
    return h('div', { class: `field${n === 'Description' ? ' field-wide' : ''}`, dataset: { field: n } }, h('dt', {}, f.label.replace(/ ID$/, '')), h('dd', {}, valueNode(f, rec[n], ctx)));
  });
  const direction = rec.CallType ? `${rec.CallType} call` : 'Call';
  const timeline = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const transcript = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const recording = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const task = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const routing = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const runs = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const runsCard = h('div', { class: 'card', id: 'vc-automation' }, h('div', { class: 'card-head' }, h('h2', {}, 'Automation runs')), runs);
  const page = h('div', { class: 'page', dataset: { object: 'VoiceCall', recordId: id } },
    recordHeader('Voice Call', `${title} · ${direction}`, []),
    h('div', { class: 'grid-2' },
      h('div', {},
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Call')), h('div', { class: 'card-body' }, h('dl', { class: 'fields' }, facts))),
        h('div', { class: 'card', id: 'vc-routing' }, h('div', { class: 'card-head' }, h('h2', {}, 'Routing')), routing),
        h('div', { class: 'card', id: 'vc-transcript' }, h('div', { class: 'card-head' }, h('h2', {}, 'Transcript')), transcript)),
      h('div', {},
        h('div', { class: 'card', id: 'vc-timeline' }, h('div', { class: 'card-head' }, h('h2', {}, 'Timeline')), timeline),
        h('div', { class: 'card', id: 'vc-recording' }, h('div', { class: 'card-head' }, h('h2', {}, 'Recording')), recording),
        h('div', { class: 'card', id: 'vc-task' }, h('div', { class: 'card-head' }, h('h2', {}, 'Task')), task),
        runsCard)));
  replace(view, page);
  setView({ recordId: id, objectType: 'VoiceCall', recordName: title });

  loadTimeline(timeline, rec, byName, signal);
  const recordings = loadRecordings(id, signal);
  loadTranscript(transcript, rec, recordings);
  loadRecording(recording, recordings);
  loadTask(task, rec, signal);
  loadRouting(routing, id, signal);
  loadRuns(runsCard, runs, id, signal);
  return { title };
}

async function loadTimeline(box, rec, byName, signal) {
  const events = STAMPS.filter(([f]) => rec[f]).map(([f, label]) => ({ at: rec[f], text: label }));
  try {
    const hist = await get(`/api/records/${rec.Id}/history`, { signal });
    for (const c of hist.changes) {
      const f = byName.get(c.field) || { name: c.field, label: c.field, type: 'string' };
      const empty = (v) => v === null || v === undefined || v === '';
      const show = (v) => (empty(v) ? null : f.type === 'reference' ? valueNode(f, v, {}) : document.createTextNode(f.name.match(/Duration|HoldDuration/) ? formatDuration(v) : formatValue(v, f.type)));
      const from = show(c.oldValue);
      const to = show(c.newValue) || document.createTextNode('—');
      events.push({ at: c.at, nodes: [`${f.label.replace(/ ID$/, '')}: `, from, from ? ' → ' : null, to] });
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
  }
  events.sort((a, b) => (parseDateTime(a.at)?.getTime() || 0) - (parseDateTime(b.at)?.getTime() || 0));
  if (!events.length) { replace(box, h('span', { class: 'muted' }, 'Nothing recorded yet.')); return; }
  replace(box, h('ol', { class: 'timeline' }, events.map((e) => h('li', {}, h('div', { class: 'when' }, formatDateTime(e.at)), h('div', {}, e.nodes || e.text)))));
}

async function loadRecordings(callId, signal) {
  try {
    const res = await query(`SELECT Id, Name, Provider, DurationInSeconds, Transcript, CreatedDate FROM VoiceCallRecording WHERE VoiceCallId = ${soqlString(callId)} ORDER BY CreatedDate`, { signal });
    return res.records;
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    // Without access to recordings (or their transcript field), try without the transcript.
    try {
      const res = await query(`SELECT Id, Name, Provider, DurationInSeconds, CreatedDate FROM VoiceCallRecording WHERE VoiceCallId = ${soqlString(callId)} ORDER BY CreatedDate`, { signal });
      return res.records;
    } catch { return null; }
  }
}

/** "Customer: …" lines become utterances; other text is one customer utterance. */
export function parseTranscript(text) {
  const out = [];
  for (const line of String(text || '').split(/\r?\n/)) {
    const t = line.trim();
    if (!t) continue;
    const m = /^(customer|agent|virtual agent|virtualagent|caller)\s*:\s*(.*)$/i.exec(t);
    if (m) {
      const who = m[1].toLowerCase().replace(/\s/g, '');
      out.push({ speaker: who === 'agent' ? 'agent' : who === 'virtualagent' ? 'virtualAgent' : 'customer', text: m[2] });
    } else {
      out.push({ speaker: 'customer', text: t });
    }
  }
  return out;
}

function utteranceNode(u) {
  return h('li', { class: u.speaker === 'agent' ? 'agent' : null }, h('span', { class: 'who' }, SPEAKERS[u.speaker] || u.speaker), u.text);
}

const ACTORS = { EndUser: 'customer', Agent: 'agent', Bot: 'virtualAgent' };

/** The call's stored transcript lines (ConversationEntry), oldest first; null when the user may not read them. */
async function loadEntries(callId) {
  try {
    const res = await query(`SELECT ActorType, Message, EntryTime FROM ConversationEntry WHERE ConversationId = ${soqlString(callId)} ORDER BY EntryTime`);
    return res.records.map((r) => ({ speaker: ACTORS[r.ActorType] || 'customer', text: r.Message || '' }));
  } catch { return null; }
}

async function loadTranscript(box, rec, recordingsP) {
  let recs = null;
  try { recs = await recordingsP; } catch { return; }
  const entries = await loadEntries(rec.Id);
  const lines = [...(entries || []), ...(recs || []).flatMap((r) => parseTranscript(r.Transcript))];
  const list = h('ul', { class: 'transcript', id: 'transcript-lines' }, lines.map(utteranceNode));
  // Lines heard live before this page opened are stored already when the entries could be read.
  const live = rec.VendorCallKey && !rec.CallEndDateTime && entries === null ? (app.utterances?.get(rec.VendorCallKey) || []) : [];
  for (const u of live) list.append(utteranceNode(u));
  if (!lines.length && !live.length) {
    replace(box, h('span', { class: 'muted', id: 'transcript-empty' }, recs === null ? 'You may not see this call’s recordings or transcript.' : 'No transcript for this call.'), list);
  } else {
    replace(box, list);
  }
  if (rec.VendorCallKey && !rec.CallEndDateTime) {
    const onLine = (key, u) => { if (key === rec.VendorCallKey && box.isConnected) { box.querySelector('#transcript-empty')?.remove(); list.append(utteranceNode(u)); } };
    app.utteranceListeners = (app.utteranceListeners || []).filter((l) => l.box?.isConnected);
    onLine.box = box;
    app.utteranceListeners.push(onLine);
  }
}

async function loadRecording(box, recordingsP) {
  let recs = null;
  try { recs = await recordingsP; } catch { return; }
  if (recs === null) { replace(box, h('span', { class: 'muted' }, 'You may not see this call’s recordings.')); return; }
  if (!recs.length) { replace(box, h('span', { class: 'muted' }, 'This call was not recorded.')); return; }
  const may = app.session?.permissions?.listenToRecordings;
  replace(box, h('ul', { class: 'plain-list' }, recs.map((r) => h('li', {},
    h('span', {}, r.Name || r.Id), h('span', { class: 'muted' }, [r.Provider, r.DurationInSeconds ? formatDuration(r.DurationInSeconds) : null].filter(Boolean).join(' · ')),
    h('span', { class: 'right' }, may
      ? h('button', { type: 'button', class: 'btn btn-sm', dataset: { recording: r.Id }, onclick: () => openRecording(r.Id) }, 'Play')
      : h('span', { class: 'muted', title: 'Needs the Listen to Recordings permission' }, 'No permission to listen'))))));
}

async function openRecording(id) {
  // The window opens now (a popup blocker allows it: it is the click), the link follows.
  const w = window.open('about:blank', '_blank');
  try {
    const link = await get(`/api/recordings/${id}/link`);
    if (w) { w.opener = null; w.location.href = link.url; } else location.assign(link.url);
  } catch (e) {
    if (w) w.close();
    toast(e.message, 'error');
  }
}

async function loadTask(box, rec, signal) {
  const cond = [rec.VendorCallKey ? `CallObject = ${soqlString(rec.VendorCallKey)}` : null, `WhatId = ${soqlString(rec.Id)}`].filter(Boolean).join(' OR ');
  try {
    const res = await query(`SELECT Id, Subject, Status, CallDisposition, Description, CreatedDate FROM Task WHERE ${cond} ORDER BY CreatedDate LIMIT 5`, { signal });
    if (!res.records.length) { replace(box, h('span', { class: 'muted' }, 'No Task yet: it is written when the call ends.')); return; }
    replace(box, h('ul', { class: 'plain-list' }, res.records.map((t) => {
      rememberName(t.Id, 'Task', t.Subject);
      return h('li', {}, h('a', { href: `/console/r/${t.Id}`, 'data-nav': '' }, t.Subject || t.Id),
        h('span', { class: 'right' }, [t.Status, t.CallDisposition].filter(Boolean).join(' · ')));
    })), ...res.records.filter((t) => t.Description).map((t) => h('p', { class: 'muted' }, t.Description)));
  } catch (e) {
    if (e.name === 'AbortError') return;
    replace(box, h('span', { class: 'muted' }, 'You may not see this call’s Task.'));
  }
}
