// The web UI in a real browser (Debian's Chromium, headless, driven by Playwright) against a live
// `weft serve` this test starts, with real runs: sign in, the runs list, a running run whose step
// turns green, a log (rendered as text), cancelling a run, comparing two runs, lineage, submitting
// a published pipeline from its form, the keyboard. Every page is checked by axe (no serious or
// critical violation) and saved as a screenshot for review.
//
//   node web/test/ui.test.mjs --weft BUILD/weft --ui BUILD/ui --out BUILD/web-screenshots
//
// Prints one line per check and a count; exits 1 when any failed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const weft = resolve(args.weft || 'build/weft');
const ui = resolve(args.ui || 'build/ui');
const out = resolve(args.out || 'build/web-screenshots');
mkdirSync(out, { recursive: true });

const browserPath = ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium'].find(existsSync);
let page;
let passed = 0;
let failed = 0;
async function check(name, f) {
  const t0 = Date.now();
  try {
    await f();
    passed++;
    console.log(`ok    ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}: ${e.stack || e}`);
    if (typeof page !== 'undefined') {  // what the page showed, for the log and as a picture
      const shown = await page.locator('main').innerText().catch(() => '');
      console.log(`      at ${page.url()}, the page shows:\n${shown.slice(0, 2000)}`);
      await page.screenshot({ path: join(out, `FAIL-${failed}.png`), fullPage: true }).catch(() => {});
    }
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// --- a server with a project, an owner's token and runs --------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'weft ui '));
const ws = join(dir, 'ws');
mkdirSync(ws);
const marks = join(dir, 'marks');
mkdirSync(marks);
const server = spawn(weft, ['serve', '--workspace', ws, '--listen', '127.0.0.1:0', '--ui', ui],
  { stdio: ['ignore', 'pipe', 'inherit'] });
// However this ends, the server goes with it.
process.on('exit', () => server.kill('SIGKILL'));
process.on('uncaughtException', (e) => { console.log(`FAIL  setup: ${e.stack || e}`); process.exit(1); });
process.on('unhandledRejection', (e) => { console.log(`FAIL  setup: ${e.stack || e}`); process.exit(1); });
let said = '';
const started = await new Promise((resolve_, reject) => {
  server.stdout.on('data', (d) => {
    said += d;
    const m = said.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    if (m && /weft_[0-9a-f_]+/.test(said)) resolve_(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`weft serve exited ${code}: ${said}`)));
  setTimeout(() => reject(new Error(`weft serve did not start: ${said}`)), 20000);
});
const base = started;
const admin = said.match(/weft_[0-9a-f_]+/)[0];
const cli = (argv, token = admin) => execFileSync(weft, argv, {
  env: { ...process.env, WEFT_TOKEN: token, WEFT_SERVER: base }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
}).toString().trim();
cli(['project', 'create', 'ml']);
const owner = cli(['token', 'create', '--name', 'alice', '--project', 'ml', '--role', 'owner']);

function pipelineFolder(name, text, files = {}) {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'p.yml'), text);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(d, path, '..'), { recursive: true });
    writeFileSync(join(d, path), content);
  }
  return d;
}
async function submit(folder, experiment) {
  const body = execFileSync('tar', ['-C', folder, '-cf', '-', ...readdirSync(folder)]);
  const res = await fetch(`${base}/api/v1/runs?file=p.yml&experiment=${experiment}`, {
    method: 'POST', body, headers: { Authorization: `Bearer ${owner}`, 'Content-Type': 'application/x-tar' },
  });
  const j = await res.json();
  assert(res.status === 201, `submit: ${res.status} ${JSON.stringify(j)}`);
  return j.run.id;
}
async function runStatus(id) {
  const res = await fetch(`${base}/api/v1/runs/${id}`, { headers: { Authorization: `Bearer ${owner}` } });
  return (await res.json()).status;
}
async function until(f, what, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const env = 'environment: {image: python:3.11}';
const train = (wait) => `type: pipeline
experiment_name: ui
inputs:
  epochs: 3
jobs:
  prep:
    command: >-
      echo 'preparing <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
      echo '{"rows": 3}' > \${{outputs.data}}/d.json
    outputs: {data: {type: uri_folder}}
    ${env}
  train:
    command: >-
      ${wait ? `while [ ! -e '${join(marks, wait)}' ]; do sleep 0.1; done;` : ''}
      python -c "import mlflow; [mlflow.log_metric('loss', 1.0 / (e + 1), step=e) for e in range(\${{inputs.epochs}})]";
      echo trained; cp \${{inputs.d}}/d.json \${{outputs.model}}/m.json
    inputs:
      d: \${{parent.jobs.prep.outputs.data}}
      epochs: \${{parent.inputs.epochs}}
    outputs: {model: {type: uri_folder}}
    ${env}
`;
const first = await submit(pipelineFolder('first', train('')), 'ui');
await until(async () => (await runStatus(first)) === 'succeeded', `run ${first} to succeed`);
const warned = await submit(pipelineFolder('warned', `type: pipeline
jobs:
  only:
    command: echo fine
    environment: azureml:not-registered-here:1
`), 'ui');
const second = await submit(pipelineFolder('second', train('go').replace('epochs: 3', 'epochs: 4')), 'ui');
const third = await submit(pipelineFolder('third', train('never').replace('epochs: 3', 'epochs: 5')), 'other');
mkdirSync(join(dir, 'pub'), { recursive: true });
writeFileSync(join(dir, 'pub', 'p.yml'), train('').replace('epochs: 3', 'epochs:\n    type: integer\n    default: 2'));
cli(['publish', join(dir, 'pub', 'p.yml'), '--name', 'trainer', '--description', 'the trainer'], owner);
writeFileSync(join(dir, 'pub', 'schedule.yml'), `name: nightly-train
trigger:
  type: cron
  expression: "15 2 * * *"
  time_zone: UTC
create_job: azureml:trainer
`);
cli(['schedule', 'create', '-f', join(dir, 'pub', 'schedule.yml')], owner);
const nested = await submit(pipelineFolder('nested', `type: pipeline
jobs:
  first:
    command: echo one > \${{outputs.o}}/o
    outputs: {o: {type: uri_folder}}
    ${env}
  inner:
    type: pipeline
    component: ./inner.yml
    inputs: {i: "\${{parent.jobs.first.outputs.o}}"}
`, { 'inner.yml': `type: pipeline
name: inner_pipeline
inputs:
  i: {type: uri_folder}
jobs:
  a:
    command: cat \${{inputs.x}}/o
    inputs: {x: "\${{parent.inputs.i}}"}
    ${env}
  b:
    command: cat \${{inputs.x}}/o
    inputs: {x: "\${{parent.inputs.i}}"}
    ${env}
` }), 'nested');
const parallel = await submit(pipelineFolder('parallel', `type: pipeline
jobs:
  score:
    type: parallel
    inputs: {data: {type: uri_folder, path: ./data}}
    outputs: {scores: {type: uri_folder}}
    input_data: \${{inputs.data}}
    mini_batch_size: "1"
    resources: {instance_count: 1}
    max_concurrency_per_instance: 1
    task:
      type: run_function
      code: ./src
      entry_script: score.py
      append_row_to: \${{outputs.scores}}
      ${env}
`, { 'data/a.txt': 'a', 'data/b.txt': 'b', 'data/c.txt': 'c', 'src/score.py': `import os, time
def init():
    pass

def run(mini_batch):
    while not os.path.exists('${join(marks, 'score')}'):
        time.sleep(0.1)
    return [os.path.basename(p) for p in mini_batch]
` }), 'parallel');
const sweep = await submit(pipelineFolder('sweep', `type: pipeline
jobs:
  sweep:
    type: sweep
    trial:
      code: ./src
      command: python t.py \${{search_space.x}} \${{search_space.d}}
      ${env}
    sampling_algorithm: grid
    search_space:
      x: {type: choice, values: [0.1, 0.5, 0.9]}
      d: {type: choice, values: [1, 5]}
    objective: {goal: maximize, primary_metric: acc}
    limits: {max_total_trials: 6}
`, { 'src/t.py': `import json, os, sys
x = float(sys.argv[1]); d = int(sys.argv[2])
for e in range(3):
    open(os.environ['WEFT_METRICS'], 'a').write(json.dumps({'name': 'acc', 'value': (x + d / 100) * (e + 1) / 3, 'step': e}) + '\\n')
` }), 'sweeps');

// --- the browser -----------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: browserPath,
  args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
const offsite = [];
page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) offsite.push(r.url()); });

async function shot(name) {
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
}
async function accessible(name) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert(bad.length === 0, `${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('; ')}`);
}

await check('the UI\'s files need no token and run only the server\'s own scripts', async () => {
  const res = await fetch(`${base}/`);
  assert(res.status === 200 && (await res.text()).includes('app.js'), `GET /: ${res.status}`);
  const csp = res.headers.get('content-security-policy') || '';
  assert(csp.includes("script-src 'self';") && csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
  assert(!/script-src[^;]*unsafe-inline/.test(csp), `inline scripts allowed: ${csp}`);
  assert((await fetch(`${base}/api/v1/runs`)).status === 401, 'the API without a token');
});

await check('the sign-in page refuses a wrong token and keeps the token out of the URL', async () => {
  await page.goto(`${base}/`);
  await page.getByLabel('Token').fill('weft_000000000000_nope');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await shot('login');
  await accessible('login');
  await page.getByLabel('Token').fill(owner);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
  assert(!page.url().includes(owner) && !page.url().includes('token'), `the URL holds the token: ${page.url()}`);
  const stored = await page.evaluate(() => [localStorage.length, sessionStorage.getItem('weft.token')]);
  assert(stored[0] === 0 && stored[1] === owner, 'the token is kept in the session only');
});

await check('the runs list shows every run, filters by status and experiment, and times in local time with UTC on hover', async () => {
  for (const id of [first, second, third]) await page.locator(`tr[data-run="${id}"]`).waitFor();
  const title = await page.locator(`tr[data-run="${first}"] time`).getAttribute('title');
  assert(/UTC$/.test(title), `hover text: ${title}`);
  await shot('runs');
  await accessible('runs');
  await page.getByLabel('Status').selectOption('succeeded');
  await page.getByRole('button', { name: 'Apply' }).click();
  await until(async () => page.url().includes('status=succeeded'), 'the filter in the URL', 5000);
  await page.locator(`tr[data-run="${second}"]`).waitFor({ state: 'detached' });
  await page.locator(`tr[data-run="${first}"]`).waitFor();
  await page.goto(`${base}/#/runs?experiment=other`);
  await page.locator(`tr[data-run="${first}"]`).waitFor({ state: 'detached' });
  await page.locator(`tr[data-run="${third}"]`).waitFor();
  await page.goto(`${base}/#/runs`);
  await page.locator(`tr[data-run="${first}"]`).waitFor();
  await page.getByLabel('Search').fill('OTHER');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator(`tr[data-run="${first}"]`).waitFor({ state: 'detached' });
  await page.locator(`tr[data-run="${third}"]`).waitFor();
});

await check('a running run\'s step turns green live, its log streaming, and the run with it', async () => {
  await page.goto(`${base}/#/runs/${second}?step=train&tab=log`);
  await page.locator('svg.graph g.node[data-step="train"][data-status="running"]').waitFor({ timeout: 20000 });
  await page.locator('.log .live').waitFor();
  await shot('run-running');
  await accessible('run page');
  writeFileSync(join(marks, 'go'), '');
  await page.locator('.log-text').filter({ hasText: 'trained' }).waitFor({ timeout: 20000 });
  await page.locator('svg.graph g.node[data-step="train"][data-status="succeeded"]').waitFor({ timeout: 20000 });
  await page.locator('.run-head .status-succeeded').waitFor({ timeout: 20000 });
  await shot('run-succeeded');
});

await check('a run keeps what it warned of, and its page shows it', async () => {
  await until(async () => (await runStatus(warned)) === 'succeeded', `run ${warned} to succeed`);
  await page.goto(`${base}/#/runs/${warned}`);
  const box = page.locator('.run-warnings');
  await box.filter({ hasText: 'not-registered-here' }).waitFor();
  const text = await box.locator('pre').first().textContent();
  assert(/p\.yml:5:\d+: warning: environment `azureml:not-registered-here:1` is not registered/.test(text), `warning: ${text}`);
  await shot('run-warnings');
  await accessible('run warnings');
  await page.goto(`${base}/#/runs/${first}`);
  await page.locator('.run-head').waitFor();
  assert(await page.locator('.run-warnings').count() === 0, 'a run without warnings shows none');
});

await check('a log is read as text: markup in it stays text and runs no script', async () => {
  await page.goto(`${base}/#/runs/${first}?step=prep&tab=log`);
  await page.locator('.log-text').filter({ hasText: 'preparing <img' }).waitFor();
  const text = await page.locator('.log-text').textContent();
  assert(text.includes('<script>window.__xss=2</script>'), `log: ${text}`);
  assert(await page.locator('.log-text img, .log-text script').count() === 0, 'the log became markup');
  assert(await page.evaluate(() => window.__xss) === undefined, 'a step ran script in the page');
  const [saved] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  await saved.saveAs(join(dir, 'prep.log'));
  assert(readFileSync(join(dir, 'prep.log'), 'utf8') === text, 'the downloaded log is the log shown');
  await page.getByLabel('Search the log').fill('preparing');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.hits li').first().waitFor();
  await shot('log');
  await accessible('log');
});

await check('the step panel explains the step and charts its metrics', async () => {
  await page.goto(`${base}/#/runs/${first}?step=train&tab=explain`);
  await page.locator('.explain li').filter({ hasText: 'train ran' }).waitFor();
  await page.goto(`${base}/#/runs/${first}?step=train&tab=metrics`);
  await page.locator('figure.chart[data-metric="loss"] canvas').first().waitFor();
  await shot('metrics');
  await accessible('metrics');
});

await check('the step list works from the keyboard', async () => {
  await page.goto(`${base}/#/runs/${first}?step=prep`);
  await page.locator('.step-row[data-step="prep"]').focus();
  await page.keyboard.press('ArrowDown');
  await until(async () => page.url().includes('step=train'), 'ArrowDown to select the next step', 5000);
  await page.locator('.step-panel h2').filter({ hasText: 'train' }).waitFor();
  await page.locator('svg.graph g.node[data-step="prep"]').focus();
  await page.keyboard.press('Enter');
  await until(async () => page.url().includes('step=prep'), 'Enter on a graph node to select it', 5000);
});

await check('cancelling a run from its page stops it', async () => {
  await page.goto(`${base}/#/runs/${third}`);
  await page.locator('svg.graph g.node[data-step="train"][data-status="running"]').waitFor({ timeout: 20000 });
  await page.getByRole('button', { name: 'Cancel run' }).click();
  await page.locator('.run-head .status-canceled').waitFor({ timeout: 20000 });
  assert(await runStatus(third) === 'canceled', 'the server says it is not canceled');
  await shot('run-canceled');
});

await check('two runs compare side by side, their differences marked', async () => {
  await page.goto(`${base}/#/runs`);
  await page.getByLabel(`select run ${first}`).check();
  await page.getByLabel(`select run ${second}`).check();
  await page.getByRole('link', { name: /Compare 2 selected/ }).click();
  await page.locator('table.compare').waitFor();
  const heads = await page.locator('table.compare th').allTextContents();
  assert(heads.includes(first) && heads.includes(second), `columns: ${heads}`);
  assert(await page.locator('table.compare tr.differs').count() > 0, 'no difference marked (epochs differ)');
  await shot('compare');
  await accessible('compare');
});

await check('an output\'s files are browsed and one downloads as it is', async () => {
  await page.goto(`${base}/#/runs/${first}?step=train&tab=io`);
  const input = await page.locator('.io tr[data-input="d"]').innerText();
  assert(/prep\.data/.test(input) && /[0-9a-f]{12}/.test(input), `input d: ${input}`);
  assert((await page.locator('.io tr[data-input="epochs"]').innerText()).includes('3'), 'input epochs');
  await page.goto(`${base}/#/runs/${first}?step=prep&tab=io`);
  await page.locator('.io tr').filter({ hasText: 'data' }).getByRole('button', { name: 'Files' }).click();
  await page.locator('.files tr[data-entry="d.json"]').waitFor();
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'download d.json' }).click()]);
  const saved = join(dir, 'd.json');
  await file.saveAs(saved);
  assert(readFileSync(saved, 'utf8') === '{"rows": 3}\n', `downloaded: ${readFileSync(saved, 'utf8')}`);
  await shot('files');
  await accessible('files');
});

await check('lineage of an output links to the steps that made it', async () => {
  await page.goto(`${base}/#/runs/${first}?step=train&tab=io`);
  await page.locator('.io tr').filter({ hasText: 'model' }).getByRole('link', { name: 'Lineage' }).click();
  await page.locator(`svg.lineage a.node[data-step="prep"]`).waitFor();
  await shot('lineage');
  await accessible('lineage');
  await page.locator(`svg.lineage a.node[data-step="prep"]`).click();
  await until(async () => page.url().includes('step=prep'), 'the lineage node to open its step', 5000);
});

await check('a published pipeline runs from its form, and the server\'s check of an input is shown', async () => {
  await page.goto(`${base}/#/pipelines`);
  await page.getByRole('link', { name: 'trainer' }).click();
  await page.getByLabel(/^epochs/).fill('2.5');
  await page.getByRole('button', { name: 'Submit run' }).click();
  await page.getByRole('alert').filter({ hasText: 'epochs' }).waitFor();
  await shot('pipeline-invalid');
  await accessible('pipeline');
  await page.getByLabel(/^epochs/).fill('2');
  await page.getByRole('button', { name: 'Submit run' }).click();
  await page.locator('.run-head').waitFor();
  await page.locator('.run-head .status-succeeded').waitFor({ timeout: 30000 });
  await shot('pipeline-run');
  const published = page.url().match(/runs\/(r\d+)/)[1];
  await page.goto(`${base}/#/runs?pipeline=trainer`);
  await page.locator(`tr[data-run="${published}"]`).waitFor();
  // (The schedule's run, fired when it was made, is trainer's too.)
  for (const tags of await page.locator('tr[data-run]').allInnerTexts()) {
    assert(tags.includes('weft.pipeline=trainer:1'), `a run of another pipeline listed under trainer: ${tags}`);
  }
});

await check('a running parallel step shows its mini-batches done in the graph', async () => {
  await page.goto(`${base}/#/runs/${parallel}`);
  await page.locator('svg.graph g.node[data-step="score"][data-status="running"]').waitFor({ timeout: 20000 });
  await page.locator('svg.graph g.node[data-step="score"]').filter({ hasText: '0/3 mini-batches' }).waitFor({ timeout: 20000 });
  await shot('parallel-running');
  writeFileSync(join(marks, 'score'), '');
  await page.locator('svg.graph g.node[data-step="score"][data-status="succeeded"]').waitFor({ timeout: 30000 });
  await page.locator('.step-row[data-step="score"][data-status="succeeded"]').waitFor();
  const note = await page.locator('.step-row[data-step="score"]').innerText();
  assert(!note.includes('0/3'), `a finished step keeps its running note: ${note}`);
});

await check('a nested pipeline is a group that folds into one node and opens again', async () => {
  await until(async () => (await runStatus(nested)) === 'succeeded', `nested run ${nested} to succeed`);
  await page.goto(`${base}/#/runs/${nested}`);
  await page.locator('svg.graph .group-box').filter({ hasText: 'inner' }).waitFor();
  const inner = await page.locator('svg.graph g.node[data-step^="inner/"]').count();
  assert(inner === 2, `the group's steps drawn: ${inner}`);
  await page.getByRole('button', { name: /inner/ }).first().click();
  await page.locator('svg.graph g.node[aria-label^="pipeline inner"]').waitFor();
  assert(await page.locator('svg.graph g.node[data-step^="inner/"]').count() === 0, 'folded steps still drawn');
  await shot('nested-folded');
  await accessible('nested');
  await page.locator('svg.graph g.node[aria-label^="pipeline inner"]').focus();
  await page.keyboard.press('Enter');
  await page.locator('svg.graph g.node[data-step^="inner/"][data-status="succeeded"]').nth(1).waitFor();
});

await check('a sweep\'s trials are listed and plotted, parameter against objective', async () => {
  await until(async () => (await runStatus(sweep)) === 'succeeded', `sweep run ${sweep} to succeed`);
  await page.goto(`${base}/#/runs/${sweep}?step=sweep&tab=trials`);
  await page.locator('.trials tr[data-trial="5"]').waitFor();
  assert(await page.locator('svg.scatter circle.point').count() === 6, 'one point per trial');
  const best = await page.locator('.trials tr[data-trial="5"]').innerText();
  assert(best.includes('0.9') && best.includes('0.95'), `the last trial: ${best}`);
  // Each trial's history, a line per trial.
  await page.locator('figure.chart[data-metric="acc"]').waitFor();
  const legend = await page.locator('figure.chart[data-metric="acc"] .u-legend').innerText();
  for (let k = 0; k < 6; k++) assert(legend.includes(`trial ${k}`), `legend: ${legend}`);
  await page.getByLabel('Parameter').selectOption('d');
  await page.locator('svg.scatter[aria-label="acc against d, one point per trial"]').waitFor();
  await shot('sweep');
  await accessible('sweep');
});

await check('a schedule shows its next firing in local time and is disabled and enabled again', async () => {
  await page.goto(`${base}/#/schedules`);
  const row = page.locator('tr[data-schedule="nightly-train"]');
  await row.waitFor();
  const first = await row.locator('td').nth(2).locator('time').first().getAttribute('title');
  assert(/02:15:00 UTC$/.test(first), `the first firing: ${first}`);
  await row.getByRole('button', { name: 'Disable' }).click();
  await row.getByRole('button', { name: 'Enable' }).waitFor();
  const res = await fetch(`${base}/api/v1/schedules/nightly-train`, { headers: { Authorization: `Bearer ${owner}` } });
  assert((await res.json()).enabled === false, 'the server still has it enabled');
  await row.getByRole('button', { name: 'Enable' }).click();
  await row.getByRole('button', { name: 'Disable' }).waitFor();
  await shot('schedules');
  await accessible('schedules');
});

await check('the other pages answer without errors', async () => {
  for (const [name, path] of [['assets', '#/assets'], ['pipelines', '#/pipelines']]) {
    await page.goto(`${base}/${path}`);
    await page.locator('main h1').waitFor();
    await accessible(name);
    await shot(name);
  }
});

await check('no script error, nothing fetched from elsewhere', async () => {
  assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
  assert(offsite.length === 0, `requests off the server: ${offsite.join(', ')}`);
});

await browser.close();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed; screenshots in ${out}`);
process.exit(failed === 0 ? 0 : 1);
