// Line charts of metric histories (uPlot): one chart per metric, one line per run (or, with
// `jobs`, per trial of a sweep), so that they overlay; x is the metric's step when it was logged
// with one, else its order.
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { query, useApi } from './api.js';
import { ErrorBox } from './util.js';

const kPalette = ['#0969da', '#cf222e', '#1a7f37', '#9a6700', '#8250df', '#bc4c00', '#57606a', '#1b7c83'];

export function MetricCharts({ runs, step, jobs = false }) {
  const { data, error } = useApi(`/metrics${query({ run: runs.join(','), step, jobs: jobs ? 'true' : '' })}`);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return null;
  const { series } = data;
  const byName = new Map();
  for (const s of series) {
    if (!byName.has(s.name)) byName.set(s.name, []);
    byName.get(s.name).push(s);
  }
  return html`<div class="charts">${[...byName].map(([name, lines]) => html`<${Chart} name=${name} lines=${lines} />`)}</div>`;
}

function Chart({ name, lines }) {
  const box = useRef(null);
  useEffect(() => {
    const xs = new Set();
    const points = lines.map((l) => l.points.map((p, i) => [p.step !== undefined ? p.step : i, p.value]));
    points.forEach((ps) => ps.forEach(([x]) => xs.add(x)));
    const x = [...xs].sort((a, b) => a - b);
    const at = new Map(x.map((v, i) => [v, i]));
    const data = [x, ...points.map((ps) => {
      const ys = new Array(x.length).fill(null);
      for (const [px, py] of ps) ys[at.get(px)] = py;
      return ys;
    })];
    const one = lines.every((o) => o.run === lines[0].run);
    const label = (l) => (l.job !== undefined ? `trial ${l.job}` : one ? l.step : `${l.run} ${l.step}`);
    const plot = new uPlot({
      title: name,
      width: Math.min(640, box.current.clientWidth || 640),
      height: 220,
      scales: { x: { time: false } },
      series: [{ label: 'step' }, ...lines.map((l, i) => ({ label: label(l), stroke: kPalette[i % kPalette.length], spanGaps: true, width: 2 }))],
    }, data, box.current);
    return () => plot.destroy();
  }, [lines]);
  return html`<figure class="chart" data-metric=${name} ref=${box} aria-label=${`chart of ${name}`}></figure>`;
}
