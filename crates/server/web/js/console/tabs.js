// Workspace tabs: a Main tab for home, lists and search, and one tab per
// opened record (kept for the browser session), as in a service console.

import { h, replace } from '../lib/dom.js';
import { navigate } from './app.js';

const KEY = 'dialtone.tabs.v1';
const MAX_TABS = 12;
let tabs = load();
let mainPath = sessionStorage.getItem(`${KEY}.main`) || '/console';
let mainLabel = 'Home';
let active = null;

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || []; } catch { return []; }
}
function save() {
  sessionStorage.setItem(KEY, JSON.stringify(tabs));
  sessionStorage.setItem(`${KEY}.main`, mainPath);
}

/** The current page is a non-record page: the Main tab shows it. */
export function showMain(path, label) {
  mainPath = path;
  mainLabel = label;
  active = null;
  save();
  draw();
}

/** The current page is a record: its tab opens (or comes forward). */
export function showRecord(id, path, object) {
  let t = tabs.find((x) => x.id === id);
  if (!t) {
    t = { id, path, object, label: 'Loading…' };
    tabs.push(t);
    if (tabs.length > MAX_TABS) tabs.splice(0, tabs.length - MAX_TABS);
  }
  t.path = path;
  active = id;
  save();
  draw();
}

export function labelRecord(id, label, object) {
  const t = tabs.find((x) => x.id === id);
  if (!t) return;
  t.label = label || id;
  if (object) t.object = object;
  save();
  draw();
}

export function closeTab(id) {
  const i = tabs.findIndex((x) => x.id === id);
  if (i < 0) return;
  tabs.splice(i, 1);
  save();
  if (active === id) {
    const next = tabs[i] || tabs[i - 1];
    navigate(next ? next.path : mainPath);
  } else {
    draw();
  }
}

export function closeActive() { if (active) closeTab(active); }

/** Alt+N: the Nth tab (1 = Main). */
export function selectIndex(n) {
  if (n === 1) navigate(mainPath);
  else if (tabs[n - 2]) navigate(tabs[n - 2].path);
}

export function recentTabs() { return tabs.slice().reverse(); }

function draw() {
  const bar = document.getElementById('tabs');
  const mainTab = h('button', {
    type: 'button', role: 'tab', class: 'tab tab-home', 'aria-selected': String(active === null),
    onclick: () => navigate(mainPath),
  }, h('span', { class: 'tab-label' }, mainLabel));
  const recordTabs = tabs.map((t) => h('div', {
    role: 'tab', class: 'tab', tabindex: '0', 'aria-selected': String(active === t.id), title: `${t.object || ''} ${t.label}`.trim(),
    dataset: { recordId: t.id },
    onclick: (e) => { if (!e.target.closest('.tab-close')) navigate(t.path); },
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); navigate(t.path); } if (e.key === 'Delete') closeTab(t.id); },
  },
  t.object ? h('span', { class: 'tab-kind' }, shortKind(t.object)) : null,
  h('span', { class: 'tab-label' }, t.label),
  h('button', { type: 'button', class: 'tab-close', 'aria-label': `Close ${t.label}`, title: 'Close (Alt+W)', onclick: () => closeTab(t.id) }, '×')));
  replace(bar, mainTab, recordTabs);
}

function shortKind(object) {
  return { VoiceCall: 'Call', Opportunity: 'Opp' }[object] || object;
}

draw();
