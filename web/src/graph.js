// A run's pipeline graph, coloured by live status, laid out in a worker. Up to kDagreLimit visible
// nodes: SVG laid out by dagre, nested pipelines drawn as groups that collapse into one node.
// Above: levels drawn on a canvas (fit to view; wheel zooms, drag pans, a click selects). The step
// list beside the graph is the keyboard's way in either case.
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { kDagreLimit, kNodeHeight, kNodeWidth, visibleGraph } from './layout.js';

export const kColours = {
  succeeded: '#1a7f37', reused: '#57606a', running: '#0969da', retrying: '#0969da', waiting: '#9a6700',
  pending: '#8c959f', queued: '#8c959f', failed: '#cf222e', timed_out: '#cf222e', canceled: '#bc4c00',
  interrupted: '#bc4c00', skipped: '#afb8c1',
};

function groupStatus(steps, statuses) {
  const all = steps.map((s) => statuses[s] || 'pending');
  for (const s of ['failed', 'timed_out', 'running', 'retrying', 'canceled', 'interrupted']) {
    if (all.includes(s)) return s;
  }
  if (all.every((s) => s === 'succeeded' || s === 'reused')) return 'succeeded';
  return 'pending';
}

function label(node, statuses, notes) {
  if (node.kind === 'group') return `${node.name} (${node.steps.length} steps)`;
  const note = notes[node.name];
  return note ? `${node.name} · ${note}` : node.name;
}

let worker = null;
let nextJob = 0;
function layoutInWorker(algorithm, count, edges) {
  if (!worker) worker = new Worker('layout-worker.js', { type: 'module' });
  const id = ++nextJob;
  return new Promise((resolve) => {
    const on = (e) => {
      if (e.data.id !== id) return;
      worker.removeEventListener('message', on);
      resolve(e.data.layout);
    };
    worker.addEventListener('message', on);
    worker.postMessage({ id, algorithm, count, edges });
  });
}

// The layout of the visible graph, once the worker has made it (null until then).
function useLayout(vis, algorithm) {
  const [layout, setLayout] = useState(null);
  useEffect(() => {
    let live = true;
    setLayout(null);
    layoutInWorker(algorithm, vis.nodes.length, vis.edges).then((l) => live && setLayout(l));
    return () => { live = false; };
  }, [vis, algorithm]);
  return layout;
}

export function Graph({ graph, statuses, notes, selected, onSelect }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  const vis = useMemo(() => visibleGraph(graph, collapsed), [graph, collapsed]);
  const toggle = (g) => {
    const next = new Set(collapsed);
    if (next.has(g)) next.delete(g);
    else next.add(g);
    setCollapsed(next);
  };
  const groups = graph.groups || [];
  return html`<div class="graph-box">
    ${groups.length > 0 && html`<div class="groups" aria-label="nested pipelines">
      ${groups.map((g) => html`<button type="button" class="chip" aria-pressed=${collapsed.has(g.name)}
          onClick=${() => toggle(g.name)}>${collapsed.has(g.name) ? '▸' : '▾'} ${g.name}</button>`)}
    </div>`}
    ${vis.nodes.length <= kDagreLimit
      ? html`<${SvgGraph} vis=${vis} graph=${graph} collapsed=${collapsed} statuses=${statuses} notes=${notes}
          selected=${selected} onSelect=${onSelect} onExpand=${toggle} />`
      : html`<${CanvasGraph} vis=${vis} statuses=${statuses} selected=${selected} onSelect=${onSelect} />`}
  </div>`;
}

function SvgGraph({ vis, graph, collapsed, statuses, notes, selected, onSelect, onExpand }) {
  const laid = useLayout(vis, 'dagre');
  const layout = useMemo(() => {
    if (!laid) return null;
    const nodes = vis.nodes.map((n, i) => ({ x: laid.x[i], y: laid.y[i] }));
    const edges = laid.points;
    // The box of each expanded group around its visible steps.
    const boxes = [];
    const parentOf = new Map((graph.groups || []).map((x) => [x.name, x.parent]));
    for (const grp of graph.groups || []) {
      if (collapsed.has(grp.name)) continue;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      vis.nodes.forEach((n, i) => {
        let inside = false;
        for (let p = n.kind === 'step' ? n.group : parentOf.get(n.name); p; p = parentOf.get(p)) {
          if (p === grp.name) inside = true;
        }
        if (!inside) return;
        const p = nodes[i];
        x0 = Math.min(x0, p.x - kNodeWidth / 2); y0 = Math.min(y0, p.y - kNodeHeight / 2);
        x1 = Math.max(x1, p.x + kNodeWidth / 2); y1 = Math.max(y1, p.y + kNodeHeight / 2);
      });
      if (x0 !== Infinity) boxes.push({ name: grp.name, x: x0 - 8, y: y0 - 22, w: x1 - x0 + 16, h: y1 - y0 + 30 });
    }
    return { nodes, edges, boxes, width: laid.width, height: laid.height };
  }, [laid, graph, collapsed]);
  if (!layout) return html`<p class="muted" role="status">Laying out ${vis.nodes.length} nodes…</p>`;
  const path = (pts) => `M${pts.map((p) => `${p.x},${p.y}`).join('L')}`;
  return html`<svg class="graph" role="group" aria-label="pipeline graph" width=${layout.width}
      height=${layout.height + 10} viewBox=${`0 -10 ${layout.width} ${layout.height + 10}`}>
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
      <path d="M0,0L10,5L0,10z" fill="#8c959f" /></marker></defs>
    ${layout.boxes.map((b) => html`<g class="group-box"><rect x=${b.x} y=${b.y} width=${b.w} height=${b.h} rx="6" />
      <text x=${b.x + 6} y=${b.y + 13}>${b.name}</text></g>`)}
    ${layout.edges.map((pts) => html`<path class="edge" d=${path(pts)} marker-end="url(#arrow)" />`)}
    ${vis.nodes.map((n, i) => {
      const p = layout.nodes[i];
      const status = n.kind === 'group' ? groupStatus(n.steps, statuses) : statuses[n.name] || 'pending';
      const activate = () => (n.kind === 'group' ? onExpand(n.name) : onSelect(n.name));
      const text = label(n, statuses, notes);
      return html`<g class=${`node ${selected === n.name ? 'selected' : ''}`} data-step=${n.name}
          data-status=${status} transform=${`translate(${p.x - kNodeWidth / 2},${p.y - kNodeHeight / 2})`}
          role="button" tabindex="0" aria-label=${`${n.kind === 'group' ? 'pipeline' : 'step'} ${text}: ${status}`}
          onClick=${activate} onKeyDown=${(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), activate())}>
        <rect width=${kNodeWidth} height=${kNodeHeight} rx="6" fill="#fff" stroke=${kColours[status] || '#8c959f'}
          stroke-width=${selected === n.name ? 3 : 2} stroke-dasharray=${n.kind === 'group' ? '5 3' : ''} />
        <rect width="6" height=${kNodeHeight} rx="2" fill=${kColours[status] || '#8c959f'} />
        <text x="14" y=${kNodeHeight / 2 + 4} class="node-label">${text.length > 24 ? `${text.slice(0, 23)}…` : text}</text>
        <title>${text}: ${status}</title>
      </g>`;
    })}
  </svg>`;
}

function CanvasGraph({ vis, statuses, selected, onSelect }) {
  const canvas = useRef(null);
  const layout = useLayout(vis, 'levels');
  const view = useRef({ scale: 1, dx: 0, dy: 0, fitted: false });
  useEffect(() => { view.current.fitted = false; }, [layout]);
  const draw = () => {
    const c = canvas.current;
    if (!c || !layout) return;
    const w = c.clientWidth;
    const h = c.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    if (c.width !== w * ratio) { c.width = w * ratio; c.height = h * ratio; }
    const v = view.current;
    if (!v.fitted) {
      v.scale = Math.min(w / layout.width, h / layout.height, 1);
      v.dx = 0; v.dy = 0; v.fitted = true;
    }
    const ctx = c.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.translate(v.dx, v.dy);
    ctx.scale(v.scale, v.scale);
    ctx.strokeStyle = '#d0d7de';
    ctx.lineWidth = 1 / v.scale;
    ctx.beginPath();
    for (const [a, b] of vis.edges) {
      ctx.moveTo(layout.x[a] + kNodeWidth / 2, layout.y[a]);
      ctx.lineTo(layout.x[b] - kNodeWidth / 2, layout.y[b]);
    }
    ctx.stroke();
    const byColour = new Map();
    vis.nodes.forEach((n, i) => {
      const colour = kColours[statuses[n.name] || 'pending'] || '#8c959f';
      if (!byColour.has(colour)) byColour.set(colour, []);
      byColour.get(colour).push(i);
    });
    for (const [colour, list] of byColour) {
      ctx.fillStyle = colour;
      for (const i of list) ctx.fillRect(layout.x[i] - kNodeWidth / 2, layout.y[i] - kNodeHeight / 2, kNodeWidth, kNodeHeight);
    }
    if (v.scale > 0.45) {
      ctx.fillStyle = '#fff';
      ctx.font = '12px sans-serif';
      vis.nodes.forEach((n, i) => ctx.fillText(n.name.slice(0, 22), layout.x[i] - kNodeWidth / 2 + 8, layout.y[i] + 4));
    }
    const s = vis.nodes.findIndex((n) => n.name === selected);
    if (s >= 0) {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 3 / v.scale;
      ctx.strokeRect(layout.x[s] - kNodeWidth / 2, layout.y[s] - kNodeHeight / 2, kNodeWidth, kNodeHeight);
    }
    c.dataset.drawn = String(vis.nodes.length);
  };
  useEffect(() => {
    const id = requestAnimationFrame(draw);
    return () => cancelAnimationFrame(id);
  });
  const drag = useRef(null);
  const at = (e) => {
    const r = canvas.current.getBoundingClientRect();
    const v = view.current;
    return [(e.clientX - r.left - v.dx) / v.scale, (e.clientY - r.top - v.dy) / v.scale];
  };
  const onWheel = (e) => {
    e.preventDefault();
    const v = view.current;
    const r = canvas.current.getBoundingClientRect();
    const k = e.deltaY < 0 ? 1.2 : 1 / 1.2;
    const mx = e.clientX - r.left;
    const my = e.clientY - r.top;
    v.dx = mx - (mx - v.dx) * k;
    v.dy = my - (my - v.dy) * k;
    v.scale *= k;
    draw();
  };
  const onDown = (e) => { drag.current = { x: e.clientX, y: e.clientY, moved: false }; };
  const onMove = (e) => {
    if (!drag.current) return;
    const d = drag.current;
    if (Math.abs(e.clientX - d.x) + Math.abs(e.clientY - d.y) > 3) d.moved = true;
    if (!d.moved) return;
    view.current.dx += e.clientX - d.x;
    view.current.dy += e.clientY - d.y;
    d.x = e.clientX; d.y = e.clientY;
    draw();
  };
  const onUp = (e) => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved || !layout) return;
    const [x, y] = at(e);
    const i = vis.nodes.findIndex((n, k) => Math.abs(layout.x[k] - x) <= kNodeWidth / 2 && Math.abs(layout.y[k] - y) <= kNodeHeight / 2);
    if (i >= 0 && vis.nodes[i].kind === 'step') onSelect(vis.nodes[i].name);
  };
  return html`<canvas ref=${canvas} class="graph-canvas" tabindex="0" data-nodes=${vis.nodes.length}
    aria-label=${`pipeline graph of ${vis.nodes.length} nodes, drawn by levels; the step list selects steps from the keyboard`}
    onWheel=${onWheel} onMouseDown=${onDown} onMouseMove=${onMove} onMouseUp=${onUp} onMouseLeave=${() => { drag.current = null; }} />`;
}
