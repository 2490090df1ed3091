// Global search: a combobox in the top bar (`/` focuses it, arrows move,
// Enter opens) and the full results page (/console/search?q=…, also Open
// CTI's SEARCH screen pop).

import { get } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { navigate } from './app.js';
import { rememberName } from './meta.js';

export async function searchRecords(q, signal) {
  return get(`/api/desktop/search?q=${encodeURIComponent(q)}`, { signal });
}

export function recordPath(id) { return `/console/r/${id}`; }

export function initSearch() {
  const input = document.getElementById('global-search');
  const list = document.getElementById('search-results');
  let items = [];
  let selected = -1;
  let timer = null;
  let ctrl = null;
  let lastQ = '';

  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); selected = -1; };
  const open = () => { list.hidden = false; input.setAttribute('aria-expanded', 'true'); };
  const select = (i) => {
    const lis = list.querySelectorAll('li[role=option]');
    if (!lis.length) return;
    selected = (i + lis.length) % lis.length;
    lis.forEach((li, j) => li.setAttribute('aria-selected', String(j === selected)));
    input.setAttribute('aria-activedescendant', lis[selected].id);
    lis[selected].scrollIntoView({ block: 'nearest' });
  };
  const choose = (i) => {
    const li = list.querySelectorAll('li[role=option]')[i];
    if (!li) return;
    close();
    input.blur();
    navigate(li.dataset.path);
  };

  async function run(q) {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    lastQ = q;
    try {
      const res = await searchRecords(q, ctrl.signal);
      if (q !== lastQ) return;
      items = res.results;
      draw(q);
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(list, h('li', { class: 'sr-empty' }, e.message));
      open();
    }
  }

  function draw(q) {
    const lis = items.slice(0, 12).map((r, i) => {
      rememberName(r.id, r.object, r.name);
      return h('li', { role: 'option', id: `sr-${i}`, 'aria-selected': 'false', dataset: { path: recordPath(r.id) }, onmousedown: (e) => { e.preventDefault(); choose(i); } },
        h('span', { class: 'sr-object' }, r.isPersonAccount ? 'Person Account' : r.objectLabel),
        h('span', { class: 'sr-name' }, r.name || r.id),
        r.detail ? h('span', { class: 'sr-detail' }, r.detail) : null);
    });
    const all = h('li', { role: 'option', id: `sr-${lis.length}`, class: 'sr-all', 'aria-selected': 'false', dataset: { path: `/console/search?q=${encodeURIComponent(q)}` }, onmousedown: (e) => { e.preventDefault(); choose(lis.length); } },
      `All results for “${q}”`);
    replace(list, lis.length ? lis : h('li', { class: 'sr-empty' }, `Nothing found for “${q}”.`), all);
    open();
    selected = -1;
    if (lis.length) select(0);
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) { close(); return; }
    timer = setTimeout(() => run(q), 160);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); if (list.hidden && input.value.trim().length >= 2) { run(input.value.trim()); } else select(selected + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); select(selected - 1); }
    else if (e.key === 'Enter') {
      e.preventDefault();
      const q = input.value.trim();
      if (selected >= 0 && !list.hidden) choose(selected);
      else if (q) { close(); navigate(`/console/search?q=${encodeURIComponent(q)}`); }
    } else if (e.key === 'Escape') { close(); input.blur(); }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || t.isContentEditable;
    if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); input.focus(); input.select(); }
  });
}

/** The full results page. */
export async function renderSearchPage(view, q, signal) {
  const page = h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Search'), h('h1', {}, `Results for “${q}”`))));
  const card = h('div', { class: 'card' }, h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }), h('span', { class: 'skeleton skel-line' })));
  page.append(card);
  replace(view, page);
  if (q.trim().length < 2) { replace(card, h('div', { class: 'card-empty' }, 'Type at least two characters.')); return; }
  const res = await searchRecords(q, signal);
  if (!res.results.length) { replace(card, h('div', { class: 'card-empty' }, 'Nothing found. Try a phone number, a name, an email or a case number.')); return; }
  const rows = res.results.map((r) => h('tr', {},
    h('td', {}, h('a', { href: recordPath(r.id), 'data-nav': '' }, r.name || r.id)),
    h('td', {}, r.isPersonAccount ? 'Person Account' : r.objectLabel),
    h('td', {}, r.detail || '')));
  replace(card, h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', {}, 'Details'))),
    h('tbody', {}, rows)));
}
