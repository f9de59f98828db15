// The web UI's performance in the browser (Debian's Chromium, headless), against a live
// `weft serve` the caller started (bench/ui): a run page of a 10,000-step run (every node drawn,
// the step list answering a click), the longest main-thread task while a 1,000-step run updates
// live, and dagre's layout time against the level layout the UI uses above 500 nodes.
//
//   node web/test/ui.bench.mjs --base URL --token TOKEN --big RUN --live DIR
//     RUN: a finished run of 10,000 steps; DIR: a pipeline folder (pipeline.yml) of 1,000 steps
//     that the bench submits once the page is open.
// Prints one JSON object.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import dagre from '@dagrejs/dagre';
import { chromium } from 'playwright-core';

import { levelLayout } from '../src/layout.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const { base, token, big, live } = args;
const result = {};

// Layouts alone: a layered DAG of N nodes, 20 to a level, each node fed by two of the level before.
function layered(n) {
  const edges = [];
  for (let i = 20; i < n; i++) {
    const level = Math.floor(i / 20) - 1;
    edges.push([level * 20 + (i % 20), i]);
    if ((i * 7 + 3) % 20 !== i % 20) edges.push([level * 20 + ((i * 7 + 3) % 20), i]);
  }
  return edges;
}
result.layout = [];
for (const n of [250, 500, 1000, 2000]) {
  const edges = layered(n);
  let t = performance.now();
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR' });
  g.setDefaultEdgeLabel(() => ({}));
  for (let i = 0; i < n; i++) g.setNode(String(i), { width: 170, height: 36 });
  for (const [a, b] of edges) g.setEdge(String(a), String(b));
  dagre.layout(g);
  const dagreMs = performance.now() - t;
  t = performance.now();
  levelLayout(n, edges);
  result.layout.push({ nodes: n, dagre_ms: Math.round(dagreMs), levels_ms: +(performance.now() - t).toFixed(2) });
}

const browser = await chromium.launch({
  executablePath: '/usr/lib/chromium/chromium-headless-shell',
  args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
});
async function open() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript((t) => {
    sessionStorage.setItem('weft.token', t);
    window.__long = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
  }, token);
  return context.newPage();
}

// A 10,000-step run page: from navigation to every node drawn, and to the step list answering.
{
  const page = await open();
  const t0 = Date.now();
  await page.goto(`${base}/#/runs/${big}`);
  await page.locator('canvas.graph-canvas[data-drawn="10000"]').waitFor({ timeout: 60000 });
  const drawn = Date.now() - t0;
  await page.locator('.step-row').first().click();
  await page.locator('.step-panel h2').waitFor();
  const interactive = Date.now() - t0;
  const long = await page.evaluate(() => window.__long);
  result.big = { steps: 10000, drawn_ms: drawn, interactive_ms: interactive, longest_task_ms: Math.round(Math.max(0, ...long)) };
  await page.context().close();
}

// A 1,000-step run watched live from its start to its end.
{
  const page = await open();
  await page.goto(`${base}/#/runs`);
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
  const body = execFileSync('tar', ['-C', live, '-cf', '-', ...readdirSync(live)]);
  const res = await fetch(`${base}/api/v1/runs?file=pipeline.yml&force=true`, {
    method: 'POST', body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-tar' },
  });
  const run = (await res.json()).run.id;
  const t0 = Date.now();
  await page.goto(`${base}/#/runs/${run}`);
  await page.evaluate(() => { window.__long = []; });
  await page.locator('.run-head .status-succeeded, .run-head .status-failed').waitFor({ timeout: 600000 });
  const long = await page.evaluate(() => window.__long);
  result.live = { steps: 1000, run_s: +((Date.now() - t0) / 1000).toFixed(1), long_tasks: long.length,
    over_200ms: long.filter((d) => d > 200).length, longest_task_ms: Math.round(Math.max(0, ...long)) };
  await page.context().close();
}
await browser.close();
console.log(JSON.stringify(result));
