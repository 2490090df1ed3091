// The flow editor of the console's Flows page: one flow as a form (what it
// runs on, when, its condition or threshold, its actions in order). "Check"
// asks the server to check it without saving (?dryRun=true); "Save" writes it
// through /api/flows/flows, which checks it the same way as an imported file
// and refuses it whole, listing every problem, when anything is wrong.

import { request } from '../lib/api.js';
import { h, replace, toast } from '../lib/dom.js';
import { describe, loadGlobal } from './meta.js';
import { modal } from './modal.js';

export const WHEN = { created: 'When created', updated: 'When updated', createdOrUpdated: 'When created or updated', changedTo: 'When a field changes to', threshold: 'Threshold alert' };
const ACTIONS = { update: 'Update fields', create: 'Create a record', convertLead: 'Convert the Lead', webhook: 'Call a webhook (signed)', callback: 'Request a callback' };
const NOT_FLOW_OBJECTS = ['Flow', 'FlowRun'];
let serial = 0;

const fieldNames = async (object) => {
  try { return (await describe(object)).fields; } catch { return []; }
};

/** A datalist of an object's field names (refilled when the object changes). */
function fieldList(object, filter = () => true) {
  const list = h('datalist', { id: `flow-fields-${++serial}` });
  const fill = async (o) => replace(list, (await fieldNames(o)).filter(filter).map((f) => h('option', { value: f.name }, f.label)));
  fill(object);
  return { list, fill };
}

function labelled(text, input, { wide = false, hint } = {}) {
  return h('div', { class: wide ? 'wide' : null }, h('label', { for: input.id }, text), input, hint ? h('div', { class: 'muted small' }, hint) : null);
}

const input = (attrs) => h('input', { type: 'text', id: `flow-in-${++serial}`, ...attrs });

/** Rows of field = value; returns {el, read}. */
function fieldRows(values, listOf) {
  const rows = h('div', { class: 'flow-field-rows' });
  const add = (k = '', v = '') => {
    const key = input({ value: k, list: listOf().id, placeholder: 'Field', 'aria-label': 'Field', spellcheck: 'false', class: 'flow-field-name' });
    const val = input({ value: v, placeholder: 'Value, e.g. {!Name} or {!$Today+1}', 'aria-label': 'Value', class: 'flow-field-value' });
    const row = h('div', { class: 'flow-field-row' }, key, val,
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': 'Remove field', onclick: () => row.remove() }, '×'));
    rows.append(row);
  };
  for (const [k, v] of Object.entries(values || {})) add(k, v);
  if (!Object.keys(values || {}).length) add();
  const read = () => Object.fromEntries(Array.from(rows.querySelectorAll('.flow-field-row'))
    .map((r) => [r.querySelector('.flow-field-name').value.trim(), r.querySelector('.flow-field-value').value])
    .filter(([k]) => k));
  return { el: h('div', {}, rows, h('button', { type: 'button', class: 'btn btn-sm', onclick: () => add() }, '+ Field')), read };
}

/** One action's card: its kind and the inputs of that kind. */
function actionCard(action, ctx, { onRemove, onMove }) {
  const kind0 = Object.keys(action || {})[0] || 'create';
  const spec0 = (action || {})[kind0] || {};
  const kind = h('select', { class: 'flow-action-kind', 'aria-label': 'Action' }, Object.entries(ACTIONS).map(([k, l]) => h('option', { value: k, selected: k === kind0 }, l)));
  const body = h('div', { class: 'form-grid' });
  let read = () => ({});
  const draw = (k, spec) => {
    if (k === 'update') {
      const record = input({ value: spec.record || '', list: ctx.refs.id, placeholder: 'This record', spellcheck: 'false', class: 'flow-update-record' });
      const target = fieldList(ctx.object());
      const rows = fieldRows(spec.fields, () => target.list);
      replace(body, target.list,
        labelled('On the record in (leave empty for the record itself)', record, { wide: true, hint: 'A reference field, e.g. WhoId or RelatedRecordId.' }),
        h('div', { class: 'wide' }, h('label', {}, 'Set'), rows.el));
      read = () => ({ update: { ...(record.value.trim() ? { record: record.value.trim() } : {}), fields: rows.read() } });
    } else if (k === 'create') {
      const object = input({ value: spec.object || 'Task', list: ctx.objects.id, spellcheck: 'false', class: 'flow-create-object' });
      const target = fieldList(object.value);
      object.addEventListener('change', () => target.fill(object.value.trim()));
      const rows = fieldRows(spec.fields, () => target.list);
      replace(body, target.list, labelled('Object', object), h('div', { class: 'wide' }, h('label', {}, 'With'), rows.el));
      read = () => ({ create: { object: object.value.trim(), fields: rows.read() } });
    } else if (k === 'convertLead') {
      const lead = input({ value: spec.lead || '', list: ctx.refs.id, placeholder: 'This record (a Lead)', spellcheck: 'false' });
      replace(body, labelled('The Lead in (leave empty when the flow runs on a Lead)', lead, { wide: true }));
      read = () => ({ convertLead: lead.value.trim() ? { lead: lead.value.trim() } : {} });
    } else if (k === 'webhook') {
      const url = input({ type: 'url', value: spec.url || '', placeholder: 'https://…', class: 'flow-webhook-url' });
      const secret = input({ value: spec.secret || '', placeholder: 'flows.webhook', spellcheck: 'false' });
      replace(body, labelled('URL', url, { wide: true }),
        labelled('Signing secret (a stored credential)', secret, { wide: true, hint: 'Store it with: dialtone credential set NAME' }));
      read = () => ({ webhook: { url: url.value.trim(), secret: secret.value.trim() } });
    } else {
      replace(body, h('p', { class: 'muted wide' }, 'Routing calls the caller back on the call\'s queue (a flow on VoiceCall).'));
      read = () => ({ callback: {} });
    }
  };
  draw(kind0, spec0);
  kind.addEventListener('change', () => draw(kind.value, {}));
  const card = h('div', { class: 'flow-action', dataset: { action: '' } },
    h('div', { class: 'flow-action-head' }, h('span', { class: 'flow-action-n' }), kind,
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': 'Move up', onclick: () => onMove(card, -1) }, '↑'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': 'Move down', onclick: () => onMove(card, 1) }, '↓'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': 'Remove action', onclick: () => onRemove(card) }, 'Remove')),
    body);
  card.read = () => read();
  return card;
}

/** Opens the editor for `entry` (a flow with its id) or a new flow; `after` runs once saved or deleted. */
export async function openFlowEditor(entry, after) {
  const f = entry || { name: '', object: 'VoiceCall', when: 'created', actions: [{ create: { object: 'Task', fields: { Subject: '' } } }] };
  const objects = (await loadGlobal()).filter((o) => !NOT_FLOW_OBJECTS.includes(o.name));
  const objectsList = h('datalist', { id: `flow-objects-${++serial}` }, objects.map((o) => h('option', { value: o.name }, o.label)));
  const refs = h('datalist', { id: `flow-refs-${++serial}` });
  const fields = h('datalist', { id: `flow-trigger-fields-${++serial}` });
  const times = h('datalist', { id: `flow-times-${++serial}` });

  const name = input({ value: f.name, maxlength: '80', required: true, id: 'flow-name' });
  const object = input({ value: f.object, list: objectsList.id, spellcheck: 'false', id: 'flow-object' });
  const when = h('select', { id: 'flow-when' }, Object.entries(WHEN).map(([k, l]) => h('option', { value: k, selected: k === f.when }, l)));
  const field = input({ value: f.field || '', list: fields.id, spellcheck: 'false', id: 'flow-field' });
  const value = input({ value: f.value || '', id: 'flow-value' });
  const condition = h('textarea', { id: 'flow-condition', rows: '2', spellcheck: 'false', placeholder: "e.g. CallType = 'Inbound' AND Account.Rating = 'Hot'" }, f.condition || '');
  const t = f.threshold || {};
  const num = (v, attrs = {}) => input({ type: 'number', step: 'any', value: v ?? '', ...attrs });
  const th = {
    count: input({ value: t.count || '', spellcheck: 'false', id: 'flow-th-count', placeholder: "ScreenPopOutcome = 'Failed'" }),
    outOf: input({ value: t.outOf || '', spellcheck: 'false', id: 'flow-th-outof', placeholder: 'ScreenPopOutcome != null' }),
    windowField: input({ value: t.windowField || '', list: times.id, spellcheck: 'false', id: 'flow-th-window-field' }),
    windowMinutes: num(t.windowMinutes ?? 5, { id: 'flow-th-window', step: '1', min: '1' }),
    percent: num(t.percent ?? '', { id: 'flow-th-percent', min: '0', max: '100' }),
    minimumCount: num(t.minimumCount ?? '', { id: 'flow-th-minimum', step: '1', min: '1' }),
    cooldownMinutes: num(t.cooldownMinutes ?? '', { id: 'flow-th-cooldown', step: '1', min: '0' }),
  };
  const order = num(f.order ?? 100, { step: '1', id: 'flow-order' });
  const active = h('input', { type: 'checkbox', id: 'flow-active', checked: f.active !== false });
  const description = h('textarea', { id: 'flow-description', rows: '2' }, f.description || '');

  const refill = async () => {
    const list = await fieldNames(object.value.trim());
    replace(fields, list.map((x) => h('option', { value: x.name }, x.label)));
    replace(refs, list.filter((x) => x.type === 'reference').map((x) => h('option', { value: x.name }, x.label)));
    replace(times, list.filter((x) => x.type === 'datetime').map((x) => h('option', { value: x.name }, x.label)));
  };
  object.addEventListener('change', refill);
  await refill();

  const ctx = { objects: objectsList, refs, object: () => object.value.trim() };
  const actions = h('div', { class: 'flow-actions', id: 'flow-actions' });
  const renumber = () => Array.from(actions.children).forEach((c, i) => { c.querySelector('.flow-action-n').textContent = `${i + 1}.`; });
  const handlers = {
    onRemove: (card) => { card.remove(); renumber(); },
    onMove: (card, d) => {
      const sib = d < 0 ? card.previousElementSibling : card.nextElementSibling;
      if (sib) { if (d < 0) sib.before(card); else sib.after(card); }
      renumber();
    },
  };
  const addAction = (a) => { actions.append(actionCard(a, ctx, handlers)); renumber(); };
  (f.actions || []).forEach(addAction);

  const changed = h('div', { class: 'form-grid' }, labelled('Field', field), labelled('Changes to', value));
  const threshold = h('div', { class: 'form-grid' },
    labelled('Count the records where (SOQL WHERE)', th.count, { wide: true }),
    labelled('Out of the records where (SOQL WHERE)', th.outOf, { wide: true }),
    labelled('Window field (date-time)', th.windowField), labelled('Window (minutes)', th.windowMinutes),
    labelled('Alert above (%)', th.percent), labelled('Only once at least (records)', th.minimumCount),
    labelled('Then quiet for (minutes)', th.cooldownMinutes));
  const conditionBox = labelled('Only when (SOQL WHERE, optional)', condition, { wide: true, hint: "A parent's fields by name: Account.Rating. The record is seen as saved." });
  const show = () => {
    changed.hidden = when.value !== 'changedTo';
    threshold.hidden = when.value !== 'threshold';
  };
  when.addEventListener('change', show);
  show();

  const problems = h('div', { role: 'alert', id: 'flow-problems' });
  const body = h('form', { novalidate: true, id: 'flow-form' },
    objectsList, refs, fields, times, problems,
    h('div', { class: 'form-grid' },
      labelled('Name', name), labelled('Runs on (object)', object),
      labelled('Runs', when), labelled('Order (lowest first)', order),
      h('div', {}, h('label', { class: 'checkbox', for: active.id }, active, 'Active'))),
    changed, threshold,
    h('div', { class: 'form-grid' }, conditionBox, labelled('Description', description, { wide: true })),
    h('h3', { class: 'flow-actions-head' }, 'Actions, in order'),
    h('p', { class: 'muted small' }, 'Values may use merge fields: {!Name}, {!Account.Name}, {!$Now}, {!$Today}, {!$Today+2}. Alerts: {!Count}, {!Total}, {!Percent}.'),
    actions,
    h('button', { type: 'button', class: 'btn btn-sm', id: 'flow-add-action', onclick: () => addAction({ update: { fields: {} } }) }, '+ Action'));

  const read = () => {
    const out = { name: name.value.trim(), object: object.value.trim(), when: when.value };
    if (when.value === 'changedTo') { out.field = field.value.trim(); out.value = value.value; }
    if (condition.value.trim() && when.value !== 'threshold') out.condition = condition.value.trim();
    if (when.value === 'threshold') {
      const n = (el) => (el.value.trim() === '' ? undefined : Number(el.value));
      out.threshold = { count: th.count.value.trim(), outOf: th.outOf.value.trim(), windowField: th.windowField.value.trim(), windowMinutes: n(th.windowMinutes) ?? 5, percent: n(th.percent) ?? 0 };
      if (n(th.minimumCount) !== undefined) out.threshold.minimumCount = n(th.minimumCount);
      if (n(th.cooldownMinutes) !== undefined) out.threshold.cooldownMinutes = n(th.cooldownMinutes);
    }
    if (order.value.trim() !== '') out.order = Number(order.value);
    out.active = active.checked;
    if (description.value.trim()) out.description = description.value.trim();
    out.actions = Array.from(actions.children).map((c) => c.read());
    return out;
  };
  const showProblems = (e) => {
    const list = Array.isArray(e.body) ? e.body.map((x) => x.message) : [e.message];
    replace(problems, h('div', { class: 'notice notice-error' }, h('strong', {}, list.length === 1 ? 'This flow cannot be saved:' : `This flow cannot be saved (${list.length} problems):`),
      h('ul', {}, list.map((m) => h('li', {}, m)))));
    problems.scrollIntoView?.({ block: 'nearest' });
  };
  const path = entry ? `/api/flows/flows/${entry.id}` : '/api/flows/flows';
  const method = entry ? 'PUT' : 'POST';
  const busy = (b, label) => { for (const x of [check, save]) x.disabled = b; if (label) save.textContent = label; };
  const check = h('button', { type: 'button', class: 'btn', id: 'flow-check', onclick: async () => {
    busy(true);
    try {
      await request(method, `${path}?dryRun=true`, read());
      replace(problems, h('p', { class: 'notice notice-ok' }, 'No problems: the flow can be saved.'));
    } catch (e) { showProblems(e); } finally { busy(false); }
  } }, 'Check');
  const save = h('button', { type: 'submit', class: 'btn btn-primary', form: 'flow-form', id: 'flow-save' }, 'Save');
  const remove = entry ? h('button', { type: 'button', class: 'btn btn-danger', id: 'flow-delete', onclick: async () => {
    if (!confirm(`Delete the flow "${entry.name}"? Its past runs stay.`)) return;
    try { await request('DELETE', path); m.close(); toast('Flow deleted.'); after(); } catch (e) { showProblems(e); }
  } }, 'Delete') : null;
  const m = modal({ title: entry ? `Edit flow: ${entry.name}` : 'New flow', label: 'flow-editor', body,
    foot: [remove, h('span', { class: 'spacer' }), h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), check, save] });
  m.root.classList.add('modal-wide');
  body.addEventListener('submit', async (e) => {
    e.preventDefault();
    busy(true, 'Saving…');
    try {
      await request(method, path, read());
      m.close();
      toast(entry ? 'Flow saved.' : 'Flow created.');
      after();
    } catch (err) { busy(false, 'Save'); showProblems(err); }
  });
}
