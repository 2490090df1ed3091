// The contact-centre dashboard (/console/dashboard): every standard report
// for a date range, as tiles, server-drawn SVG charts and tables, each with
// its CSV download and the SOQL it ran (the same query anyone can run).

import { get } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formatDuration } from '../lib/format.js';

const day = (d) => d.toISOString().slice(0, 10);

function defaults(params) {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  return {
    from: params.get('from') || day(weekAgo),
    to: params.get('to') || day(today),
    queue: params.get('queue') || '',
    serviceLevelSeconds: params.get('serviceLevelSeconds') || '20',
    // Empty: the server counts in the user's own time zone (User.TimeZoneSidKey).
    timeZone: params.get('timeZone') || '',
  };
}

const ZONES = ['UTC', 'America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'America/Sao_Paulo',
  'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'Africa/Johannesburg', 'Asia/Kolkata', 'Asia/Singapore', 'Asia/Tokyo', 'Australia/Sydney'];

function query(p) {
  const q = new URLSearchParams({ from: p.from, to: p.to, serviceLevelSeconds: p.serviceLevelSeconds });
  if (p.queue) q.set('queue', p.queue);
  if (p.timeZone) q.set('timeZone', p.timeZone);
  return q.toString();
}

function cell(v, unit) {
  if (v === null || v === undefined) return '—';
  if (unit === 'seconds' && typeof v === 'number') return formatDuration(Math.round(v));
  if (unit === 'percent' && typeof v === 'number') return `${v.toFixed(1)} %`;
  return String(v);
}

/** The server's SVG, parsed as SVG (never as HTML) and adopted into the page. */
function chart(svg) {
  if (!svg) return null;
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement;
  if (!root || root.nodeName !== 'svg') return null;
  return h('div', { class: 'chart' }, document.importNode(root, true));
}

/** The calls behind a row: the Calls list with the row's WHERE clause (the drill-down). */
function drillLink(where, label, content) {
  if (!where) return content;
  return h('a', { href: `/console/list/VoiceCall?where=${encodeURIComponent(where)}&label=${encodeURIComponent(label)}`, 'data-nav': '', class: 'drill', title: 'Show these calls' }, content);
}

function table(r, p) {
  if (!r.rows.length) return h('p', { class: 'muted' }, 'No records in this range.');
  const span = `${p.from} to ${p.to}, ${r.timeZone}`;
  return h('table', { class: 'table', dataset: { report: r.report } },
    h('thead', {}, h('tr', {}, r.columns.map((c) => h('th', { class: c.unit === 'text' || c.unit === 'date' ? null : 'num' }, c.label)))),
    h('tbody', {}, r.rows.map((row, n) => h('tr', {}, row.map((v, i) => {
      const text = cell(v, r.columns[i].unit);
      return h('td', { class: r.columns[i].unit === 'text' || r.columns[i].unit === 'date' ? null : 'num' },
        i === 0 ? drillLink(r.drill?.[n], `${r.title}: ${text} (${span})`, text) : text);
    })))));
}

function tiles(r, p) {
  const span = `${p.from} to ${p.to}, ${r.timeZone}`;
  return h('div', { class: 'tiles', id: 'dashboard-tiles' }, r.rows.map(([name, label, value, unit], n) => h('div', { class: 'tile', dataset: { figure: name } },
    h('div', { class: 'tile-value' }, drillLink(r.drill?.[n], `${label} (${span})`, cell(value, unit))), h('div', { class: 'tile-label' }, label))));
}

function card(r, p) {
  const csv = `/api/reports/${r.report}?${query(p)}&format=csv`;
  const soql = r.soql.filter((s) => s);
  return h('div', { class: 'card', id: `report-${r.report}` },
    h('div', { class: 'card-head' }, h('h2', {}, r.title), h('a', { href: csv, download: `${r.report}.csv`, class: 'small' }, 'CSV')),
    h('div', { class: 'card-body' },
      r.chart === 'tiles' ? tiles(r, p) : null,
      chart(r.svg),
      r.chart === 'tiles' ? null : table(r, p),
      h('details', { class: 'soql' }, h('summary', { class: 'muted small' }, `SOQL (${soql.length})`), soql.map((s) => h('pre', {}, s)))));
}

export async function renderDashboard(view, params, signal, navigate) {
  const p = defaults(params);
  const input = (name, type, value, label) => h('label', {}, label, h('input', { name, type, value, required: type === 'date' ? '' : null }));
  const form = h('form', { class: 'filters', id: 'dashboard-filters' },
    input('from', 'date', p.from, 'From '), input('to', 'date', p.to, ' to '),
    input('queue', 'text', p.queue, ' Queue '), input('serviceLevelSeconds', 'number', p.serviceLevelSeconds, ' Service level (s) '),
    h('label', {}, ' Time zone ', h('input', { name: 'timeZone', type: 'text', value: p.timeZone, list: 'dashboard-zones', placeholder: 'your own', spellcheck: 'false', size: '18' })),
    h('datalist', { id: 'dashboard-zones' }, ZONES.map((z) => h('option', { value: z }))),
    h('button', { type: 'submit', class: 'btn' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    navigate(`/console/dashboard?${query(Object.fromEntries(f.entries()))}`);
  });
  const body = h('div', { id: 'dashboard-body' }, h('span', { class: 'skeleton skel-line' }));
  const zoneNote = h('span', { id: 'dashboard-zone' }, p.timeZone ? `Days and hours are in ${p.timeZone}.` : 'Days and hours are in your time zone.');
  replace(view, h('div', { class: 'page', id: 'dashboard' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Reports'), h('h1', {}, 'Contact centre dashboard'),
      h('p', { class: 'muted' }, zoneNote, ' Every figure is a SOQL query over the calls themselves.'))),
    form, body));
  let d;
  try {
    d = await get(`/api/dashboard?${query(p)}`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') return;
    replace(body, h('p', { class: 'notice notice-error', role: 'alert' }, e.message));
    return;
  }
  // The zone the server counted in, shown and kept for the CSV links.
  const counted = { ...p, timeZone: d.timeZone };
  zoneNote.textContent = `Days and hours are in ${d.timeZone}.`;
  form.elements.timeZone.value = d.timeZone;
  replace(body, h('div', { class: 'dashboard-grid' }, d.reports.map((r) => card(r, counted))));
}
