// The runs list: filters (status, experiment, pipeline, tag, date, text) in the URL, applied by
// the server a page at a time (its cursor, so paging stays fast however many runs there are), and
// live status from the project's event stream.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';

import { api, query, subscribe } from './api.js';
import { ErrorBox, Status, Time, duration, href } from './util.js';

const kStatuses = ['', 'running', 'succeeded', 'failed', 'canceled', 'interrupted'];

export function RunsPage({ params, navigate }) {
  const filters = {
    status: params.get('status') || '',
    experiment: params.get('experiment') || '',
    tag: params.get('tag') || '',
    pipeline: params.get('pipeline') || '',
    q: params.get('q') || '',
    since: params.get('since') || '',
    before: params.get('before') || '',
    limit: params.get('limit') || '50',
  };
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [picked, setPicked] = useState(() => new Set());
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(filters);
  useEffect(() => setPage(null), [key]);  // (no rows of other filters meanwhile)
  useEffect(() => {
    let live = true;
    api(`/runs${query(filters)}`)
      .then((p) => live && (setPage(p), setError(null)))
      .catch((e) => live && setError(e));
    return () => { live = false; };
  }, [key, tick]);
  useEffect(() => {
    // Runs start, steps move, runs finish: read the page again, at most twice a second.
    let timer = null;
    const stop = subscribe({ logs: 'false' }, (kind) => {
      if (kind !== 'run.started' && kind !== 'run.finished' && kind !== 'step') return;
      if (!timer) timer = setTimeout(() => { timer = null; setTick((t) => t + 1); }, 500);
    });
    return () => { stop(); clearTimeout(timer); };
  }, []);
  const set = (changes) => navigate(href(['runs'], { ...filters, before: '', ...changes }));
  const onSubmit = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    set(Object.fromEntries(['status', 'experiment', 'pipeline', 'tag', 'since', 'q'].map((k) => [k, f.get(k) || ''])));
  };
  const runs = page ? page.runs : [];
  const toggle = (id) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id); else next.add(id);
    setPicked(next);
  };
  return html`<section>
    <h1>Runs</h1>
    <form class="filters" onSubmit=${onSubmit} aria-label="filter runs">
      <label>Status <select name="status" value=${filters.status}>
        ${kStatuses.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}</select></label>
      <label>Experiment <input name="experiment" value=${filters.experiment} /></label>
      <label>Pipeline <input name="pipeline" value=${filters.pipeline} /></label>
      <label>Tag <input name="tag" placeholder="KEY or KEY=VALUE" value=${filters.tag} /></label>
      <label>Since <input name="since" type="date" value=${filters.since} /></label>
      <label>Search <input name="q" type="search" value=${filters.q} placeholder="id, name, experiment, tag" /></label>
      <button type="submit">Apply</button>
    </form>
    <${ErrorBox} error=${error} />
    <div class="toolbar">
      <a class=${`button ${picked.size < 2 ? 'disabled' : ''}`} aria-disabled=${picked.size < 2}
        href=${picked.size >= 2 ? href(['compare'], { run: [...picked] }) : undefined}>Compare ${picked.size || ''} selected</a>
    </div>
    <table class="runs">
      <thead><tr><th scope="col"><span class="sr-only">select</span></th><th scope="col">Run</th><th scope="col">Name</th>
        <th scope="col">Experiment</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Duration</th><th scope="col">Tags</th></tr></thead>
      <tbody>
        ${runs.map((r) => html`<tr data-run=${r.id}>
          <td><input type="checkbox" aria-label=${`select run ${r.id}`} checked=${picked.has(r.id)} onChange=${() => toggle(r.id)} /></td>
          <td><a href=${href(['runs', r.id])}>${r.id}</a></td>
          <td>${r.name}</td>
          <td><a href=${href(['runs'], { experiment: r.experiment })}>${r.experiment}</a></td>
          <td><${Status} status=${r.status} /></td>
          <td><${Time} ns=${r.created_ns} /></td>
          <td>${duration(r.created_ns, r.finished_ns)}</td>
          <td>${Object.entries(r.tags || {}).map(([k, v]) => html`<span class="chip">${k}${v ? `=${v}` : ''}</span>`)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${page && runs.length === 0 && html`<p class="muted">No runs match.</p>`}
    <nav class="pager" aria-label="pages">
      ${filters.before && html`<a class="button" href=${href(['runs'], { ...filters, before: '' })}>Newest</a>`}
      ${page && page.next !== null && html`<a class="button" href=${href(['runs'], { ...filters, before: page.next })}>Older</a>`}
    </nav>
  </section>`;
}
