// A sweep's trials: their parameters and results side by side (the data of `weft compare --jobs`),
// a scatter of one parameter against a metric (the objective by default), and each metric's
// history with a line per trial.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';

import { query, useApi } from './api.js';
import { MetricCharts } from './charts.js';
import { ErrorBox } from './util.js';

const kW = 520;
const kH = 300;
const kPad = 48;

export function Trials({ run, step }) {
  const { data, error } = useApi(`/compare${query({ run, jobs: step })}`);
  const [xName, setX] = useState('');
  const [yName, setY] = useState('');
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return null;
  const params = data.rows.filter((r) => r.kind === 'param');
  const metrics = data.rows.filter((r) => r.kind === 'metric');
  const status = data.rows.find((r) => r.kind === 'status');
  const x = params.find((r) => r.name === xName) || params[0];
  const y = metrics.find((r) => r.name === yName) || metrics[0];
  return html`<div class="trials">
    ${x && y && html`<div class="scatter-tools">
      <label>Parameter <select value=${x.name} onChange=${(e) => setX(e.target.value)}>
        ${params.map((p) => html`<option value=${p.name}>${p.name}</option>`)}</select></label>
      <label>Metric <select value=${y.name} onChange=${(e) => setY(e.target.value)}>
        ${metrics.map((m) => html`<option value=${m.name}>${m.name}</option>`)}</select></label>
    </div>
    <${Scatter} x=${x} y=${y} status=${status} />`}
    <${MetricCharts} runs=${[run]} step=${step} jobs=${true} />
    <table class="compare">
      <thead><tr><th scope="col">Trial</th><th scope="col">Status</th>
        ${params.map((p) => html`<th scope="col">${p.name}</th>`)}${metrics.map((m) => html`<th scope="col">${m.name}</th>`)}</tr></thead>
      <tbody>${data.jobs.map((j, k) => html`<tr data-trial=${k}><td>${j}</td><td>${status ? status.values[k] : ''}</td>
        ${params.map((p) => html`<td>${p.values[k]}</td>`)}${metrics.map((m) => html`<td>${m.values[k]}</td>`)}</tr>`)}</tbody>
    </table>
  </div>`;
}

// Numeric values on a linear axis; others as evenly spaced categories.
function axis(values, from, to) {
  const nums = values.map((v) => (v === '' || v === null ? NaN : Number(v)));
  if (nums.every((n) => !Number.isNaN(n))) {
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    const span = hi - lo || 1;
    return { at: (k) => from + ((nums[k] - lo) / span) * (to - from), ticks: [[from, String(lo)], [to, String(hi)]] };
  }
  const cats = [...new Set(values)];
  const step = (to - from) / Math.max(1, cats.length);
  return { at: (k) => from + step * (cats.indexOf(values[k]) + 0.5), ticks: cats.map((c, i) => [from + step * (i + 0.5), String(c)]) };
}

function Scatter({ x, y, status }) {
  const ax = axis(x.values, kPad, kW - 16);
  const ay = axis(y.values, kH - kPad, 16);
  return html`<svg class="scatter" width=${kW} height=${kH} role="img" aria-label=${`${y.name} against ${x.name}, one point per trial`}>
    <line x1=${kPad} y1=${kH - kPad} x2=${kW - 16} y2=${kH - kPad} class="axis" />
    <line x1=${kPad} y1=${16} x2=${kPad} y2=${kH - kPad} class="axis" />
    ${ax.ticks.map(([p, t]) => html`<text x=${p} y=${kH - kPad + 16} text-anchor="middle" class="tick">${t}</text>`)}
    ${ay.ticks.map(([p, t]) => html`<text x=${kPad - 6} y=${p + 4} text-anchor="end" class="tick">${t}</text>`)}
    <text x=${(kW + kPad) / 2} y=${kH - 8} text-anchor="middle" class="label">${x.name}</text>
    <text x=${14} y=${kH / 2} transform=${`rotate(-90 14 ${kH / 2})`} text-anchor="middle" class="label">${y.name}</text>
    ${y.values.map((v, k) => (v === '' ? null : html`<circle cx=${ax.at(k)} cy=${ay.at(k)} r="5"
        class=${`point ${status && status.values[k] !== 'succeeded' ? 'failed' : ''}`}>
      <title>trial ${k}: ${x.name}=${x.values[k]}, ${y.name}=${v}</title></circle>`))}
  </svg>`;
}
