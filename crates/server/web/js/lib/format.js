// Showing values: dates in the agent's locale, money, durations, phones.

const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Dialtone writes `2026-11-22T09:30:00.000+0000`; Date wants `+00:00`. */
export function parseDateTime(s) {
  if (!s) return null;
  const iso = String(s).replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDateTime(s) { const d = parseDateTime(s); return d ? dateTimeFmt.format(d) : String(s ?? ''); }
export function formatTime(s) { const d = parseDateTime(s); return d ? timeFmt.format(d) : ''; }
export function formatDate(s) {
  if (!s) return '';
  const [y, m, d] = String(s).split('-').map(Number);
  if (!y || !m || !d) return String(s);
  return dateFmt.format(new Date(y, m - 1, d));
}

/** 75 → "1:15", 3700 → "1:01:40". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '';
  const s = Math.max(0, Math.floor(Number(seconds)));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

const money = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
const number = new Intl.NumberFormat(undefined);

/** A field value as text, by its describe type. */
export function formatValue(value, type) {
  if (value === null || value === undefined || value === '') return '';
  switch (type) {
    case 'boolean': return value ? 'Yes' : 'No';
    case 'date': return formatDate(value);
    case 'datetime': return formatDateTime(value);
    case 'currency': return money.format(Number(value));
    case 'percent': return `${number.format(Number(value))}%`;
    case 'int': case 'double': return number.format(Number(value));
    default: return String(value);
  }
}

/**
 * A phone number as people read it: a North American E.164 number as
 * "+1 (415) 555-0101"; others in E.164, grouped after the country code is
 * not known here, so left as they are.
 */
export function formatPhone(n) {
  const s = String(n ?? '');
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(s);
  return m ? `+1 (${m[1]}) ${m[2]}-${m[3]}` : s;
}

/** A dialable form of a written number: digits and a leading +. */
export function dialable(n) {
  const s = String(n || '').trim();
  return (s.startsWith('+') ? '+' : '') + s.replace(/[^0-9]/g, '');
}
