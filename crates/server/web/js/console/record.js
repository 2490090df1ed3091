// Record pages: fields from describe (hidden fields are simply absent: the
// API leaves them out), person fields for Person Accounts, lookups shown by
// name, phone numbers as click-to-dial links, and cheap related lists.

import { loadRuns } from './flows.js';
import { DATA, get, query, soqlString } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formatValue, formatDateTime, formatDuration } from '../lib/format.js';
import { describe, nameOf, recordName, rememberName } from './meta.js';
import { phoneNode, setView } from './app.js';
import { labelRecord } from './tabs.js';

const PERSON_FIELDS = new Set(['Salutation', 'FirstName', 'LastName', 'PersonEmail', 'PersonMobilePhone', 'PersonHomePhone', 'PersonOtherPhone',
  'PersonBirthdate', 'PersonLanguage__c', 'PersonMailingStreet', 'PersonMailingCity', 'PersonMailingState', 'PersonMailingPostalCode', 'PersonMailingCountry']);
const SYSTEM_FIELDS = new Set(['Id', 'OwnerId', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp', 'IsDeleted']);
const HIDDEN_ALWAYS = new Set(['IsPersonAccount', 'IsDeleted', 'SystemModstamp']);

/** The fields that head a record page, per object. */
const HIGHLIGHTS = {
  Contact: ['Title', 'AccountId', 'Phone', 'Email'],
  Lead: ['Company', 'Status', 'Phone', 'Email'],
  Account: ['Type', 'Industry', 'Phone', 'Website'],
  PersonAccount: ['PersonMobilePhone', 'PersonEmail', 'PersonHomePhone', 'PersonMailingCity'],
  Case: ['Status', 'Priority', 'ContactId', 'AccountId'],
  Opportunity: ['AccountId', 'StageName', 'Amount', 'CloseDate'],
  Task: ['Status', 'WhoId', 'WhatId', 'ActivityDate'],
};

/** Who this record is, for Open CTI payloads. */
export function viewInfo(object, rec) {
  const person = object === 'Account' && rec.IsPersonAccount === true;
  return {
    recordId: rec.Id, objectType: object, recordName: recordName(object, rec), personAccount: person,
    accountId: object === 'Account' ? rec.Id : (rec.AccountId || null),
    contactId: object === 'Contact' ? rec.Id : (object === 'Case' ? rec.ContactId || null : null),
  };
}

/** One field's value as nodes. */
export function valueNode(field, value, ctx) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'empty' }, '—');
  switch (field.type) {
    case 'phone': return phoneNode(String(value), ctx);
    case 'email': return h('a', { href: `mailto:${value}` }, String(value));
    case 'url': {
      const ok = /^https?:\/\//i.test(String(value));
      return ok ? h('a', { href: String(value), target: '_blank', rel: 'noopener noreferrer' }, String(value)) : document.createTextNode(String(value));
    }
    case 'reference': case 'id': {
      if (field.type === 'id') return h('span', { class: 'mono' }, String(value));
      const a = h('a', { href: `/console/r/${value}`, 'data-nav': '' }, h('span', { class: 'skeleton', style: null }));
      nameOf(String(value)).then((n) => replace(a, n?.name || String(value)));
      return a;
    }
    default: {
      if (field.name && /DurationInSeconds$|HoldDuration$|AfterCallWorkDuration$/.test(field.name)) return document.createTextNode(formatDuration(value));
      return document.createTextNode(formatValue(value, field.type));
    }
  }
}

function fieldList(fields, rec, ctx) {
  return fields.map((f) => h('div', { class: `field${f.type === 'textarea' && f.length > 255 ? ' field-wide' : ''}`, dataset: { field: f.name } },
    h('dt', {}, f.label.replace(/ ID$/, '')), h('dd', {}, valueNode(f, rec[f.name], ctx))));
}

export function recordHeader(kind, title, actions) {
  return h('div', { class: 'page-head' },
    h('div', {}, h('div', { class: 'kind' }, kind), h('h1', { id: 'record-title' }, title)),
    h('div', { class: 'page-actions' }, actions));
}

/** A skeleton of a record page, the size the page will be. */
export function recordSkeleton() {
  return h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('div', {}, h('span', { class: 'skeleton', style: null }), h('span', { class: 'skeleton skel-title' }))),
    h('div', { class: 'card' }, h('div', { class: 'card-body' }, h('dl', { class: 'fields' },
      Array.from({ length: 10 }, () => h('div', { class: 'field' }, h('dt', {}, h('span', { class: 'skeleton' })), h('dd', {}, h('span', { class: 'skeleton' }))))))));
}

export async function renderRecord(view, object, id, signal) {
  replace(view, recordSkeleton());
  const [d, rec] = await Promise.all([describe(object), get(`${DATA}/sobjects/${object}/${id}`, { signal })]);
  const person = object === 'Account' && rec.IsPersonAccount === true;
  const title = recordName(object, rec) || id;
  const info = viewInfo(object, rec);
  rememberName(id, object, title);
  labelRecord(id, title, person ? 'Person Account' : object);
  const ctx = info;
  // Describe lists only the fields this user may read: every one is shown, empty or not.
  const readable = d.fields.filter((f) => !HIDDEN_ALWAYS.has(f.name));
  const isPersonField = (f) => PERSON_FIELDS.has(f.name);
  const main = readable.filter((f) => !SYSTEM_FIELDS.has(f.name) && (object !== 'Account' || person || !isPersonField(f)) && f.name !== 'Name');
  const highlights = (HIGHLIGHTS[person ? 'PersonAccount' : object] || []).map((n) => d.fields.find((f) => f.name === n)).filter(Boolean);
  const system = readable.filter((f) => SYSTEM_FIELDS.has(f.name) && f.name !== 'Id');

  const sections = [];
  if (person) {
    sections.push(h('h3', { class: 'section-title' }, 'Person'), fieldList(main.filter(isPersonField), rec, ctx));
    sections.push(h('h3', { class: 'section-title' }, 'Account'), fieldList(main.filter((f) => !isPersonField(f)), rec, ctx));
  } else {
    sections.push(h('h3', { class: 'section-title' }, 'Details'), fieldList(main, rec, ctx));
  }
  sections.push(h('h3', { class: 'section-title' }, 'System'), fieldList(system, rec, ctx));

  const modal = () => import('./modal.js');
  const actions = [];
  if (d.updateable) actions.push(h('button', { type: 'button', class: 'btn', onclick: async () => (await modal()).openEditRecord(object, rec, () => renderRecord(view, object, id)) }, 'Edit'));
  if (['Contact', 'Lead', 'Account', 'Case', 'Opportunity'].includes(object)) {
    const who = ['Contact', 'Lead'].includes(object) ? { WhoId: id } : { WhatId: id };
    actions.push(h('button', { type: 'button', class: 'btn', onclick: async () => (await modal()).openNewRecord('Task', { Subject: 'Call', TaskSubtype: 'Call', Status: 'Completed', ...who }, () => renderRecord(view, object, id)) }, 'Log a Call'));
  }

  const related = h('div', { class: 'related' });
  const page = h('div', { class: 'page', dataset: { object, recordId: id } },
    recordHeader(person ? 'Person Account' : d.label, title, actions),
    highlights.length ? h('div', { class: 'card' }, h('div', { class: 'card-body' }, h('dl', { class: 'fields highlights' }, fieldList(highlights, rec, ctx)))) : null,
    h('div', { class: 'grid-2' },
      h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Record')), h('div', { class: 'card-body' }, h('dl', { class: 'fields' }, sections))),
      related));
  const runsBody = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const runsCard = h('div', { class: 'card', id: 'record-automation' }, h('div', { class: 'card-head' }, h('h2', {}, 'Automation runs')), runsBody);
  page.append(runsCard);
  replace(view, page);
  setView(info);
  renderRelated(related, object, rec, signal);
  loadRuns(runsCard, runsBody, id, signal);
  return { title };
}

/** Related lists that cost one query each. */
const RELATED = {
  Account: [['Contact', 'AccountId', ['Name', 'Title', 'Phone']], ['Case', 'AccountId', ['CaseNumber', 'Subject', 'Status']], ['Opportunity', 'AccountId', ['Name', 'StageName', 'CloseDate']], ['VoiceCall', 'RelatedRecordId', ['Name', 'CallType', 'CallStartDateTime']]],
  Contact: [['VoiceCall', 'RelatedRecordId', ['Name', 'CallType', 'CallStartDateTime', 'CallDurationInSeconds']], ['Task', 'WhoId', ['Subject', 'Status', 'CreatedDate']], ['Case', 'ContactId', ['CaseNumber', 'Subject', 'Status']]],
  Lead: [['VoiceCall', 'RelatedRecordId', ['Name', 'CallType', 'CallStartDateTime', 'CallDurationInSeconds']], ['Task', 'WhoId', ['Subject', 'Status', 'CreatedDate']]],
  Case: [['VoiceCall', 'RelatedRecordId', ['Name', 'CallType', 'CallStartDateTime']], ['Task', 'WhatId', ['Subject', 'Status', 'CreatedDate']]],
  Opportunity: [['Task', 'WhatId', ['Subject', 'Status', 'CreatedDate']]],
};
const RELATED_LABEL = { Contact: 'Contacts', Case: 'Cases', Opportunity: 'Opportunities', VoiceCall: 'Calls', Task: 'Activities' };
const RELATED_ORDER = { VoiceCall: 'CallStartDateTime DESC', Task: 'CreatedDate DESC', Case: 'CreatedDate DESC', Opportunity: 'CloseDate DESC', Contact: 'Name' };

async function renderRelated(box, object, rec, signal) {
  for (const [child, field, cols] of RELATED[object] || []) {
    const body = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
    const count = h('span', { class: 'count' });
    const card = h('div', { class: 'card', dataset: { related: child } }, h('div', { class: 'card-head' }, h('h2', {}, RELATED_LABEL[child] || child, ' ', count)), body);
    box.append(card);
    (async () => {
      let d;
      try { d = await describe(child); } catch { card.remove(); return; }
      const fields = cols.map((c) => d.fields.find((f) => f.name === c)).filter(Boolean);
      const soql = `SELECT Id, ${fields.map((f) => f.name).join(', ')} FROM ${child} WHERE ${field} = ${soqlString(rec.Id)} ORDER BY ${RELATED_ORDER[child]} LIMIT 10`;
      try {
        const res = await query(soql, { signal });
        count.textContent = `(${res.totalSize}${res.totalSize >= 10 ? '+' : ''})`;
        if (!res.records.length) { replace(body, h('span', { class: 'muted' }, 'None yet.')); return; }
        const list = h('ul', { class: 'plain-list' }, res.records.map((r) => {
          const name = recordName(child, r);
          rememberName(r.Id, child, name);
          const [, ...rest] = fields;
          return h('li', {}, h('a', { href: `/console/r/${r.Id}`, 'data-nav': '' }, name || r.Id),
            h('span', { class: 'right' }, rest.map((f) => f.type === 'datetime' ? formatDateTime(r[f.name]) : (f.name === 'CallDurationInSeconds' ? formatDuration(r[f.name]) : formatValue(r[f.name], f.type))).filter(Boolean).join(' · ')));
        }));
        body.replaceWith(list);
      } catch (e) {
        if (e.name === 'AbortError') return;
        card.remove(); // the user may not read this child object
      }
    })();
  }
}
