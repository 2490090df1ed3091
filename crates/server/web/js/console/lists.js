// List views: SOQL through the REST API, sortable columns, paging through
// nextRecordsUrl ("Show more" keeps the rows already shown: no jump). A
// dashboard's drill-down opens one with `where` (a SOQL WHERE clause, run as
// the user like any of their queries) and `label` (what it means, in words).

import { query, more } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formatValue } from '../lib/format.js';
import { describe, LIST_COLUMNS, DEFAULT_SORT, rememberName, recordName } from './meta.js';
import { phoneNode, navigate } from './app.js';

const PAGE = 200;

function cell(rec, path) {
  return path.split('.').reduce((v, k) => (v === null || v === undefined ? v : v[k]), rec);
}

/** The columns the user may read, with labels and types from describe. */
async function columnsFor(object) {
  const d = await describe(object);
  const byName = new Map(d.fields.map((f) => [f.name, f]));
  const cols = [];
  for (const path of LIST_COLUMNS[object] || ['Name']) {
    if (path.includes('.')) {
      const [rel, f] = path.split('.');
      const ref = d.fields.find((x) => x.relationshipName === rel);
      if (ref) cols.push({ path, label: ref.label.replace(/ ID$/, ''), type: 'string', sortField: path, rel: `${rel}Id`, field: f });
    } else if (byName.has(path)) {
      const f = byName.get(path);
      cols.push({ path, label: f.label, type: f.type, sortField: path });
    }
  }
  return { d, cols };
}

export async function renderList(view, object, params, signal) {
  const { d, cols: all } = await columnsFor(object);
  let cols = all;
  const [defField, defDir] = DEFAULT_SORT[object] || ['Id', 'ASC'];
  const sortField = cols.some((c) => c.sortField === params.get('sort')) ? params.get('sort') : defField;
  const dir = params.get('dir') === 'desc' ? 'DESC' : params.get('dir') === 'asc' ? 'ASC' : (sortField === defField ? defDir : 'ASC');
  const where = params.get('where') || '';
  const label = params.get('label') || '';
  const keep = where ? `&where=${encodeURIComponent(where)}&label=${encodeURIComponent(label)}` : '';

  const tbody = h('tbody', {}, Array.from({ length: 8 }, () => h('tr', { class: 'skel-row' }, cols.map(() => h('td', {}, h('span', { class: 'skeleton' }))))));
  const foot = h('div', { class: 'list-foot' }, h('span', { class: 'skeleton', style: null }));
  const head = h('thead', {}, h('tr', {}, cols.map((c) => {
    const on = c.sortField === sortField;
    const nextDir = on && dir === 'ASC' ? 'desc' : 'asc';
    return h('th', { scope: 'col', 'aria-sort': on ? (dir === 'ASC' ? 'ascending' : 'descending') : 'none' },
      h('button', { type: 'button', title: `Sort by ${c.label}`, onclick: () => navigate(`/console/list/${object}?sort=${encodeURIComponent(c.sortField)}&dir=${nextDir}${keep}`, { replace: true }) },
        c.label, h('span', { class: 'sort-ind', 'aria-hidden': 'true' }, on ? (dir === 'ASC' ? '▲' : '▼') : '')));
  })));
  const newBtn = d.createable ? h('button', { type: 'button', class: 'btn', onclick: () => import('./modal.js').then((m) => m.openNewRecord(object, {})) }, `New ${d.label}`) : null;
  const page = h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'List'), h('h1', {}, d.labelPlural)), h('div', { class: 'page-actions' }, newBtn)),
    where ? h('div', { class: 'notice list-filter', id: 'list-filter' }, h('strong', {}, 'Showing: '), label || where, ' ',
      h('a', { href: `/console/list/${object}`, 'data-nav': '' }, `All ${d.labelPlural.toLowerCase()}`),
      h('details', { class: 'soql' }, h('summary', { class: 'muted small' }, 'SOQL'), h('pre', {}, `WHERE ${where}`))) : null,
    h('div', { class: 'card' }, h('table', { class: 'list', 'aria-label': d.labelPlural }, head, tbody), foot));
  replace(view, page);

  const soqlFor = (cs) => `SELECT Id${object === 'Account' ? ', IsPersonAccount' : ''}, ${cs.map((c) => c.path).filter((p) => p !== 'Id').join(', ')} FROM ${object}${where ? ` WHERE ${where}` : ''} ORDER BY ${sortField} ${dir} NULLS LAST`;
  let res;
  try {
    res = await query(soqlFor(cols), { signal, batchSize: PAGE });
  } catch (e) {
    // A parent the user may not read (Owner without User access): list without parents.
    if (e.name === 'AbortError' || !['INVALID_FIELD', 'INVALID_TYPE'].includes(e.code)) throw e;
    cols = cols.filter((c) => !c.path.includes('.'));
    res = await query(soqlFor(cols), { signal, batchSize: PAGE });
  }
  tbody.replaceChildren();
  const add = (records) => {
    for (const r of records) {
      rememberName(r.Id, object, recordName(object, r));
      tbody.append(h('tr', {}, cols.map((c, i) => {
        const v = cell(r, c.path);
        const text = formatValue(v, c.type);
        if (i === 0) return h('td', {}, h('a', { href: `/console/r/${r.Id}`, 'data-nav': '' }, text || r.Id));
        if (c.type === 'phone' && v) return h('td', {}, phoneNode(v, ctxOf(object, r)));
        const num = ['currency', 'int', 'double', 'percent'].includes(c.type);
        return h('td', { class: num ? 'num' : null, title: text || null }, text);
      })));
    }
  };
  let shown = 0;
  const drawFoot = (r) => {
    shown += r.records.length;
    const btn = r.nextRecordsUrl ? h('button', { type: 'button', class: 'btn btn-sm', onclick: async (e) => {
      e.target.disabled = true; e.target.textContent = 'Loading…';
      const n = await more(r.nextRecordsUrl);
      add(n.records);
      drawFoot(n);
    } }, 'Show more') : null;
    replace(foot, h('span', {}, `${shown} of ${r.totalSize}`), btn);
  };
  if (!res.records.length) tbody.append(h('tr', {}, h('td', { colspan: String(cols.length), class: 'muted' }, `No ${d.labelPlural.toLowerCase()} you can see yet.`)));
  add(res.records);
  drawFoot(res);
  return { title: d.labelPlural };
}

/** Who a phone number on a row belongs to (for onClickToDial). */
export function ctxOf(object, r) {
  const person = object === 'Account' && r.IsPersonAccount === true;
  return {
    recordId: r.Id, recordName: recordName(object, r), objectType: object, personAccount: person,
    accountId: object === 'Account' ? r.Id : (r.AccountId || null),
    contactId: object === 'Contact' ? r.Id : null,
  };
}
