// What the console knows about objects: describe (cached), key prefixes,
// list columns, and display names of records.

import { DATA, get } from '../lib/api.js';

const describes = new Map();
let global = null;

/** describeGlobal, once. */
export async function loadGlobal() {
  if (!global) global = get(`${DATA}/sobjects`).then((d) => d.sobjects);
  return global;
}

export async function describe(object) {
  if (!describes.has(object)) {
    const p = get(`${DATA}/sobjects/${encodeURIComponent(object)}/describe`);
    describes.set(object, p);
    p.catch(() => describes.delete(object));
  }
  return describes.get(object);
}

/** The object an id belongs to (its first three characters). */
export async function objectOfId(id) {
  const objects = await loadGlobal();
  const prefix = String(id).slice(0, 3);
  return objects.find((o) => o.keyPrefix === prefix)?.name || null;
}

/** The field that names a record of this object. */
export function nameField(object) {
  return { Case: 'CaseNumber', Task: 'Subject' }[object] || 'Name';
}

export function recordName(object, rec) {
  if (!rec) return '';
  if (object === 'Case') return [rec.CaseNumber, rec.Subject].filter(Boolean).join(' · ');
  return rec[nameField(object)] || rec.Name || rec.Id || '';
}

/** List columns per object (fields the user cannot read are dropped). */
export const LIST_COLUMNS = {
  Contact: ['Name', 'Title', 'Account.Name', 'Phone', 'Email', 'Owner.Name'],
  Lead: ['Name', 'Company', 'Status', 'Phone', 'Email', 'LeadSource'],
  Account: ['Name', 'Type', 'Industry', 'Phone', 'BillingCity', 'Owner.Name'],
  Case: ['CaseNumber', 'Subject', 'Status', 'Priority', 'Contact.Name', 'CreatedDate'],
  Opportunity: ['Name', 'Account.Name', 'StageName', 'Amount', 'CloseDate', 'Owner.Name'],
  VoiceCall: ['Name', 'CallType', 'FromPhoneNumber', 'ToPhoneNumber', 'CallDisposition', 'CallStartDateTime', 'CallDurationInSeconds'],
  Task: ['Subject', 'Status', 'Priority', 'ActivityDate', 'CallType', 'CallDisposition', 'CreatedDate'],
};

export const DEFAULT_SORT = {
  Contact: ['Name', 'ASC'], Lead: ['Name', 'ASC'], Account: ['Name', 'ASC'], Case: ['CreatedDate', 'DESC'],
  Opportunity: ['CloseDate', 'DESC'], VoiceCall: ['CallStartDateTime', 'DESC'], Task: ['CreatedDate', 'DESC'],
};

const names = new Map();

/** The display name of any record id (cached), or null when it cannot be read. */
export async function nameOf(id) {
  if (!id) return null;
  if (names.has(id)) return names.get(id);
  const p = (async () => {
    const object = await objectOfId(id);
    if (!object) return null;
    const fields = object === 'Case' ? 'CaseNumber,Subject' : nameField(object);
    try {
      const rec = await get(`${DATA}/sobjects/${object}/${id}?fields=${fields}`);
      return { object, name: recordName(object, rec) };
    } catch {
      return { object, name: null };
    }
  })();
  names.set(id, p);
  return p;
}

export function rememberName(id, object, name) {
  names.set(id, Promise.resolve({ object, name }));
}
