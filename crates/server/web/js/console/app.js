// Shared console state: the session document, the current view (what
// Open CTI's getAppViewInfo and onNavigationChange report), click-to-dial,
// and navigation.

import { h } from '../lib/dom.js';
import { toast } from '../lib/dom.js';
import { formatPhone } from '../lib/format.js';

export const app = {
  session: null,
  /** {url, recordId, objectType, recordName, accountId, contactId, personAccount} */
  view: { url: location.pathname },
  clickToDial: false,
  /** Set by bridge.js: sends an event to the adapter; false when it has no listener. */
  emit: () => false,
  /** Set by main.js: renders the current URL. */
  render: () => {},
  /** Set by main.js: reloads the current view's data (Open CTI refreshView). */
  refresh: () => {},
  viewListeners: [],
};

export function navigate(path, { replace = false } = {}) {
  if (path === location.pathname + location.search) { app.render(); return; }
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  app.render();
}

/** The current view changed (a record finished loading, or a list opened). */
export function setView(info) {
  app.view = {
    url: location.href,
    recordId: info.recordId ?? null,
    objectType: info.objectType ?? null,
    recordName: info.recordName ?? null,
    accountId: info.accountId ?? null,
    contactId: info.contactId ?? null,
    personAccount: Boolean(info.personAccount),
  };
  for (const l of app.viewListeners) l(app.view);
}

/**
 * A phone value: plain text, or a click-to-dial link while the softphone has
 * click-to-dial enabled. `ctx` is the record it belongs to.
 */
export function phoneNode(number, ctx) {
  const span = h('span', { class: 'phone', dataset: { phone: number } });
  span._ctx = ctx || {};
  fillPhone(span);
  return span;
}

function fillPhone(span) {
  const number = span.dataset.phone;
  // Shown as people read it; dialled and reported (onClickToDial) as stored.
  const shown = formatPhone(number);
  if (!app.clickToDial) { span.replaceChildren(document.createTextNode(shown)); return; }
  const a = h('a', { class: 'c2d', href: `tel:${number.replace(/[^0-9+]/g, '')}`, title: `Call ${shown}` }, shown);
  a.addEventListener('click', (e) => {
    e.preventDefault();
    const c = span._ctx;
    const payload = {
      number,
      recordId: c.recordId ?? null,
      recordName: c.recordName ?? null,
      objectType: c.objectType ?? null,
      personAccount: Boolean(c.personAccount),
      accountId: c.accountId ?? null,
      contactId: c.contactId ?? null,
    };
    if (!app.emit('onClickToDial', payload)) toast('The softphone does not take click-to-dial right now.', 'error');
  });
  span.replaceChildren(a);
}

export function setClickToDial(on) {
  app.clickToDial = Boolean(on);
  document.body.classList.toggle('c2d-on', app.clickToDial);
  for (const s of document.querySelectorAll('[data-phone]')) fillPhone(s);
}
