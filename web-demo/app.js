// The job plan previewer: validates a job, plans it against a cluster
// snapshot and shows the annotated diff, all with Caravan's core compiled to
// WebAssembly (./pkg, built by wasm/build-web.sh). No server involved.
import init, * as caravan from './pkg/caravan.js';

// A dev node like `nomad agent -dev` registers (from the oracle's recording).
const DEV_NODE = {
  ID: 'ee98a2a8-a855-f616-200a-cb3e720bdcc5',
  Datacenter: 'dc1',
  Name: 'dev',
  Attributes: {
    'cpu.arch': 'amd64', 'cpu.numcores': '2', 'cpu.frequency': '2599', 'cpu.totalcompute': '5198',
    'kernel.name': 'linux', 'os.name': 'debian', 'nomad.version': '0.6.3',
    'driver.raw_exec': '1', 'driver.exec': '1', 'driver.java': '1',
    'unique.hostname': 'dev', 'unique.network.ip-address': '127.0.0.1',
  },
  Resources: {
    CPU: 5198, MemoryMB: 24105, DiskMB: 76337, IOPS: 0,
    Networks: [{ Device: 'lo', CIDR: '127.0.0.1/32', IP: '127.0.0.1', MBits: 1000 }],
  },
  Reserved: { CPU: 0, MemoryMB: 0, DiskMB: 0, IOPS: 0 },
  Status: 'ready',
};

export const DEFAULT_CLUSTER = { Nodes: [DEV_NODE], Job: null, Allocations: [] };

export const EXAMPLE_JOB = {
  Job: {
    ID: 'example',
    Name: 'example',
    Type: 'service',
    Datacenters: ['dc1'],
    TaskGroups: [{
      Name: 'cache',
      Count: 2,
      Tasks: [{
        Name: 'redis',
        Driver: 'raw_exec',
        Config: { command: '/bin/sleep', args: ['600'] },
        Env: { MODE: 'preview' },
        Resources: { CPU: 200, MemoryMB: 128 },
      }],
    }],
  },
};

const $ = (id) => document.getElementById(id);
const PLAN_OPTIONS = () => ({
  diff: true,
  // The host supplies time and randomness; a fixed seed keeps previews
  // reproducible.
  seed: 1,
  now: BigInt(Date.now()) * 1000000n,
});

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function table(headers, rows) {
  const t = el('table');
  const head = t.createTHead().insertRow();
  for (const h of headers) head.appendChild(el('th', h));
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = String(c);
  }
  return t;
}

/** A job from the editor: JSON (a job or `{"Job": …}`) or an HCL file. */
export function parseJob(text) {
  const src = text.trim();
  if (src.startsWith('{')) {
    let value;
    try {
      value = JSON.parse(src);
    } catch (e) {
      throw new Error(`job is not valid JSON: ${e.message}`);
    }
    return value.Job ?? value.job ?? value;
  }
  return caravan.parseHcl(src);
}

function showError(panel, message) {
  panel.replaceChildren(el('div', message, 'error'));
}

function renderValidation(v) {
  const panel = $('validation');
  panel.replaceChildren();
  if (v.Error) {
    const list = el('ul');
    for (const e of v.ValidationErrors ?? [v.Error]) list.appendChild(el('li', e, 'error'));
    panel.append(el('div', `Job "${v.Job.ID}" is invalid:`, 'error'), list);
  } else {
    panel.appendChild(el('div', `Job "${v.Job.ID}" is valid.`, 'ok'));
  }
  if (v.Warnings) panel.appendChild(el('div', v.Warnings, 'warning'));
}

function renderPlan(plan) {
  const panel = $('plan-result');
  panel.replaceChildren();
  const updates = plan.Annotations?.DesiredTGUpdates ?? {};
  const groups = Object.keys(updates);
  if (groups.length) {
    const cols = ['Place', 'Stop', 'InPlaceUpdate', 'DestructiveUpdate', 'Migrate', 'Canary', 'Ignore'];
    panel.appendChild(table(['Task group', ...cols], groups.map((g) => [g, ...cols.map((c) => updates[g][c])])));
  } else {
    panel.appendChild(el('div', 'No task group updates.'));
  }
  const failed = plan.FailedTGAllocs ?? {};
  for (const [group, m] of Object.entries(failed)) {
    panel.appendChild(el('div', `Task group "${group}" failed to place all allocations:`, 'error'));
    const facts = [
      ['Nodes evaluated', m.NodesEvaluated], ['Nodes filtered', m.NodesFiltered],
      ['Nodes exhausted', m.NodesExhausted], ['Coalesced failures', m.CoalescedFailures],
      ...Object.entries(m.ConstraintFiltered ?? {}).map(([c, n]) => [`Constraint ${c} filtered`, n]),
      ...Object.entries(m.DimensionExhausted ?? {}).map(([d, n]) => [`Dimension ${d} exhausted`, n]),
      ...Object.entries(m.ClassFiltered ?? {}).map(([c, n]) => [`Class ${c} filtered`, n]),
    ];
    panel.appendChild(table(['', 'count'], facts));
  }
  if (plan.Warnings) panel.appendChild(el('div', plan.Warnings, 'warning'));
  if (plan.NextPeriodicLaunch && !plan.NextPeriodicLaunch.startsWith('0001-')) {
    panel.appendChild(el('div', `Next periodic launch: ${plan.NextPeriodicLaunch}`));
  }
  panel.appendChild(el('div', `Job modify index: ${plan.JobModifyIndex}`));
}

function renderPlacements(sim, cluster) {
  const panel = $('placements');
  panel.replaceChildren();
  const names = new Map((cluster.Nodes ?? []).map((n) => [n.ID, n.Name || n.ID]));
  const rows = [];
  for (const [node, allocs] of Object.entries(sim.Placements ?? {})) {
    rows.push([names.get(node) ?? node, allocs.length, allocs.map((a) => a.Name).join(', ')]);
  }
  for (const [node, allocs] of Object.entries(sim.Stops ?? {})) {
    rows.push([`${names.get(node) ?? node} (stops)`, allocs.length, allocs.map((a) => a.Name).join(', ')]);
  }
  panel.appendChild(rows.length
    ? table(['Node', 'Allocations', 'Names'], rows)
    : el('div', 'The scheduler placed nothing.'));
}

const SIGN = { Added: '+', Deleted: '-', Edited: '+/-', None: '' };
const CLASS = { Added: 'added', Deleted: 'deleted', Edited: 'edited' };

/** The annotated diff, laid out like `nomad plan`. */
export function diffLines(d) {
  const lines = [];
  const line = (depth, type, text) => lines.push({ text: `${' '.repeat(depth)}${SIGN[type] ?? ''} ${text}`.trimEnd(), type });
  const note = (a) => (a?.length ? ` (${a.join(', ')})` : '');
  const fields = (depth, fs) => {
    for (const f of fs ?? []) {
      const value = f.Type === 'Edited' ? `"${f.Old}" => "${f.New}"` : `"${f.Type === 'Deleted' ? f.Old : f.New}"`;
      line(depth, f.Type, `${f.Name}: ${value}${note(f.Annotations)}`);
    }
  };
  const objects = (depth, os) => {
    for (const o of os ?? []) {
      line(depth, o.Type, `${o.Name} {`);
      fields(depth + 2, o.Fields);
      objects(depth + 2, o.Objects);
      line(depth, 'None', '}');
    }
  };
  line(0, d.Type, `Job: "${d.ID}"`);
  fields(2, d.Fields);
  objects(2, d.Objects);
  for (const tg of d.TaskGroups ?? []) {
    const updates = Object.entries(tg.Updates ?? {}).map(([k, n]) => `${n} ${k}`).join(', ');
    line(0, tg.Type, `Task Group: "${tg.Name}"${updates ? ` (${updates})` : ''}`);
    fields(2, tg.Fields);
    objects(2, tg.Objects);
    for (const t of tg.Tasks ?? []) {
      line(2, t.Type, `Task: "${t.Name}"${note(t.Annotations)}`);
      fields(4, t.Fields);
      objects(4, t.Objects);
    }
  }
  return lines;
}

function renderDiff(diff) {
  const panel = $('diff');
  panel.replaceChildren();
  if (!diff) return;
  for (const l of diffLines(diff)) {
    panel.appendChild(el('span', `${l.text}\n`, CLASS[l.type]));
  }
}

function clearResults() {
  for (const id of ['validation', 'plan-result', 'placements', 'diff']) $(id).replaceChildren();
}

/** Runs the whole preview; every failure lands in a panel, never uncaught. */
export function preview() {
  clearResults();
  let job;
  try {
    job = parseJob($('job').value);
  } catch (e) {
    const where = e.line ? ` (line ${e.line}, column ${e.column})` : '';
    showError($('validation'), `${e.message}${where}`);
    return 'job';
  }
  let cluster;
  try {
    cluster = JSON.parse($('cluster').value);
  } catch (e) {
    showError($('validation'), `cluster snapshot is not valid JSON: ${e.message}`);
    return 'cluster';
  }
  try {
    const v = caravan.validate(job);
    renderValidation(v);
    if (v.Error) return 'invalid';
    const opts = PLAN_OPTIONS();
    const plan = caravan.plan(job, cluster, opts);
    renderPlan(plan);
    renderDiff(plan.Diff);
    renderPlacements(caravan.simulate(job, cluster, opts), cluster);
    return 'planned';
  } catch (e) {
    showError($('plan-result'), e.message);
    return 'error';
  }
}

async function main() {
  await init();
  $('job').value = JSON.stringify(EXAMPLE_JOB, null, 2);
  $('cluster').value = JSON.stringify(DEFAULT_CLUSTER, null, 2);
  $('plan').addEventListener('click', () => { $('status').textContent = `preview: ${preview()}`; });
  $('example').addEventListener('click', () => { $('job').value = JSON.stringify(EXAMPLE_JOB, null, 2); });
  $('reset-cluster').addEventListener('click', () => { $('cluster').value = JSON.stringify(DEFAULT_CLUSTER, null, 2); });
  $('plan').disabled = false;
  $('status').textContent = 'ready';
}

main().catch((e) => { $('status').textContent = `failed to load: ${e.message}`; });
