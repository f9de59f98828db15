// Published pipelines: their versions, and a run submitted from a form made from the inputs the
// version declares (typed fields; the server's checks name the input that is wrong).
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';

import { api, useApi } from './api.js';
import { ErrorBox, Time, href } from './util.js';

export function PipelinesPage() {
  const { data, error } = useApi('/pipelines');
  return html`<section>
    <h1>Published pipelines</h1>
    <${ErrorBox} error=${error} />
    ${data && data.pipelines.length === 0 && html`<p class="muted">Nothing is published yet (<code>weft publish</code>).</p>`}
    ${data && html`<table><thead><tr><th scope="col">Pipeline</th><th scope="col">Default version</th><th scope="col">Latest</th></tr></thead>
      <tbody>${data.pipelines.map((p) => html`<tr><td><a href=${href(['pipelines', p.name])}>${p.name}</a></td>
        <td>${p.default_version}</td><td>${p.latest_version}</td></tr>`)}</tbody></table>`}
  </section>`;
}

export function PipelinePage({ name, params, navigate }) {
  const [submitError, setSubmitError] = useState(null);
  const chosen = params.get('version') || 'default';
  const base = `/pipelines/${encodeURIComponent(name)}`;
  const { data: pipeline, error } = useApi(base);
  // {version: its record, inputs}
  const { data: version, error: versionError } = useApi(`${base}/versions/${encodeURIComponent(chosen)}`);
  const submit = (e) => {
    e.preventDefault();
    const inputs = {};
    for (const i of version.inputs) {
      const el = e.target.elements[`input-${i.name}`];
      if (i.type === 'boolean') inputs[i.name] = el.checked;
      else if (el.value === '') continue;
      else if (i.type === 'integer') inputs[i.name] = Number.isInteger(Number(el.value)) ? Number(el.value) : el.value;
      else if (i.type === 'number') inputs[i.name] = Number.isNaN(Number(el.value)) ? el.value : Number(el.value);
      else inputs[i.name] = el.value;
    }
    const experiment = e.target.elements.experiment.value;
    api(`${base}/runs`, { method: 'POST', json: { inputs, version: version.version.version, ...(experiment ? { experiment } : {}) } })
      .then((r) => navigate(href(['runs', r.run.id])))
      .catch(setSubmitError);
  };
  const wrong = (n) => submitError && new RegExp(`\\b${n}\\b`).test(submitError.message);
  return html`<section>
    <h1>Pipeline ${name}</h1>
    <${ErrorBox} error=${error || versionError} />
    ${pipeline && html`<table><thead><tr><th scope="col">Version</th><th scope="col">Published</th><th scope="col">By</th><th scope="col">Description</th></tr></thead>
      <tbody>${pipeline.versions.map((v) => html`<tr class=${v.default ? 'default' : ''}>
        <td><a href=${href(['pipelines', name], { version: v.version })}>${v.version}${v.default ? ' (default)' : ''}</a></td>
        <td><${Time} ns=${v.created_ns} /></td><td>${v.created_by}</td><td>${v.description}</td></tr>`)}</tbody></table>`}
    ${version && html`<form class="submit-form" onSubmit=${submit} aria-label="submit a run" novalidate>
      <h2>Run version ${version.version.version}${version.version.description ? ` · ${version.version.description}` : ''}</h2>
      ${version.inputs.map((i) => html`<div class=${`field ${wrong(i.name) ? 'invalid' : ''}`}>
        <label for=${`input-${i.name}`}>${i.name} <span class="muted">${i.type}${i.optional ? ', optional' : ''}</span></label>
        ${i.type === 'boolean'
          ? html`<input id=${`input-${i.name}`} name=${`input-${i.name}`} type="checkbox" checked=${i.default === true} />`
          : html`<input id=${`input-${i.name}`} name=${`input-${i.name}`} aria-invalid=${wrong(i.name)}
              type=${i.type === 'integer' || i.type === 'number' ? 'number' : 'text'} step=${i.type === 'number' ? 'any' : '1'}
              placeholder=${i.default !== null && i.default !== undefined ? String(i.default) : ''} required=${!i.optional && (i.default === null || i.default === undefined)} />`}
      </div>`)}
      <div class="field"><label for="experiment">Experiment</label><input id="experiment" name="experiment" /></div>
      <${ErrorBox} error=${submitError} />
      <button type="submit">Submit run</button>
    </form>`}
  </section>`;
}

export function SchedulesPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api('/schedules').then(setData).catch(setError);
  useEffect(() => { load(); }, []);
  const flip = (s) => api(`/schedules/${encodeURIComponent(s.name)}/${s.enabled ? 'disable' : 'enable'}`, { method: 'POST' })
    .then(load).catch(setError);
  return html`<section>
    <h1>Schedules</h1>
    <${ErrorBox} error=${error} />
    ${data && data.schedules.length === 0 && html`<p class="muted">No schedules (<code>weft schedule create</code>).</p>`}
    ${data && html`<table><thead><tr><th scope="col">Schedule</th><th scope="col">Enabled</th><th scope="col">Next firings</th><th scope="col">Last</th><th scope="col"></th></tr></thead>
      <tbody>${data.schedules.map((s) => html`<tr data-schedule=${s.name}>
        <td>${s.name}</td><td>${s.enabled ? 'yes' : 'no'}</td>
        <td>${(s.next_fires_ns || []).slice(0, 3).map((ns) => html`<div><${Time} ns=${ns} /></div>`)}</td>
        <td>${(s.fires || []).slice(0, 1).map((f) => html`<span><${Time} ns=${f.fire_ns} /> ${f.run ? html`<a href=${href(['runs', f.run])}>${f.run}</a>` : f.outcome}</span>`)}</td>
        <td><button type="button" onClick=${() => flip(s)}>${s.enabled ? 'Disable' : 'Enable'}</button></td></tr>`)}</tbody></table>`}
  </section>`;
}

export function AssetsPage({ params, navigate }) {
  const kind = params.get('kind') || 'data';
  const { data, error } = useApi(`/assets?kind=${encodeURIComponent(kind)}`);
  return html`<section>
    <h1>Assets</h1>
    <nav class="tabs" aria-label="asset kinds">
      ${['data', 'model', 'component', 'environment'].map((k) => html`<a class=${k === kind ? 'active' : ''}
        aria-current=${k === kind ? 'page' : undefined} href=${href(['assets'], { kind: k })}>${k}</a>`)}
    </nav>
    <${ErrorBox} error=${error} />
    ${data && data.assets.length === 0 && html`<p class="muted">No ${kind} assets.</p>`}
    ${data && html`<table><thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Type</th><th scope="col">Created</th><th scope="col">Source</th><th scope="col"></th></tr></thead>
      <tbody>${data.assets.map((a) => html`<tr><td>${a.name}</td><td>${a.version}</td><td>${a.type}</td>
        <td><${Time} ns=${a.created_ns} /></td><td>${a.source}</td>
        <td>${(kind === 'data' || kind === 'model') && html`<a href=${href(['lineage'], { ref: `${a.name}:${a.version}`, direction: 'downstream' })}>Lineage</a>`}</td></tr>`)}</tbody></table>`}
  </section>`;
}
