// Modals: the New/Edit record form (fields from describe, default values
// from a screen pop or an adapter), and the chooser for screen pops that
// matched several records. Focus is trapped inside and restored after.

import { DATA, post, patch, isRecordId } from '../lib/api.js';
import { h, replace, toast } from '../lib/dom.js';
import { describe, nameOf, rememberName } from './meta.js';
import { navigate } from './app.js';

const FORM_FIELDS = {
  Contact: ['Salutation', 'FirstName', 'LastName', 'AccountId', 'Title', 'Department', 'Phone', 'MobilePhone', 'Email', 'LeadSource', 'DoNotCall', 'Description'],
  Lead: ['Salutation', 'FirstName', 'LastName', 'Company', 'Title', 'Phone', 'MobilePhone', 'Email', 'Status', 'LeadSource', 'DoNotCall', 'Description'],
  Account: ['Name', 'Type', 'Industry', 'Phone', 'Website', 'BillingCity', 'BillingCountry', 'Description'],
  Case: ['Subject', 'Status', 'Priority', 'Origin', 'Type', 'Reason', 'ContactId', 'AccountId', 'SuppliedPhone', 'Description'],
  Opportunity: ['Name', 'AccountId', 'StageName', 'CloseDate', 'Amount', 'Probability', 'Description'],
  Task: ['Subject', 'Status', 'Priority', 'ActivityDate', 'WhoId', 'WhatId', 'CallType', 'CallDisposition', 'Description'],
};

let openModal = null;

/** Opens a modal; returns {close, root}. Esc and the backdrop close it. */
export function modal({ title, body, foot, label, onClose, initialFocus }) {
  if (openModal) openModal.close();
  const before = document.activeElement;
  const titleId = `modal-title-${Date.now()}`;
  const box = h('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId, dataset: { modal: label || '' } },
    h('div', { class: 'modal-head' }, h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': 'Close', onclick: () => close() }, '×')),
    h('div', { class: 'modal-body' }, body),
    foot ? h('div', { class: 'modal-foot' }, foot) : null);
  const backdrop = h('div', { class: 'modal-backdrop', onmousedown: (e) => { if (e.target === backdrop) close(); } }, box);
  const onKey = (e) => {
    if (e.key === 'Escape') { e.preventDefault(); close(); }
    if (e.key === 'Tab') {
      const f = Array.from(box.querySelectorAll('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')).filter((x) => !x.disabled);
      if (!f.length) return;
      const first = f[0], last = f[f.length - 1];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
    }
  };
  backdrop.addEventListener('keydown', onKey);
  document.getElementById('modal-root').append(backdrop);
  const close = () => {
    backdrop.remove();
    if (openModal?.root === box) openModal = null;
    if (before && before.isConnected) before.focus();
    if (onClose) onClose();
  };
  openModal = { close, root: box };
  (initialFocus ? box.querySelector(initialFocus) : null || box.querySelector('input, select, textarea, button.btn-primary'))?.focus();
  return openModal;
}

function inputFor(f, value) {
  const id = `f-${f.name}`;
  const common = { id, name: f.name, 'aria-describedby': `${id}-err` };
  const v = value === null || value === undefined ? '' : value;
  switch (f.type) {
    case 'boolean': return h('input', { ...common, type: 'checkbox', checked: Boolean(value) });
    case 'textarea': return h('textarea', { ...common, rows: f.length > 255 ? '4' : '2', maxlength: String(f.length || 32000) }, String(v));
    case 'picklist': {
      const sel = h('select', common, h('option', { value: '' }, '— None —'),
        f.picklistValues.map((p) => h('option', { value: p.value, selected: String(v) === p.value }, p.label)));
      if (v && !f.picklistValues.some((p) => p.value === String(v))) sel.append(h('option', { value: String(v), selected: true }, String(v)));
      return sel;
    }
    case 'date': return h('input', { ...common, type: 'date', value: String(v).slice(0, 10) });
    case 'datetime': return h('input', { ...common, type: 'datetime-local', value: String(v).slice(0, 16) });
    case 'currency': case 'double': case 'percent': return h('input', { ...common, type: 'number', step: 'any', value: String(v) });
    case 'int': return h('input', { ...common, type: 'number', step: '1', value: String(v) });
    case 'email': return h('input', { ...common, type: 'email', value: String(v), maxlength: String(f.length || 80) });
    case 'phone': return h('input', { ...common, type: 'tel', value: String(v), maxlength: '40' });
    case 'url': return h('input', { ...common, type: 'url', value: String(v) });
    case 'reference': return h('input', { ...common, type: 'text', value: String(v), placeholder: `${f.referenceTo.join(' or ')} id`, spellcheck: 'false' });
    default: return h('input', { ...common, type: 'text', value: String(v), maxlength: f.length ? String(f.length) : null });
  }
}

function readInput(f, el) {
  if (f.type === 'boolean') return el.checked;
  const v = el.value.trim();
  if (v === '') return null;
  if (['currency', 'double', 'percent', 'int'].includes(f.type)) return Number(v);
  if (f.type === 'datetime') return new Date(v).toISOString();
  return v;
}

/**
 * The record form. `defaults` prefill it (screen pop defaultFieldValues);
 * names that are not createable fields are listed as ignored, not sent.
 */
function recordForm({ object, d, values, editing, notice }) {
  const names = FORM_FIELDS[object] || d.fields.filter((f) => f.createable).slice(0, 12).map((f) => f.name);
  const extra = Object.keys(values).filter((k) => !names.includes(k));
  const usable = (f) => f && (editing ? f.updateable : f.createable);
  const fields = [...names, ...extra].map((n) => d.fields.find((f) => f.name === n)).filter(usable);
  const ignored = Object.keys(values).filter((k) => !usable(d.fields.find((f) => f.name === k)) && !(editing && k === 'Id'));
  const inputs = new Map();
  const grid = h('div', { class: 'form-grid' }, fields.map((f) => {
    const el = inputFor(f, values[f.name] ?? (editing ? null : f.defaultValue));
    inputs.set(f.name, el);
    const required = !f.nillable && f.createable && f.type !== 'boolean' && !f.defaultedOnCreate;
    const wide = f.type === 'textarea';
    const hint = f.type === 'reference' ? h('div', { class: 'muted ref-hint', id: `f-${f.name}-hint` }) : null;
    if (hint) {
      const show = async () => { const v = el.value.trim(); replace(hint, isRecordId(v) ? ((await nameOf(v))?.name || 'Not found, or not visible to you') : ''); };
      el.addEventListener('change', show); show();
    }
    if (f.type === 'boolean') {
      return h('div', { class: wide ? 'wide' : null }, h('label', { class: 'checkbox', for: el.id }, el, f.label), h('div', { class: 'field-error', id: `f-${f.name}-err` }));
    }
    return h('div', { class: wide ? 'wide' : null },
      h('label', { for: el.id }, f.label.replace(/ ID$/, ''), required ? h('abbr', { class: 'req', title: 'required' }, '*') : null),
      el, hint, h('div', { class: 'field-error', id: `f-${f.name}-err` }));
  }));
  const top = h('div', { class: 'form-top' },
    notice ? h('p', { class: 'notice notice-warn', role: 'note' }, notice) : null,
    ignored.length ? h('p', { class: 'notice notice-warn' }, `Not fields you can fill on a ${d.label}, so left out: ${ignored.join(', ')}`) : null);
  const error = h('div', { role: 'alert', class: 'form-error' });
  return { body: h('form', { novalidate: true, id: 'record-form' }, top, error, grid), inputs, fields, error };
}

function showErrors(e, inputs, error) {
  for (const el of inputs.values()) { el.removeAttribute('aria-invalid'); const m = document.getElementById(`${el.id}-err`); if (m) m.textContent = ''; }
  const errs = Array.isArray(e.body) ? e.body : [{ message: e.message, fields: e.fields }];
  const general = [];
  for (const x of errs) {
    const fields = x.fields || [];
    const targets = fields.map((f) => inputs.get(f)).filter(Boolean);
    if (!targets.length) general.push(x.message);
    for (const el of targets) { el.setAttribute('aria-invalid', 'true'); const m = document.getElementById(`${el.id}-err`); if (m) m.textContent = x.message; }
  }
  replace(error, general.length ? h('p', { class: 'notice notice-error' }, general.join(' ')) : '');
  (document.querySelector('#record-form [aria-invalid="true"]') || error).focus?.();
}

/** New record modal. Resolves with the new id, or null when cancelled. */
export async function openNewRecord(object, defaults = {}, after, { notice } = {}) {
  const d = await describe(object);
  if (!d.createable) { toast(`You may not create ${d.labelPlural}.`, 'error'); return null; }
  return new Promise((resolve) => {
    const { body, inputs, fields, error } = recordForm({ object, d, values: defaults, editing: false, notice });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', form: 'record-form' }, 'Save');
    let done = false;
    const m = modal({ title: `New ${d.label}`, label: `new-${object}`, body, foot: [h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), save], onClose: () => { if (!done) resolve(null); } });
    body.addEventListener('submit', async (e) => {
      e.preventDefault();
      const values = {};
      for (const f of fields) { const v = readInput(f, inputs.get(f.name)); if (v !== null && v !== false) values[f.name] = v; else if (v === false && defaults[f.name] !== undefined) values[f.name] = false; }
      save.disabled = true; save.textContent = 'Saving…';
      try {
        const res = await post(`${DATA}/sobjects/${object}`, values);
        done = true;
        m.close();
        toast(`${d.label} created.`);
        rememberName(res.id, object, null);
        resolve(res.id);
        if (after) after(res.id); else navigate(`/console/r/${res.id}`);
      } catch (err) {
        save.disabled = false; save.textContent = 'Save';
        showErrors(err, inputs, error);
      }
    });
  });
}

export async function openEditRecord(object, rec, after) {
  const d = await describe(object);
  const { body, inputs, fields, error } = recordForm({ object, d, values: rec, editing: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', form: 'record-form' }, 'Save');
  const m = modal({ title: `Edit ${d.label}`, label: `edit-${object}`, body, foot: [h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), save] });
  body.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = {};
    for (const f of fields) {
      const v = readInput(f, inputs.get(f.name));
      const old = rec[f.name] ?? null;
      if (f.type === 'datetime' ? v?.slice(0, 16) !== old?.slice(0, 16) : v !== old && !(v === false && old === null)) values[f.name] = v;
    }
    save.disabled = true; save.textContent = 'Saving…';
    try {
      if (Object.keys(values).length) await patch(`${DATA}/sobjects/${object}/${rec.Id}`, values);
      m.close();
      toast(`${d.label} saved.`);
      if (after) after();
    } catch (err) {
      save.disabled = false; save.textContent = 'Save';
      showErrors(err, inputs, error);
    }
  });
}

/** The chooser of a screen pop that matched several records. */
export function openChooser(pop, { onNew, onPick } = {}) {
  const list = h('ul', { class: 'chooser' },
    h('li', { class: 'c-head', 'aria-hidden': 'true' }, h('span', {}, 'Type'), h('span', {}, 'Name'), h('span', {}, 'Owner')),
    pop.records.map((r) => {
      rememberName(r.id, r.object, r.name);
      return h('li', {}, h('button', { type: 'button', dataset: { recordId: r.id }, onclick: () => { m.close(); if (onPick) onPick(r.id); navigate(`/console/r/${r.id}`); } },
        h('span', { class: 'muted' }, r.objectLabel || r.object), h('span', {}, h('strong', {}, r.name || r.id), r.phone ? h('span', { class: 'muted' }, ` · ${r.phone}`) : null), r.owner ? h('span', {}, r.owner) : h('span', { class: 'muted', title: 'No owner' }, '—')));
    }));
  const hidden = pop.hiddenMatches ? h('p', { class: 'muted' }, `${pop.hiddenMatches} more record${pop.hiddenMatches === 1 ? '' : 's'} with this number that you may not see.`) : null;
  const foot = [onNew ? h('button', { type: 'button', class: 'btn', onclick: () => { m.close(); onNew(); } }, 'None of these: new record') : null,
    h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Close')];
  const m = modal({ title: `${pop.records.length} records match ${pop.number || 'this call'}`, label: 'chooser', body: [list, hidden], foot, initialFocus: '.chooser li button' });
  return m;
}
