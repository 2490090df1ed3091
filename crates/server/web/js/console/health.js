// The admins' health page: /health rendered layer by layer, refreshed every
// 5 seconds until the page is left. /health needs no session and names no
// records or people; a failing store answers 503 with the same document.

import { h, replace } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';

const LAYERS = [
  ['store', 'Store'],
  ['telephony', 'Telephony edges'],
  ['adapters', 'Adapter sessions'],
  ['routing', 'Routing'],
  ['flows', 'Flows'],
];

function badge(status) {
  return h('span', { class: `health-badge health-${status}`, dataset: { status } }, status);
}

function age(s) {
  return s == null ? 'never' : `${s} s ago`;
}

function rows(layer, d) {
  switch (layer) {
    case 'store':
      return [['Backend', d.backend], ['Ping', `${d.latencyMs} ms`], ...(d.error ? [['Error', d.error]] : [])];
    case 'telephony':
      return [
        ['Active calls', String(d.activeCalls)],
        ['SIP', `${d.sip.listening ? 'listening' : 'not listening'} · ${d.sip.trunks ?? '?'} trunk(s) · ${d.sip.activeCalls} active · last event ${age(d.sip.lastEventAgeSeconds)}`],
        ['Twilio', `${d.twilio.trunks ?? '?'} trunk(s) · ${d.twilio.activeCalls} active · last event ${age(d.twilio.lastEventAgeSeconds)}`],
        ['Partner telephony', `${d.partner.activeCalls} active · last event ${age(d.partner.lastEventAgeSeconds)}`],
        ['Simulator', `${d.simulator.activeCalls} active · last event ${age(d.simulator.lastEventAgeSeconds)}`],
        ...d.problems.map((p) => ['Problem', p]),
      ];
    case 'adapters':
      return [['Desktop sockets', String(d.sockets)], ['Agents connected', String(d.agentsConnected)], ['Agents signed in', String(d.agentsSignedIn)]];
    case 'routing':
      return [['Last refresh', age(d.lastRefreshAgeSeconds)], ...(d.problems.length ? d.problems.map((p) => ['Problem', p]) : [['Configuration', 'applied']])];
    case 'flows':
      return d.running
        ? [['Outbox backlog', String(d.backlog)], ['Parked runs', String(d.parkedRuns)], ['Runs', String(d.runs)], ['Failed runs', String(d.failedRuns)]]
        : [['Flow engine', 'not reporting']];
    default:
      return [];
  }
}

export async function renderHealth(view, signal) {
  const stamp = h('p', { class: 'muted', id: 'health-stamp' }, '');
  const overall = h('div', { id: 'health-overall' });
  const cards = h('div', { id: 'health-layers' }, h('span', { class: 'skeleton skel-line' }));
  replace(view, h('div', { class: 'page', id: 'health-page' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Administration'), h('h1', {}, 'System health'), stamp)),
    overall, cards));
  for (;;) {
    let b;
    try {
      const res = await fetch('/health', { signal, headers: { accept: 'application/json' }, credentials: 'same-origin' });
      b = await res.json();
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(overall, h('p', { class: 'notice notice-error', role: 'alert' }, `The server did not answer: ${e.message}`));
    }
    if (b) {
      stamp.textContent = `Checked ${formatDateTime(b.checkedAt)} · version ${b.version} · up ${b.uptimeSeconds} s · every 5 seconds`;
      replace(overall, h('p', { class: `notice health-overall-${b.status}`, role: b.status === 'ok' ? null : 'alert' }, 'Overall: ', badge(b.status)));
      replace(cards, ...LAYERS.filter(([k]) => b[k]).map(([k, label]) => h('div', { class: 'card', dataset: { layer: k } },
        h('div', { class: 'card-head' }, h('h2', {}, label, ' '), badge(b[k].status)),
        h('div', { class: 'card-body' }, h('table', { class: 'table' }, h('tbody', {},
          rows(k, b[k]).map(([n, v]) => h('tr', {}, h('th', {}, n), h('td', {}, v)))))))));
    }
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 5000);
      signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    if (signal.aborted) return;
  }
}
