// The softphone panel: a docked column holding the adapter in a sandboxed
// iframe. If the adapter does not call notifyInitializationComplete within
// the call center's timeout, the standby URL is loaded instead (failover).
// Headless call centers get no panel. Size, label and icon are the
// adapter's to set (Open CTI's setSoftphonePanel* methods).

import { h, replace } from '../lib/dom.js';

const ICONS = { call: '☎', phone: '☎', phone_portrait: '☎', end_call: '⏹', hold: '⏸', pause: '⏸', record: '⏺', mute: '🔇', unmuted: '🔈', volume_high: '🔊', user: '👤', people: '👥', clock: '⏱', error: '⚠', warning: '⚠', success: '✓', info: 'ℹ', close: '×', chat: '💬', voicemail: '✉', forward: '↪', transfer: '↪' };
export const ICON_KEYS = Object.keys(ICONS);
export const LIMITS = { width: [200, 1000], height: [200, 1200] };

export const panel = {
  config: null,
  iframe: null,
  origin: null,
  url: null,
  onStandby: false,
  ready: false,
  visible: true,
  timer: null,
  /** Called when a new document is loaded into the frame (bridge state resets). */
  onReset: () => {},
};

function el(id) { return document.getElementById(id); }

function setState(text, kind) {
  const s = el('softphone-state');
  s.textContent = text;
  s.className = `badge${kind ? ` badge-${kind}` : ''}`;
}

/** Whether the adapter is Dialtone's own softphone (served by this server). */
export function isOwnSoftphone(cc) {
  if (!cc || cc.headless || !cc.adapterUrl) return false;
  try {
    const u = new URL(cc.adapterUrl, location.origin);
    return u.origin === location.origin && u.pathname === '/softphone';
  } catch { return false; }
}

export function initPanel(cc) {
  panel.config = cc;
  const body = document.body;
  if (!cc) { body.classList.add('headless'); return; }
  if (cc.headless || !cc.adapterUrl) { body.classList.add('headless'); return; }
  const item = el('phone-item');
  item.hidden = false;
  item.addEventListener('click', () => setVisible(!panel.visible));
  el('softphone-hide').addEventListener('click', () => setVisible(false));
  setWidth(cc.panel?.width ?? 300);
  setHeight(cc.panel?.height ?? 500);
  setLabel(cc.panel?.label || 'Phone');
  load(cc.adapterUrl, false);
}

function resolve(url) {
  try {
    const u = new URL(url, location.origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u;
  } catch { return null; }
}

function load(url, standby) {
  const u = resolve(url);
  const box = el('softphone-body');
  clearTimeout(panel.timer);
  panel.ready = false;
  panel.onStandby = standby;
  if (!u) {
    replace(box, h('p', { class: 'notice notice-error' }, `The call center's ${standby ? 'standby' : 'adapter'} URL is not a web address: ${url}`));
    setState('Misconfigured', 'danger');
    return;
  }
  panel.url = u.href;
  panel.origin = u.origin;
  const frame = h('iframe', {
    id: 'softphone-frame', title: 'Softphone', src: u.href,
    sandbox: 'allow-scripts allow-same-origin allow-forms allow-popups',
    allow: 'microphone; autoplay', referrerpolicy: 'origin',
    dataset: { role: standby ? 'standby' : 'adapter' },
  });
  panel.iframe = frame;
  panel.onReset();
  replace(box, frame);
  setState(standby ? 'Standby: starting…' : 'Starting…');
  const timeout = Math.max(500, Number(panel.config.timeoutMs) || 5000);
  panel.timer = setTimeout(() => failover(timeout), timeout);
}

function failover(timeout) {
  if (panel.ready) return;
  const cc = panel.config;
  if (!panel.onStandby && cc.standbyUrl) {
    console.warn(`softphone: the adapter did not call notifyInitializationComplete within ${timeout} ms; loading the standby URL`);
    load(cc.standbyUrl, true);
    return;
  }
  setState('Not responding', 'warn');
  el('softphone-body').prepend(h('p', { class: 'notice notice-warn', id: 'softphone-timeout' },
    `The softphone did not report that it started within ${Math.round(timeout / 100) / 10} s${panel.onStandby ? ' (standby too)' : ''}. It may still work; reload the page if it does not.`));
}

/** notifyInitializationComplete: no failover from now on. */
export function markReady() {
  panel.ready = true;
  clearTimeout(panel.timer);
  document.getElementById('softphone-timeout')?.remove();
  setState(panel.onStandby ? 'Standby' : 'Ready', panel.onStandby ? 'warn' : 'ok');
}

export function frameWindow() { return panel.iframe?.contentWindow || null; }

export function setVisible(v) {
  panel.visible = Boolean(v);
  document.body.classList.toggle('softphone-hidden', !panel.visible);
  el('phone-item').setAttribute('aria-expanded', String(panel.visible));
}

const clamp = (n, [lo, hi]) => Math.min(hi, Math.max(lo, n));
export function setWidth(px) { document.body.style.setProperty('--softphone-panel-w', `${clamp(px, LIMITS.width)}px`); }
export function setHeight(px) { document.body.style.setProperty('--softphone-h', `${clamp(px, LIMITS.height)}px`); }
export function setLabel(text) { el('softphone-label').textContent = text; el('softphone-panel').setAttribute('aria-label', text); }
export function setIcon(key) { el('softphone-icon').textContent = ICONS[key] || ICONS.call; }
export function setItemLabel(text) { el('phone-item-label').textContent = text; }
export function setItemIcon(key) { el('phone-item-icon').textContent = ICONS[key] || ICONS.call; }
