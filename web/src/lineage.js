// Lineage: where an object came from (upstream) or who used it (downstream), drawn as a graph
// whose step nodes link to their run and step.
import dagre from '@dagrejs/dagre';
import { html } from 'htm/preact';
import { useMemo } from 'preact/hooks';

import { query, useApi } from './api.js';
import { kColours } from './graph.js';
import { ErrorBox, href, short } from './util.js';

function flatten(tree) {
  const nodes = [];
  const edges = [];
  const walk = (n, parent) => {
    const i = nodes.length;
    nodes.push(n);
    if (parent !== null) edges.push([parent, i]);
    for (const c of n.children || []) walk(c, i);
  };
  walk(tree, null);
  return { nodes, edges };
}

export function LineagePage({ params, navigate }) {
  const ref = params.get('ref') || '';
  const direction = params.get('direction') || 'upstream';
  const { data, error } = useApi(ref ? `/lineage${query({ ref, direction })}` : '');
  const onSubmit = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    navigate(href(['lineage'], { ref: f.get('ref'), direction: f.get('direction') }));
  };
  return html`<section>
    <h1>Lineage</h1>
    <form class="filters" onSubmit=${onSubmit}>
      <label>Object <input name="ref" value=${ref} size="40" placeholder="RUN/STEP.OUTPUT, sha256:…, NAME:VERSION" /></label>
      <label>Direction <select name="direction" value=${direction}>
        <option value="upstream">upstream (where it came from)</option>
        <option value="downstream">downstream (who used it)</option></select></label>
      <button type="submit">Trace</button>
    </form>
    <${ErrorBox} error=${error} />
    ${data && html`<p>${data.described}</p><${LineageGraph} tree=${data.tree} upstream=${direction === 'upstream'} />`}
  </section>`;
}

function LineageGraph({ tree, upstream }) {
  const layout = useMemo(() => {
    const { nodes, edges } = flatten(tree);
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 50, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    nodes.forEach((n, i) => g.setNode(String(i), { width: 200, height: 40 }));
    // Upstream trees point from what was made back to what made it: draw in the data's direction.
    edges.forEach(([a, b]) => (upstream ? g.setEdge(String(b), String(a)) : g.setEdge(String(a), String(b))));
    dagre.layout(g);
    return { nodes, pos: nodes.map((n, i) => g.node(String(i))), edges: g.edges().map((e) => g.edge(e).points),
      width: g.graph().width, height: g.graph().height };
  }, [tree, upstream]);
  return html`<svg class="graph lineage" width=${layout.width} height=${layout.height} role="group" aria-label="lineage graph">
    <defs><marker id="arrow2" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
      <path d="M0,0L10,5L0,10z" fill="#8c959f" /></marker></defs>
    ${layout.edges.map((pts) => html`<path class="edge" d=${`M${pts.map((p) => `${p.x},${p.y}`).join('L')}`} marker-end="url(#arrow2)" />`)}
    ${layout.nodes.map((n, i) => {
      const p = layout.pos[i];
      const step = n.kind === 'step';
      const text = step ? `${n.run} / ${n.step}` : `${n.port ? `${n.port}: ` : ''}${short(n.digest)}${(n.assets || []).length ? ` (${n.assets.join(', ')})` : ''}`;
      const body = html`<rect width="200" height="40" rx=${step ? 6 : 18} fill="#fff"
          stroke=${step ? kColours[n.status] || '#8c959f' : '#8c959f'} stroke-width="2" />
        <text x="10" y="24" class="node-label">${text.length > 30 ? `${text.slice(0, 29)}…` : text}</text><title>${text}</title>`;
      const at = `translate(${p.x - 100},${p.y - 20})`;
      return step
        ? html`<a href=${href(['runs', n.run], { step: n.step })} transform=${at} class="node" data-run=${n.run} data-step=${n.step}>${body}</a>`
        : html`<g transform=${at} class="node object">${body}</g>`;
    })}
  </svg>`;
}
