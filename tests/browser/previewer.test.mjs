// Real-browser tests of the browser build (web-demo/pkg) and the plan
// previewer: headless Debian Chromium loads them from a localhost static
// server; answers are checked against the native core's (parity corpus).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../web-demo/', import.meta.url));
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const NOW = '1795737600000000000';

let server;
let browser;
let base;

/** Starts `python3 -m http.server` on a free port; resolves its base URL. */
function serve() {
  server = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', ROOT],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('static server did not start')), 10000);
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/port (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}/`);
      }
    });
    server.on('exit', (code) => reject(new Error(`static server exited with ${code}`)));
  });
}

before(async () => {
  for (const f of ['pkg/caravan.js', 'pkg/caravan_bg.wasm', 'pkg/parity-corpus.json']) {
    assert.ok(existsSync(ROOT + f), `web-demo/${f} is missing: run wasm/build-web.sh and the parity_corpus example (scripts/test.sh does)`);
  }
  base = await serve();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, headless: true });
});

after(async () => {
  await browser?.close();
  if (server?.pid) process.kill(server.pid);
});

/** A fresh page on the previewer, with console errors collected. */
async function openPreviewer() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${base}index.html`);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  return { page, problems, close: () => context.close() };
}

test('the browser build answers every corpus request like the native core, byte for byte', async () => {
  const { page, problems, close } = await openPreviewer();
  const result = await page.evaluate(async () => {
    const m = await import('/pkg/caravan.js');
    const corpus = await (await fetch('/pkg/parity-corpus.json')).json();
    const mismatches = [];
    const ops = {};
    for (const c of corpus) {
      ops[c.op] = (ops[c.op] ?? 0) + 1;
      const got = m.call(c.op, c.request);
      if (got !== c.expected) mismatches.push(`${c.name}\n  native:  ${c.expected.slice(0, 300)}\n  browser: ${got.slice(0, 300)}`);
    }
    return { count: corpus.length, ops, mismatches };
  });
  assert.deepEqual(result.mismatches, []);
  assert.ok(result.count >= 300, `corpus of ${result.count}`);
  for (const op of ['validate', 'diff', 'plan', 'simulate', 'dispatch', 'plan_job', 'schedule']) {
    assert.ok(result.ops[op] > 0, `no ${op} case`);
  }
  assert.deepEqual(problems, []);
  await close();
});

test('the JS API takes and returns plain objects and throws Errors with the core\'s text', async () => {
  const { page, problems, close } = await openPreviewer();
  const r = await page.evaluate(async (now) => {
    const m = await import('/pkg/caravan.js');
    const app = await import('/app.js');
    const corpus = await (await fetch('/pkg/parity-corpus.json')).json();
    const find = (name) => corpus.find((c) => c.name.includes(name));
    const thrown = (f) => { try { f(); return null; } catch (e) { return { isError: e instanceof Error, message: e.message, line: e.line, column: e.column }; } };

    // validate(): an invalid job's answer equals the native one, field by field.
    const invalid = find('108-invalid-priority-0.json:validate');
    const validated = m.validate(JSON.parse(invalid.request).Job);
    // diff(): a plan case with a registered version.
    const dcase = find('062-plan-env-change.json:diff');
    const dreq = JSON.parse(dcase.request);
    const diffed = m.diff(dreq.Old, dreq.New, dreq.Contextual);
    // plan(): the example job on the default snapshot, object API vs JSON API.
    const job = app.EXAMPLE_JOB.Job;
    const planned = m.plan(job, app.DEFAULT_CLUSTER, { diff: true, seed: 1, now: BigInt(now) });
    const planText = m.call('plan', `{"Job":${JSON.stringify(job)},"Cluster":${JSON.stringify(app.DEFAULT_CLUSTER)},"Diff":true,"Seed":1,"Now":${now}}`);
    const simulated = m.simulate(job, app.DEFAULT_CLUSTER, { seed: 1, now: BigInt(now) });
    return {
      validated: JSON.stringify(validated),
      validatedExpected: JSON.stringify(JSON.parse(invalid.expected).ok),
      diffed: JSON.stringify(diffed),
      diffExpected: JSON.stringify(JSON.parse(dcase.expected).ok),
      planned: JSON.stringify(planned),
      planExpected: JSON.stringify(JSON.parse(planText).ok),
      desired: typeof planned.Annotations.DesiredTGUpdates,
      simulatedRegister: simulated.Register.JobModifyIndex,
      decodeError: thrown(() => m.validate({ ID: 5 })),
      noId: thrown(() => m.plan({ Name: 'x' }, app.DEFAULT_CLUSTER, {})),
      badSnapshot: thrown(() => m.plan(job, { Nodes: [{ Name: 'no id' }] }, {})),
      dispatchId: m.dispatchId('p', 1500000000, '0123abcd'),
      badSuffix: thrown(() => m.dispatchId('p', 1500000000, 'nothex!!')),
      forbidden: thrown(() => m.dispatchChild({ ...job, Type: 'batch', ParameterizedJob: { Payload: 'forbidden' } },
        { payload: 'aGk=', suffix: '0123abcd', now: BigInt(now) })),
      badCron: thrown(() => m.nextPeriodicLaunch({ Spec: '* *' }, BigInt(now))),
      badHcl: thrown(() => m.parseHcl('job "x" {')),
      abi: m.abiVersion(),
    };
  }, NOW);
  assert.equal(r.validated, r.validatedExpected);
  assert.equal(r.diffed, r.diffExpected);
  assert.equal(r.planned, r.planExpected);
  assert.equal(r.desired, 'object');
  // The default snapshot's node is written at index 1, the job at 2.
  assert.equal(r.simulatedRegister, 2);
  assert.deepEqual(r.decodeError, { isError: true, message: 'json: cannot unmarshal number 5 into Go struct field Job.Job.ID of type string', line: undefined, column: undefined });
  assert.equal(r.noId.message, 'Job must have a valid ID');
  assert.equal(r.badSnapshot.message, 'snapshot node 0 has no ID');
  assert.equal(r.dispatchId, 'p/dispatch-1500000000-0123abcd');
  assert.equal(r.badSuffix.message, 'IDSuffix must be 8 lowercase hex digits, got "nothex!!"');
  assert.equal(r.forbidden.message, 'Payload provided but forbidden by parameterized job');
  assert.ok(r.badCron.isError && r.badCron.message.startsWith('Invalid cron spec "* *": '), r.badCron.message);
  assert.ok(r.badHcl.isError && typeof r.badHcl.line === 'number' && typeof r.badHcl.column === 'number');
  assert.equal(r.abi, 3); // ABI v3: pending writes in state_apply (wasm/README.md)
  assert.deepEqual(problems, []);
  await close();
});

test('the previewer validates, plans and diffs a job on the default snapshot', async () => {
  const { page, problems, close } = await openPreviewer();
  const text = (id) => page.locator(`#${id}`).innerText();
  // Clicks Plan and waits for the preview's outcome (`preview: <outcome>`).
  const planOutcome = async () => {
    await page.evaluate(() => { document.getElementById('status').textContent = ''; });
    await page.click('#plan');
    await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('preview: '));
    return (await page.locator('#status').innerText()).slice('preview: '.length);
  };

  assert.equal(await planOutcome(), 'planned');
  assert.equal(await text('validation'), 'Job "example" is valid.');
  assert.match(await text('plan-result'), /Job modify index: \d+/);
  // The panels show what the API computes for the same input.
  const expected = await page.evaluate(async (now) => {
    const m = await import('/pkg/caravan.js');
    const app = await import('/app.js');
    const cluster = JSON.parse(document.getElementById('cluster').value);
    const job = app.parseJob(document.getElementById('job').value);
    const plan = m.plan(job, cluster, { diff: true, seed: 1, now: BigInt(now) });
    const sim = m.simulate(job, cluster, { seed: 1, now: BigInt(now) });
    return {
      diff: app.diffLines(plan.Diff).map((l) => l.text).join('\n'),
      groups: Object.keys(plan.Annotations.DesiredTGUpdates),
      placedOn: Object.keys(sim.Placements).length,
    };
  }, NOW);
  assert.equal((await text('diff')).trimEnd(), expected.diff);
  for (const g of expected.groups) assert.match(await text('plan-result'), new RegExp(g));
  const placements = await text('placements');
  if (expected.placedOn > 0) assert.match(placements, /dev/);
  else assert.equal(placements, 'The scheduler placed nothing.');

  // A job that does not decode: the core's message, in the validation panel.
  await page.fill('#job', '{"Job": {"ID": 5}}');
  assert.equal(await planOutcome(), 'error');
  assert.equal(await text('plan-result'), 'json: cannot unmarshal number 5 into Go struct field Job.Job.ID of type string');

  await page.fill('#job', '{"Job": {"ID": ');
  assert.equal(await planOutcome(), 'job');
  assert.match(await text('validation'), /^job is not valid JSON: /);

  // An invalid job from the oracle: the list the native core gives.
  const invalid = await page.evaluate(async () => {
    const corpus = await (await fetch('/pkg/parity-corpus.json')).json();
    const c = corpus.find((x) => x.name.includes('142-invalid-multiple-errors.json:validate'));
    return { job: JSON.parse(c.request).Job, answer: JSON.parse(c.expected).ok };
  });
  await page.fill('#job', JSON.stringify({ Job: invalid.job }));
  const outcome = await planOutcome();
  const validation = await text('validation');
  if (invalid.answer.Error) {
    assert.equal(outcome, 'invalid');
    for (const e of invalid.answer.ValidationErrors) assert.ok(validation.includes(e.split('\n')[0]), validation);
  } else {
    assert.match(validation, /is valid\./);
  }
  assert.deepEqual(problems, []);
  await close();
});
