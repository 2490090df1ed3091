// Routing in the console: the VoiceCall page's "Routing" card (why this
// call went to that agent: the queue, the entry rule, every candidate's
// verdict, every offer) and the supervisors' live queue board
// (/console/routing, refreshed every few seconds).

import { get } from '../lib/api.js';
import { h, replace } from '../lib/dom.js';
import { formatDateTime, formatDuration } from '../lib/format.js';

const STATES = {
  waiting: 'Waiting in the queue', offered: 'Ringing an agent', accepted: 'Answered', calledBack: 'Called back',
  callback: 'Waiting for a callback', voicemail: 'Sent to voicemail', abandoned: 'Caller hung up before an answer',
};
const OUTCOMES = { accepted: 'answered', declined: 'declined', timedOut: 'rang out', withdrawn: 'withdrawn (status changed)', rescinded: 'withdrawn (caller left)' };

/** The Routing card of a VoiceCall page. */
export async function loadRouting(box, callId, signal) {
  let d;
  try {
    d = await get(`/api/routing/work-items/${callId}/decision`, { signal });
  } catch (e) {
    if (e.name === 'AbortError') return;
    replace(box, h('span', { class: 'muted', id: 'routing-none' }, e.code === 'WORK_ITEM_NOT_FOUND'
      ? 'Not routed by Dialtone: an outbound or simulated call, or one placed to a named agent.'
      : e.message));
    return;
  }
  const summary = h('dl', { class: 'fields' },
    field('Outcome', `${STATES[d.state] || d.state}${d.agent ? ` · ${d.agent}` : ''}`, 'routing-state'),
    field('Queue', d.queue, 'routing-queue'),
    field('How it got there', d.entry, 'routing-entry'),
    field('Skills needed', d.requirements.length
      ? d.requirements.map((r) => `${r.skill} ≥ ${r.level}${r.relaxAfterSeconds != null ? ` (optional after ${r.relaxAfterSeconds} s)` : ''}`).join(', ')
      : 'none', 'routing-skills'),
    d.relaxedSkills.length ? field('Relaxed', d.relaxedSkills.join(', '), 'routing-relaxed') : null,
    field('Rule', d.rule, 'routing-rule', true));
  const candidates = d.candidates.length
    ? h('table', { class: 'table', id: 'routing-candidates' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Agent'), h('th', {}, 'Verdict'))),
      h('tbody', {}, d.candidates.map((c) => h('tr', { class: c.verdict === 'chosen' ? 'chosen' : null, dataset: { agent: c.agent, verdict: c.verdict } },
        h('td', {}, c.agent), h('td', {}, c.verdict === 'chosen' ? '✓ chosen' : c.reason)))))
    : h('p', { class: 'muted' }, d.direct ? 'Nobody was chosen by routing: the call went to a named agent.' : 'No agent of the queue was a candidate.');
  const offers = d.offers.length
    ? h('ol', { class: 'timeline', id: 'routing-offers' }, d.offers.map((o) => h('li', {},
      h('div', { class: 'when' }, formatDateTime(o.offeredAt)),
      h('div', {}, `Offered to ${o.agent}: ${o.outcome ? OUTCOMES[o.outcome] || o.outcome : 'ringing'}`))))
    : null;
  replace(box, summary, h('h3', { class: 'subhead' }, 'Candidates'), candidates, offers ? h('h3', { class: 'subhead' }, 'Offers') : null, offers,
    h('p', { class: 'muted small' }, d.source === 'stored' ? 'As decided and stored with the call.' : `Live, as of ${formatDateTime(d.decidedAt || new Date().toISOString())}.`));
}

function field(label, value, id, wide) {
  return h('div', { class: `field${wide ? ' field-wide' : ''}`, id }, h('dt', {}, label), h('dd', {}, value ?? '—'));
}

/** The supervisors' board: queues and agents, refreshed until the page is left. */
export async function renderQueues(view, signal) {
  const queues = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const agents = h('div', { class: 'card-body' }, h('span', { class: 'skeleton skel-line' }));
  const stamp = h('p', { class: 'muted', id: 'routing-stamp' }, '');
  const problems = h('div', { id: 'routing-problems' });
  replace(view, h('div', { class: 'page', id: 'routing-board' },
    h('div', { class: 'page-head' }, h('div', {}, h('div', { class: 'kind' }, 'Supervisor'), h('h1', {}, 'Live queues'), stamp)),
    problems,
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Queues')), queues),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Agents')), agents)));
  for (;;) {
    let b;
    try {
      b = await get('/api/routing/queues', { signal });
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(queues, h('p', { class: 'notice notice-error', role: 'alert' }, e.message));
      return;
    }
    stamp.textContent = `Updated ${formatDateTime(b.at)} · every 3 seconds`;
    replace(problems, ...(b.configurationProblems.length
      ? [h('div', { class: 'notice notice-error', role: 'alert' }, h('strong', {}, 'The routing configuration was not applied: '), b.configurationProblems.join('; '))]
      : []));
    replace(queues, b.queues.length ? h('table', { class: 'table', id: 'routing-queues' },
      h('thead', {}, h('tr', {}, ['Queue', 'Channel', 'Waiting', 'Callbacks', 'Longest wait', 'Signed in', 'Members', 'Model'].map((t) => h('th', {}, t)))),
      h('tbody', {}, b.queues.map((q) => h('tr', { dataset: { queue: q.name }, class: q.waiting && !q.signedIn ? 'alert' : null },
        h('td', {}, q.name), h('td', {}, q.channel), h('td', { class: 'num', dataset: { col: 'waiting' } }, String(q.waiting)),
        h('td', { class: 'num' }, String(q.callbacks)), h('td', { class: 'num', dataset: { col: 'longest' } }, q.longestWaitSeconds == null ? '—' : formatDuration(q.longestWaitSeconds)),
        h('td', { class: 'num' }, String(q.signedIn)), h('td', { class: 'num' }, String(q.members)), h('td', {}, q.routingModel)))))
      : h('p', { class: 'muted' }, 'No queues: no call center has agents yet.'));
    replace(agents, b.agents.length ? h('table', { class: 'table', id: 'routing-agents' },
      h('thead', {}, h('tr', {}, ['Agent', 'Status', 'Since', 'Load', 'Queues'].map((t) => h('th', {}, t)))),
      h('tbody', {}, b.agents.map((a) => h('tr', { dataset: { agent: a.username } },
        h('td', {}, a.username), h('td', { dataset: { col: 'status' } }, a.status), h('td', {}, formatDateTime(a.since)),
        h('td', { class: 'num', dataset: { col: 'load' } }, `${a.usedCapacity} / ${a.capacity}`), h('td', {}, a.queues.join(', '))))))
      : h('p', { class: 'muted' }, 'No agents.'));
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 3000);
      signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    if (signal.aborted) return;
  }
}
