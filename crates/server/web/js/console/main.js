// The console: loads the session, lays out the panel, routes
// /console/… URLs to pages, and — when the adapter is Dialtone's own
// softphone, or the call center is headless — performs screen pops from the
// desktop WebSocket itself (third-party adapters pop through Open CTI's
// screenPop / searchAndScreenPop instead, so a pop never happens twice).

import { get, setCsrfToken, ApiError } from '../lib/api.js';
import { h, replace, toast } from '../lib/dom.js';
import { DesktopSocket } from '../lib/desktop-socket.js';
import { formatDateTime, formatDuration } from '../lib/format.js';
import { app, navigate, setView } from './app.js';
import { initBridge, stats } from './bridge.js';
import { renderList } from './lists.js';
import { describe, loadGlobal, objectOfId, rememberName } from './meta.js';
import { performPop } from './pops.js';
import { renderRecord } from './record.js';
import { initSearch, renderSearchPage } from './search.js';
import * as sp from './softphone-host.js';
import { closeActive, recentTabs, selectIndex, showMain, showRecord } from './tabs.js';
import { renderVoiceCall } from './voicecall.js';
import { renderQueues } from './routing.js';
import { renderHealth } from './health.js';
import { renderDashboard } from './dashboard.js';
import { renderFlows } from './flows.js';

const view = document.getElementById('view');
let current = null;

async function boot() {
  let session;
  try {
    session = await get('/api/desktop/session');
  } catch (e) {
    replace(view, h('div', { class: 'page' }, h('p', { class: 'notice notice-error' }, `The console could not start: ${e.message}`)));
    return;
  }
  app.session = session;
  setCsrfToken(session.csrfToken);
  document.getElementById('logout-csrf').value = session.csrfToken || '';
  replace(document.getElementById('user-name'), session.user.name || session.user.username);
  const p = session.permissions || {};
  document.getElementById('nav-routing').hidden = !(p.monitorQueues || p.viewSetup || p.manageCallCenters || p.manageRouting);
  document.getElementById('nav-health').hidden = !(p.viewSetup || p.manageCallCenters);
  document.getElementById('nav-dashboard').hidden = !p.runReports;
  document.getElementById('nav-flows').hidden = !(p.viewSetup || p.manageFlows);
  initBridge();
  sp.initPanel(session.callCenter);
  const cc = session.callCenter;
  if (cc && (cc.headless || sp.isOwnSoftphone(cc))) startPopSocket();
  initSearch();
  document.addEventListener('click', onLinkClick);
  window.addEventListener('popstate', () => app.render());
  document.addEventListener('keydown', onShortcut);
  app.render = render;
  app.refresh = render;
  document.body.classList.remove('booting');
  loadGlobal().catch(() => {});
  render();
  // For tests and support: what the bridge refused.
  window.dialtoneConsole = { stats, app };
}

/** The host's own socket: pops only (calls are the softphone's business). */
function startPopSocket() {
  app.utterances = new Map();
  const sock = new DesktopSocket({
    onMessage: (m) => {
      if (m.type === 'offer' && m.pop) performPop(m.pop, { key: m.call?.key });
      else if (m.type === 'pop' && m.pop) performPop(m.pop);
      else if (m.type === 'utterance' && m.key) {
        const u = { speaker: m.speaker, text: m.text };
        const list = app.utterances.get(m.key) || [];
        list.push(u);
        app.utterances.set(m.key, list.slice(-500));
        for (const l of app.utteranceListeners || []) l(m.key, u);
      }
    },
    onState: (s) => { document.body.dataset.popSocket = s; },
  });
  sock.start();
}

function onLinkClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !(u.pathname === '/console' || u.pathname.startsWith('/console/'))) return;
  if (u.pathname.startsWith('/console/login') || u.pathname.startsWith('/console/logout')) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
}

function onShortcut(e) {
  if (e.altKey && !e.ctrlKey && !e.metaKey) {
    if (/^Digit[1-9]$/.test(e.code)) { e.preventDefault(); selectIndex(Number(e.code.slice(5))); }
    else if (e.code === 'KeyW') { e.preventDefault(); closeActive(); }
  }
}

function markNav(route) {
  for (const a of document.querySelectorAll('.sidenav a')) {
    if (a.dataset.route === route) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

async function render() {
  if (current) current.abort();
  const ctrl = new AbortController();
  current = ctrl;
  const path = location.pathname.replace(/\/+$/, '') || '/console';
  const params = new URLSearchParams(location.search);
  const full = location.pathname + location.search;
  try {
    let m;
    if (path === '/console') {
      markNav('home'); showMain(full, 'Home'); setView({});
      await renderHome(ctrl.signal);
    } else if ((m = /^\/console\/list\/([A-Za-z][A-Za-z0-9_]*)$/.exec(path))) {
      markNav(m[1]);
      const d = await describe(m[1]);
      showMain(full, d.labelPlural); setView({});
      await renderList(view, m[1], params, ctrl.signal);
    } else if (path === '/console/routing') {
      markNav('routing'); showMain(full, 'Live queues'); setView({});
      await renderQueues(view, ctrl.signal);
    } else if (path === '/console/health') {
      markNav('health'); showMain(full, 'System health'); setView({});
      await renderHealth(view, ctrl.signal);
    } else if (path === '/console/dashboard') {
      markNav('dashboard'); showMain(full, 'Dashboard'); setView({});
      await renderDashboard(view, params, ctrl.signal, navigate);
    } else if (path === '/console/flows') {
      markNav('flows'); showMain(full, 'Flows'); setView({});
      await renderFlows(view, ctrl.signal);
    } else if (path === '/console/search') {
      markNav(null); showMain(full, 'Search'); setView({});
      await renderSearchPage(view, params.get('q') || '', ctrl.signal);
    } else if ((m = /^\/console\/r\/([a-zA-Z0-9]{15,18})$/.exec(path))) {
      const id = m[1];
      const object = await objectOfId(id);
      if (!object) throw new ApiError(404, 'NOT_FOUND', 'No such record.');
      markNav(object);
      showRecord(id, full, object);
      if (object === 'VoiceCall') await renderVoiceCall(view, id, ctrl.signal);
      else await renderRecord(view, object, id, ctrl.signal);
    } else {
      markNav(null); showMain(full, 'Not found'); setView({});
      replace(view, h('div', { class: 'page' }, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/console', 'data-nav': '' }, 'Back to Home'))));
    }
    if (current === ctrl) document.title = `${document.querySelector('#view h1')?.textContent || 'Console'} · Dialtone`;
  } catch (e) {
    if (e.name === 'AbortError' || current !== ctrl) return;
    const msg = e.status === 404 ? 'This record does not exist, or you may not see it.' : e.message;
    replace(view, h('div', { class: 'page' }, h('h1', {}, e.status === 404 ? 'Not found' : 'Something went wrong'), h('p', { class: 'notice notice-error', role: 'alert' }, msg)));
  }
}

async function renderHome(signal) {
  const s = app.session;
  const recent = h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Recently opened')));
  const calls = h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Latest calls')), h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }), h('span', { class: 'skeleton skel-line' })));
  const tabs = recentTabs();
  recent.append(tabs.length
    ? h('ul', { class: 'plain-list' }, tabs.map((t) => h('li', {}, h('a', { href: t.path, 'data-nav': '' }, t.label), h('span', { class: 'right' }, t.object || ''))))
    : h('div', { class: 'card-empty' }, 'Records you open appear here. Press / to search.'));
  const cc = s.callCenter;
  const phoneNote = !cc ? 'You are in no call center, so there is no phone panel.' : cc.headless ? `Call center ${cc.name}: calls are taken on the provider's phone; screen pops appear here.` : `Call center ${cc.name}.`;
  replace(view, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Home'), h('h1', {}, `Hello, ${s.user.name || s.user.username}`), h('p', { class: 'muted' }, phoneNote))),
    h('div', { class: 'home-grid' }, recent, calls)));
  try {
    const { query } = await import('../lib/api.js');
    const res = await query('SELECT Id, Name, CallType, FromPhoneNumber, ToPhoneNumber, CallStartDateTime, CallDurationInSeconds FROM VoiceCall ORDER BY CallStartDateTime DESC NULLS LAST LIMIT 8', { signal });
    calls.lastChild.replaceWith(res.records.length
      ? h('ul', { class: 'plain-list' }, res.records.map((r) => {
        rememberName(r.Id, 'VoiceCall', r.Name);
        return h('li', {}, h('a', { href: `/console/r/${r.Id}`, 'data-nav': '' }, r.Name), h('span', {}, `${r.CallType || ''} ${r.CallType === 'Outbound' ? r.ToPhoneNumber || '' : r.FromPhoneNumber || ''}`),
          h('span', { class: 'right' }, [formatDateTime(r.CallStartDateTime), formatDuration(r.CallDurationInSeconds)].filter(Boolean).join(' · ')));
      }))
      : h('div', { class: 'card-empty' }, 'No calls yet.'));
  } catch (e) {
    if (e.name === 'AbortError') return;
    calls.lastChild.replaceWith(h('div', { class: 'card-empty' }, 'You may not see calls.'));
  }
}

boot().catch((e) => { console.error(e); toast(e.message, 'error'); });
