// Performing a screen pop (docs/DESKTOP.md §2, Pop): open the record, show
// the chooser, open a prefilled New form, or the fallback form with its
// reason — never a blank screen. Pops are de-duplicated by call key, so a
// reconnect or a second copy of the same offer never pops twice.

import { navigate } from './app.js';
import { openChooser, openNewRecord } from './modal.js';
import { rememberName } from './meta.js';
import { post } from '../lib/api.js';
import { toast } from '../lib/dom.js';

/** Tells the server which record the call is about (picked or created from a pop). */
function relate(key, recordId) {
  if (!key || !recordId) return;
  post(`/api/desktop/calls/${encodeURIComponent(key)}/relate`, { recordId })
    .catch((err) => toast(`The call could not be linked to the record: ${err.message}`, 'error'));
}

const popped = new Set(JSON.parse(sessionStorage.getItem('dialtone.popped') || '[]'));

function remember(key) {
  popped.add(key);
  sessionStorage.setItem('dialtone.popped', JSON.stringify([...popped].slice(-200)));
}

/**
 * @param {object} pop the Pop
 * @param {object} [o]
 * @param {string} [o.key] the call key: a key already popped is not popped again
 * @param {object} [o.defaultFieldValues] merged over the pop's new-record fields
 * @returns {boolean} whether something was shown
 */
export function performPop(pop, { key, defaultFieldValues } = {}) {
  if (!pop || typeof pop !== 'object') return false;
  if (key) {
    if (popped.has(key)) return false;
    remember(key);
  }
  const records = Array.isArray(pop.records) ? pop.records : [];
  for (const r of records) rememberName(r.id, r.object, r.name);
  const openNew = (notice) => {
    const nr = pop.newRecord;
    if (!nr || !nr.object) return false;
    openNewRecord(nr.object, { ...(nr.fields || {}), ...(defaultFieldValues || {}) }, undefined, { notice })
      .then((id) => relate(key, id));
    return true;
  };
  switch (pop.outcome) {
    case 'matched':
      if (!records[0]) return false;
      navigate(`/console/r/${records[0].id}`);
      return true;
    case 'chooser':
      openChooser(pop, { onNew: pop.newRecord ? () => openNew() : null, onPick: (id) => relate(key, id) });
      return true;
    case 'new':
      return openNew(pop.hiddenMatches ? `${pop.hiddenMatches} record(s) with this number exist that you may not see.` : null);
    case 'fallback':
      return openNew(pop.reason ? `No caller match: ${pop.reason}.` : 'The caller could not be identified.');
    default:
      return false;
  }
}
