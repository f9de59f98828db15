// A run: its graph coloured by live status, the list of its steps, and a panel for the selected
// step (log streaming live, inputs and outputs, metrics, why it ran or was reused).
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import { api, download, query, saveBlob, subscribe, useApi } from './api.js';
import { Graph } from './graph.js';
import { MetricCharts } from './charts.js';
import { Trials } from './sweep.js';
import { ErrorBox, Status, Time, duration, href, short } from './util.js';

const kLive = new Set(['running', 'retrying', 'waiting', 'pending', 'queued']);

export function RunPage({ id, params, navigate }) {
  const [run, setRun] = useState(null);
  const [graph, setGraph] = useState(null);
  const [statuses, setStatuses] = useState({});
  const [notes, setNotes] = useState({});
  const [error, setError] = useState(null);
  const [logTick, setLogTick] = useState(0);
  const selected = params.get('step') || '';
  const tab = params.get('tab') || 'log';
  const refresh = useRef(null);
  const took = useRef(0);  // how long the run's last read took
  const shown = useRef(selected);  // the step whose log is open, for the event handler
  shown.current = selected;
  const load = () => {
    const t0 = performance.now();
    return api(`/runs/${encodeURIComponent(id)}`).then((r) => {
      took.current = performance.now() - t0;
      setRun(r);
      setStatuses((s) => ({ ...s, ...Object.fromEntries(r.steps.map((x) => [x.name, x.status])) }));
    });
  };
  useEffect(() => {
    let live = true;
    setRun(null); setGraph(null); setStatuses({}); setNotes({}); setError(null);
    Promise.all([load(), api(`/runs/${encodeURIComponent(id)}/graph`)])
      .then(([, g]) => live && (setGraph(g.graph), setStatuses((s) => ({ ...g.steps, ...s }))))
      .catch((e) => live && setError(e));
    const stop = subscribe({ run: id, logs: 'true' }, (kind, data) => {
      if (data.run !== undefined && data.run !== id) return;
      if (kind === 'step') {
        setStatuses((s) => ({ ...s, [data.step]: data.status }));
        if (!kLive.has(data.status)) setNotes(({ [data.step]: gone, ...rest }) => rest);
      } else if (kind === 'progress') {
        setNotes((n) => ({ ...n, ...Object.fromEntries((data.running || []).filter((r) => r.detail).map((r) => [r.step, r.detail])) }));
      } else if (kind === 'log') {  // the open log reads what was added
        if (data.step === shown.current) setLogTick((t) => t + 1);
        return;
      }
      // Statuses come with the events; the run itself (messages, times) is read again after a
      // pause that grows with what a read costs (a 10,000-step run is megabytes).
      if (!refresh.current) {
        refresh.current = setTimeout(() => { refresh.current = null; load().catch(() => {}); },
          Math.max(300, 4 * took.current));
      }
    });
    return () => { live = false; stop(); clearTimeout(refresh.current); };
  }, [id]);
  const select = (step) => navigate(href(['runs', id], { step, tab }), true);
  const cancel = () => api(`/runs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }).then(load).catch(setError);
  if (error && !run) return html`<section><h1>Run ${id}</h1><${ErrorBox} error=${error} /></section>`;
  if (!run || !graph) return html`<section><h1>Run ${id}</h1><p class="muted">Loading…</p></section>`;
  const step = run.steps.find((s) => s.name === selected);
  return html`<section class="run">
    <header class="run-head">
      <h1>Run ${run.id}${run.name ? ` · ${run.name}` : ''}</h1>
      <${Status} status=${run.status} />
      <span>experiment <a href=${href(['runs'], { experiment: run.experiment })}>${run.experiment}</a></span>
      <span>created <${Time} ns=${run.created_ns} /></span>
      <span>${duration(run.created_ns, run.finished_ns)}</span>
      ${run.status === 'running' && html`<button type="button" class="danger" onClick=${cancel}>Cancel run</button>`}
    </header>
    <${ErrorBox} error=${error} />
    ${(run.warnings || []).length > 0 && html`<details class="run-warnings" open>
      <summary>${run.warnings.length} warning${run.warnings.length === 1 ? '' : 's'}</summary>
      ${run.warnings.map((w) => html`<pre>${w}</pre>`)}
    </details>`}
    <div class="run-body">
      <div class="run-graph"><${Graph} graph=${graph} statuses=${statuses} notes=${notes} selected=${selected} onSelect=${select} /></div>
      <${StepList} steps=${run.steps} statuses=${statuses} notes=${notes} selected=${selected} onSelect=${select} />
    </div>
    ${step && html`<${StepPanel} run=${run} step=${step} status=${statuses[step.name] || step.status} graph=${graph}
        tab=${tab} logTick=${logTick} onTab=${(t) => navigate(href(['runs', id], { step: step.name, tab: t }), true)} />`}
  </section>`;
}

// The steps as a list: the graph's keyboard and screen-reader way in. Long lists render a window
// of rows around what is scrolled to.
function StepList({ steps, statuses, notes, selected, onSelect }) {
  const kRow = 30;
  const box = useRef(null);
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / kRow) - 20);
  const shown = steps.slice(first, first + 80);
  const onKeyDown = (e, i) => {
    const next = e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowUp' ? i - 1 : -1;
    if (next < 0 || next >= steps.length) return;
    e.preventDefault();
    onSelect(steps[next].name);
    box.current.scrollTop = Math.max(0, next * kRow - 120);
    setTimeout(() => box.current && box.current.querySelector(`[data-index="${next}"]`)?.focus(), 0);
  };
  return html`<div class="step-list" ref=${box} onScroll=${(e) => setTop(e.target.scrollTop)}
      role="listbox" aria-label=${`steps (${steps.length})`}>
    <div style=${`height:${steps.length * kRow}px;position:relative`}>
      ${shown.map((s, k) => {
        const i = first + k;
        const status = statuses[s.name] || s.status;
        return html`<div class=${`step-row ${selected === s.name ? 'selected' : ''}`} role="option"
            aria-selected=${selected === s.name} tabindex=${selected === s.name || (!selected && i === 0) ? 0 : -1}
            data-index=${i} data-step=${s.name} data-status=${status} style=${`top:${i * kRow}px`}
            onClick=${() => onSelect(s.name)} onKeyDown=${(e) => (e.key === 'Enter' ? onSelect(s.name) : onKeyDown(e, i))}>
          <${Status} status=${status} /> <span class="step-name">${s.name}</span>
          <span class="muted">${notes[s.name] || (s.reused_from ? `reused from ${s.reused_from}` : '')}</span>
        </div>`;
      })}
    </div>
  </div>`;
}

function StepPanel({ run, step, status, graph, tab, logTick, onTab }) {
  const sweep = (graph.steps.find((s) => s.name === step.name) || {}).type === 'sweep';
  const tabs = [['log', 'Log'], ['io', 'Inputs & outputs'], ['metrics', 'Metrics'], ...(sweep ? [['trials', 'Trials']] : []),
    ['explain', 'Why it ran']];
  return html`<section class="step-panel" aria-label=${`step ${step.name}`}>
    <h2>${step.name} <${Status} status=${status} /></h2>
    <p class="muted">${step.message}</p>
    <div role="tablist" class="tabs">
      ${tabs.map(([k, name]) => html`<button type="button" role="tab" aria-selected=${tab === k}
          class=${tab === k ? 'active' : ''} onClick=${() => onTab(k)}>${name}</button>`)}
    </div>
    <div role="tabpanel">
      ${tab === 'log' && html`<${Log} run=${run.id} step=${step.name} live=${kLive.has(status)} tick=${logTick} />`}
      ${tab === 'io' && html`<${InputsOutputs} run=${run} step=${step} graph=${graph} />`}
      ${tab === 'metrics' && html`<${StepMetrics} run=${run.id} step=${step.name} />`}
      ${tab === 'explain' && html`<${Explain} run=${run.id} step=${step.name} />`}
      ${tab === 'trials' && html`<${Trials} run=${run.id} step=${step.name} />`}
    </div>
  </section>`;
}

// A step's log, as text (never markup), read by byte ranges; while the step runs, each log event
// of the run reads what was added since.
function Log({ run, step, live, tick }) {
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const [hits, setHits] = useState(null);
  const next = useRef(0);
  const busy = useRef(false);
  const pre = useRef(null);
  const path = (offset) => `/runs/${encodeURIComponent(run)}/log${query({ step, offset })}`;
  const more = async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      for (let i = 0; i < 64; i++) {
        const r = await api(path(next.current));
        if (r.text) setText((t) => t + r.text);
        const done = r.next === next.current || r.next >= r.size;
        next.current = r.next;
        if (done) break;
      }
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  };
  useEffect(() => { next.current = 0; setText(''); setHits(null); more(); }, [run, step]);
  useEffect(() => { if (live || tick) more(); }, [tick, live]);
  useEffect(() => {
    const el = pre.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [text]);
  const onSearch = (e) => {
    e.preventDefault();
    const q = new FormData(e.target).get('q');
    if (!q) { setHits(null); return; }
    api(`/runs/${encodeURIComponent(run)}/log/search${query({ step, q })}`).then(setHits).catch(setError);
  };
  const save = () => saveBlob(new Blob([text], { type: 'text/plain' }), `${run}-${step}.log`);
  return html`<div class="log">
    <form class="log-tools" onSubmit=${onSearch} role="search">
      <label>Search the log <input name="q" type="search" /></label>
      <button type="submit">Search</button>
      <button type="button" onClick=${save}>Download</button>
      ${live && html`<span class="live" aria-live="polite">live</span>`}
    </form>
    <${ErrorBox} error=${error} />
    ${hits && html`<div class="hits" aria-label="search results">
      <p>${hits.matches.length}${hits.more ? '+' : ''} lines</p>
      <ol>${hits.matches.map((m) => html`<li><span class="muted">line ${m.line}</span> <code>${m.text}</code></li>`)}</ol>
    </div>`}
    <pre class="log-text" ref=${pre} tabindex="0" role="log" aria-label="log">${text}</pre>
  </div>`;
}

function InputsOutputs({ run, step, graph }) {
  const g = graph.steps.find((s) => s.name === step.name) || { inputs: [] };
  const [error, setError] = useState(null);
  const [browsing, setBrowsing] = useState('');
  const source = (s) => {
    if (!s) return '';
    if (s.kind === 'step_output') return `${s.step}.${s.output}`;
    return s.value !== undefined ? String(s.value) : s.path || s.uri || s.text || JSON.stringify(s);
  };
  const get = (o) => download(`/runs/${encodeURIComponent(run.id)}/download${query({ output: `${step.name}.${o.name}` })}`,
    `${run.id}-${step.name}-${o.name}.tar`).catch(setError);
  return html`<div class="io">
    <${ErrorBox} error=${error} />
    <h3>Inputs</h3>
    <table><thead><tr><th scope="col">Input</th><th scope="col">Value or source</th><th scope="col">Digest</th></tr></thead><tbody>
      ${(step.inputs && step.inputs.length ? step.inputs : g.inputs.map((i) => ({ name: i.name, value: source(i.source), digest: '' })))
        .map((i) => html`<tr data-input=${i.name}><td>${i.name}</td><td><code>${i.value}</code></td>
          <td>${i.digest && html`<code title=${i.digest}>${short(i.digest)}</code>`}</td></tr>`)}
    </tbody></table>
    <h3>Outputs</h3>
    <table><thead><tr><th scope="col">Output</th><th scope="col">Digest</th><th scope="col"></th></tr></thead><tbody>
      ${step.outputs.map((o) => html`<tr><td>${o.name}</td><td><code title=${o.digest}>${short(o.digest)}</code></td>
        <td><button type="button" aria-pressed=${browsing === o.name} onClick=${() => setBrowsing(browsing === o.name ? '' : o.name)}>Files</button>
          <button type="button" onClick=${() => get(o)}>Download all</button>
          <a href=${href(['lineage'], { ref: `${run.id}/${step.name}.${o.name}` })}>Lineage</a></td></tr>`)}
    </tbody></table>
    ${browsing && html`<${FileBrowser} key=${browsing} run=${run.id} output=${`${step.name}.${browsing}`} />`}
    <p class="muted">fingerprint <code>${step.fingerprint}</code>${step.target ? ` · compute ${step.target}` : ''}</p>
  </div>`;
}

// The files of an output, a folder at a time; each file downloads on its own.
function FileBrowser({ run, output }) {
  const [path, setPath] = useState('');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setData(null);
    api(`/runs/${encodeURIComponent(run)}/files${query({ output, path })}`).then((d) => (setData(d), setError(null))).catch(setError);
  }, [run, output, path]);
  const inside = (name) => (path ? `${path}/${name}` : name);
  const get = (e) => download(`/runs/${encodeURIComponent(run)}/file${query({ output, path: data.folder ? inside(e.name) : '' })}`, e.name)
    .catch(setError);
  const parts = path ? path.split('/') : [];
  return html`<section class="files" aria-label=${`files of ${output}`}>
    <nav class="crumbs" aria-label="folder">
      <button type="button" onClick=${() => setPath('')}>${output}</button>
      ${parts.map((p, i) => html` / <button type="button" onClick=${() => setPath(parts.slice(0, i + 1).join('/'))}>${p}</button>`)}
    </nav>
    <${ErrorBox} error=${error} />
    ${data && html`<table><thead><tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col"></th></tr></thead><tbody>
      ${data.entries.map((e) => html`<tr data-entry=${e.name}>
        <td>${e.type === 'folder' ? html`<button type="button" class="link" onClick=${() => setPath(inside(e.name))}>${e.name}/</button>` : e.name}</td>
        <td>${e.type === 'file' ? bytes(e.size) : e.type}</td>
        <td>${e.type === 'file' && html`<button type="button" onClick=${() => get(e)} aria-label=${`download ${e.name}`}>Download</button>`}</td>
      </tr>`)}
    </tbody></table>${data.more && html`<p class="muted">(the first 10,000 entries)</p>`}`}
  </section>`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MB`;
  return `${(n / (1 << 30)).toFixed(1)} GB`;
}

function StepMetrics({ run, step }) {
  const { data, error } = useApi(`/runs/${encodeURIComponent(run)}/metrics${query({ step })}`);
  const s = data && data.steps.find((x) => x.step === step);
  return html`<div class="metrics">
    <${ErrorBox} error=${error} />
    ${s && html`<div class="kv">
      <h3>Params</h3><dl>${Object.entries(s.params).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
      <h3>Tags</h3><dl>${Object.entries(s.tags).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
      <h3>Metrics</h3>
      <table><thead><tr><th scope="col">Metric</th><th scope="col">Latest</th><th scope="col">Min</th><th scope="col">Max</th><th scope="col">Values</th></tr></thead>
        <tbody>${s.metrics.map((m) => html`<tr><td>${m.name}</td><td>${m.latest}</td><td>${m.min}</td><td>${m.max}</td><td>${m.count}</td></tr>`)}</tbody></table>
    </div>`}
    ${s && s.metrics.length > 0 && html`<${MetricCharts} runs=${[run]} step=${step} />`}
    ${s && s.metrics.length === 0 && html`<p class="muted">This step logged no metrics.</p>`}
  </div>`;
}

function Explain({ run, step }) {
  const { data, error } = useApi(`/runs/${encodeURIComponent(run)}/explain${query({ step })}`);
  return html`<div class="explain"><${ErrorBox} error=${error} />
    ${data && html`<ul>${data.lines.map((l) => html`<li class=${l.startsWith('  ') ? 'field' : ''}><code>${l.trim()}</code></li>`)}</ul>`}
  </div>`;
}
