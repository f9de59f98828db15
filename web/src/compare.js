// Runs side by side (the data of `weft compare --diff`), with their metrics overlaid.
import { html } from 'htm/preact';
import { query, useApi } from './api.js';
import { MetricCharts } from './charts.js';
import { ErrorBox, href, short } from './util.js';

export function ComparePage({ params, navigate }) {
  const runs = params.getAll('run');
  const jobs = params.get('jobs') || '';
  const diff = params.get('diff') === 'true';
  const { data, error } = useApi(runs.length < (jobs ? 1 : 2) ? ''
    : `/compare${query({ run: runs, jobs, diff: diff ? 'true' : '' })}`);
  const onSubmit = (e) => {
    e.preventDefault();
    const ids = String(new FormData(e.target).get('runs') || '').split(/[\s,]+/).filter(Boolean);
    navigate(href(['compare'], { run: ids, diff: diff ? 'true' : '' }));
  };
  const value = (v) => (typeof v === 'string' && v.startsWith('sha256:') ? html`<code title=${v}>${short(v)}</code>` : String(v ?? ''));
  const columns = data ? data.runs || data.jobs || [] : [];
  return html`<section>
    <h1>Compare</h1>
    <form class="filters" onSubmit=${onSubmit}>
      <label>Runs <input name="runs" value=${runs.join(' ')} placeholder="r1 r2" /></label>
      <button type="submit">Compare</button>
      <a class="button" href=${href(['compare'], { run: runs, jobs, diff: diff ? '' : 'true' })}>${diff ? 'Show all rows' : 'Only differences'}</a>
    </form>
    <${ErrorBox} error=${error} />
    ${data && html`<table class="compare">
      <thead><tr><th scope="col">Step</th><th scope="col">Kind</th><th scope="col">Name</th>
        ${columns.map((c) => html`<th scope="col">${jobs ? `job ${c}` : html`<a href=${href(['runs', c])}>${c}</a>`}</th>`)}</tr></thead>
      <tbody>${data.rows.map((r) => html`<tr class=${r.differs ? 'differs' : ''}>
        <td>${r.step}</td><td>${r.kind}</td><td>${r.name}</td>${r.values.map((v) => html`<td>${value(v)}</td>`)}</tr>`)}</tbody>
    </table>`}
    ${data && !jobs && html`<h2>Metrics</h2><${MetricCharts} runs=${runs} />`}
  </section>`;
}
