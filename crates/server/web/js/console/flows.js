// Flows in the console: the Flows page (/console/flows: every flow, the
// runner's counters, runs that need attention with a Retry button, recent
// runs) and the "Automation runs" card of a record's page (that record's
// FlowRun rows). Everything goes through /api/flows/*, checked on the server.

import { app } from './app.js';
import { get, post } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';

const WHEN = { created: 'When created', updated: 'When updated', createdOrUpdated: 'When created or updated', changedTo: 'When a field changes to', threshold: 'Threshold alert' };

function runsTable(runs, { retry, onRetried, id } = {}) {
  if (!runs.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: 'table', id },
    h('thead', {}, h('tr', {}, h('th', {}, 'Flow'), h('th', {}, 'Record'), h('th', {}, 'Status'), h('th', {}, 'Attempts'), h('th', {}, 'Started'), h('th', {}, 'Error'), retry ? h('th', {}, '') : null)),
    h('tbody', {}, runs.map((r) => h('tr', { dataset: { run: r.Id, status: r.Status } },
      h('td', {}, r.FlowName || '—'),
      h('td', {}, r.RecordId && r.Object ? h('a', { href: `/console/r/${r.RecordId}`, 'data-nav': '' }, `${r.Object} ${r.RecordId}`) : '—'),
      h('td', {}, r.Status + (r.Status === 'Retrying' && r.NextAttemptDateTime ? ` (next ${formatDateTime(r.NextAttemptDateTime)})` : '')),
      h('td', {}, String(r.Attempts ?? 0)),
      h('td', {}, r.StartedDateTime ? formatDateTime(r.StartedDateTime) : '—'),
      h('td', { class: 'small' }, r.LastError || (r.Status === 'Skipped' ? r.Detail || '' : '')),
      retry ? h('td', {}, ['Parked', 'Failed'].includes(r.Status)
        ? h('button', { type: 'button', class: 'btn', onclick: async (ev) => {
          ev.target.disabled = true;
          try { await post(`/api/flows/runs/${r.Id}/retry`); onRetried(); } catch (e) { ev.target.disabled = false; ev.target.title = e.message; }
        } }, 'Retry')
        : null) : null))));
}

/** The Flows page: refreshed every 5 seconds until left. */
export async function renderFlows(view, signal) {
  const status = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const flows = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const attention = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const recent = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  replace(view, h('div', { class: 'page', id: 'flows-page' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Setup'), h('h1', {}, 'Flows'),
      h('p', { class: 'muted' }, 'Automation that runs after records are saved. Change it with `dialtone flows import FILE` or PUT /api/flows/config.'))),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Runner')), status),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Needs attention (parked and failed runs)')), attention),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Flows')), flows),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Recent runs')), recent)));
  let wake = null;
  const again = () => { if (wake) wake(); };
  for (;;) {
    try {
      const [st, cfg, bad, last] = await Promise.all([
        get('/api/flows/status', { signal }), get('/api/flows/config?format=json', { signal }),
        get('/api/flows/runs?status=Parked,Failed&limit=50', { signal }), get('/api/flows/runs?limit=25', { signal })]);
      replace(status, h('dl', { class: 'fields', id: 'flows-status' },
        ...[['Waiting changes', st.backlog], ['Succeeded', st.succeeded], ['Failed', st.failed], ['Retrying', st.retrying], ['Parked', st.parked], ['Skipped', st.skipped]]
          .map(([k, v]) => h('div', { class: 'field' }, h('dt', {}, k), h('dd', {}, String(v)))),
        h('div', { class: 'field field-wide' }, h('dt', {}, 'Last error'), h('dd', {}, st.lastError || '—')),
        st.problems.length ? h('div', { class: 'field field-wide' }, h('dt', {}, 'Flows left out'), h('dd', {}, st.problems.join('; '))) : null));
      replace(flows, cfg.flows.length ? h('table', { class: 'table', id: 'flows-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Name'), h('th', {}, 'Object'), h('th', {}, 'Runs'), h('th', {}, 'Condition'), h('th', {}, 'Actions'), h('th', {}, 'Active'))),
        h('tbody', {}, cfg.flows.map((f) => h('tr', { dataset: { flow: f.name } },
          h('td', {}, String(f.order ?? 100)), h('td', {}, f.name), h('td', {}, f.object),
          h('td', {}, `${WHEN[f.when] || f.when}${f.when === 'changedTo' ? ` ${f.field} = ${f.value}` : ''}`),
          h('td', { class: 'small' }, f.when === 'threshold' && f.threshold ? `${f.threshold.count} over ${f.threshold.percent}% of ${f.threshold.outOf} in ${f.threshold.windowMinutes} min` : f.condition || '—'),
          h('td', {}, f.actions.map((a) => Object.keys(a)[0]).join(', ')),
          h('td', {}, f.active === false ? 'No' : 'Yes')))))
        : h('p', { class: 'muted' }, 'No flows yet. See docs/examples/flows.yaml.'));
      replace(attention, runsTable(bad.runs, { retry: true, onRetried: again, id: 'flows-attention' }));
      replace(recent, runsTable(last.runs, { id: 'flows-recent' }));
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(status, h('p', { class: 'notice notice-error', role: 'alert' }, e.message));
      return;
    }
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 5000);
      wake = () => { clearTimeout(t); resolve(); };
      signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    if (signal.aborted) return;
  }
}

/** The "Automation runs" card of a record page: removed when the user may not see runs. */
export async function loadRuns(card, box, recordId, signal) {
  // Runs are for admins (View Setup or Manage Flows): others never ask, so no refused request.
  const p = app.session?.permissions || {};
  if (!(p.viewSetup || p.manageFlows)) { card.remove(); return; }
  let d;
  try {
    d = await get(`/api/flows/runs?recordId=${encodeURIComponent(recordId)}&limit=20`, { signal });
  } catch (e) {
    if (e.name !== 'AbortError') card.remove();
    return;
  }
  if (!d.runs.length) {
    card.remove();
    return;
  }
  replace(box, runsTable(d.runs, { id: 'record-runs' }));
}
