// Flows in the console: the Flows page (/console/flows: every flow, with New,
// Edit, the flows file to download or import, the runner's counters, runs that
// need attention with a Retry button, recent runs) and the "Automation runs"
// card of a record's page (that record's FlowRun rows). Everything goes
// through /api/flows/*, checked on the server.

import { app } from './app.js';
import { get, post, request } from '../lib/api.js';
import { h, replace, toast } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { openFlowEditor, WHEN } from './flow-editor.js';
import { modal } from './modal.js';

/** Import a flows file: checked first (dry run), then confirmed, then it replaces every flow. */
async function importFile(file, after) {
  const text = await file.text();
  const problems = h('div', { role: 'alert' });
  const go = h('button', { type: 'button', class: 'btn btn-primary', id: 'flows-import-go', disabled: true }, 'Replace every flow');
  const m = modal({ title: `Import ${file.name}`, label: 'flows-import', body: [h('p', {}, 'The file replaces every flow at once. Checking it…'), problems],
    foot: [h('button', { type: 'button', class: 'btn', onclick: () => m.close() }, 'Cancel'), go] });
  try {
    const d = await request('PUT', '/api/flows/config?dryRun=true', text, { raw: true });
    replace(problems, h('p', { class: 'notice notice-ok' }, `The file is correct: ${d.flows} flow${d.flows === 1 ? '' : 's'}.`));
    go.disabled = false;
  } catch (e) {
    replace(problems, h('div', { class: 'notice notice-error' }, h('strong', {}, 'Nothing was changed. The file has problems:'),
      h('ul', {}, e.message.split('; ').map((x) => h('li', {}, x)))));
  }
  go.addEventListener('click', async () => {
    go.disabled = true;
    try {
      await request('PUT', '/api/flows/config', text, { raw: true });
      m.close(); toast('Flows imported.'); after();
    } catch (e) { go.disabled = false; replace(problems, h('p', { class: 'notice notice-error' }, e.message)); }
  });
}

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
  const canEdit = Boolean(app.session?.permissions?.manageFlows);
  const fileInput = h('input', { type: 'file', accept: '.yaml,.yml,.json', hidden: true, id: 'flows-file',
    onchange: () => { const f = fileInput.files[0]; fileInput.value = ''; if (f) importFile(f, again); } });
  const status = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const flows = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const attention = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const recent = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  replace(view, h('div', { class: 'page', id: 'flows-page' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Setup'), h('h1', {}, 'Flows'),
      h('p', { class: 'muted' }, 'Automation that runs after records are saved: the same flows as `dialtone flows export|import` and /api/flows/config.')),
      h('div', { class: 'page-actions' },
        h('a', { class: 'btn', href: '/api/flows/config?format=yaml', download: 'flows.yaml', id: 'flows-download' }, 'Download YAML'),
        canEdit ? [fileInput, h('button', { type: 'button', class: 'btn', id: 'flows-import', onclick: () => fileInput.click() }, 'Import file…'),
          h('button', { type: 'button', class: 'btn btn-primary', id: 'flows-new', onclick: () => openFlowEditor(null, again) }, 'New flow')] : null)),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Runner')), status),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Needs attention (parked and failed runs)')), attention),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Flows')), flows),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Recent runs')), recent)));
  let wake = null;
  function again() { if (wake) wake(); }
  for (;;) {
    try {
      const [st, cfg, bad, last] = await Promise.all([
        get('/api/flows/status', { signal }), get('/api/flows/flows', { signal }),
        get('/api/flows/runs?status=Parked,Failed&limit=50', { signal }), get('/api/flows/runs?limit=25', { signal })]);
      replace(status, h('dl', { class: 'fields', id: 'flows-status' },
        ...[['Waiting changes', st.backlog], ['Succeeded', st.succeeded], ['Failed', st.failed], ['Retrying', st.retrying], ['Parked', st.parked], ['Skipped', st.skipped]]
          .map(([k, v]) => h('div', { class: 'field' }, h('dt', {}, k), h('dd', {}, String(v)))),
        h('div', { class: 'field field-wide' }, h('dt', {}, 'Last error'), h('dd', {}, st.lastError || '—')),
        st.problems.length ? h('div', { class: 'field field-wide' }, h('dt', {}, 'Flows left out'), h('dd', {}, st.problems.join('; '))) : null));
      replace(flows, cfg.flows.length ? h('table', { class: 'table', id: 'flows-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Name'), h('th', {}, 'Object'), h('th', {}, 'Runs'), h('th', {}, 'Condition'), h('th', {}, 'Actions'), h('th', {}, 'Active'), canEdit ? h('th', {}, '') : null)),
        h('tbody', {}, cfg.flows.map((f) => h('tr', { dataset: { flow: f.name, id: f.id } },
          h('td', {}, String(f.order ?? 100)), h('td', {}, f.name), h('td', {}, f.object),
          h('td', {}, `${WHEN[f.when] || f.when}${f.when === 'changedTo' ? ` ${f.field} = ${f.value}` : ''}`),
          h('td', { class: 'small' }, f.when === 'threshold' && f.threshold ? `${f.threshold.count} over ${f.threshold.percent}% of ${f.threshold.outOf} in ${f.threshold.windowMinutes} min` : f.condition || '—'),
          h('td', {}, f.actions.map((a) => Object.keys(a)[0]).join(', ')),
          h('td', {}, f.active === false ? 'No' : 'Yes'),
          canEdit ? h('td', {}, h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Edit ${f.name}`, onclick: () => openFlowEditor(f, again) }, 'Edit')) : null))))
        : h('p', { class: 'muted' }, canEdit ? 'No flows yet. Add one with New flow, or import a file (see docs/examples/flows.yaml).' : 'No flows yet.'));
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

/** The "Automation runs" card of a record page: everyone who can read the
 * record sees its runs (admins also see each run's error); removed when there are none. */
export async function loadRuns(card, box, recordId, signal) {
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
