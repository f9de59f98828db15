// Layouts of a run's graph, computed in a worker (layout-worker.js) so that the page never waits on
// them. Small graphs (up to kDagreLimit visible nodes) are laid out by dagre (layered, edges
// routed); larger ones by levels (longest path from a source), which is linear in the graph's
// size: dagre takes seconds at a thousand nodes (bench/README.md).
import dagre from '@dagrejs/dagre';

export const kDagreLimit = 500;
export const kNodeWidth = 170;
export const kNodeHeight = 36;

// The visible graph: steps of collapsed groups are replaced by their outermost collapsed group's
// node. `graph`: the API's run graph ({steps, groups, edges}).
export function visibleGraph(graph, collapsed) {
  const parentOf = new Map(graph.groups.map((g) => [g.name, g.parent]));
  const rep = (group) => {
    // The outermost collapsed group around `group`, if any.
    let found = null;
    for (let g = group; g; g = parentOf.get(g)) if (collapsed.has(g)) found = g;
    return found;
  };
  const nodes = [];
  const ids = new Map();
  for (const s of graph.steps) {
    const g = rep(s.group);
    if (g) {
      if (!ids.has(`group:${g}`)) {
        ids.set(`group:${g}`, nodes.length);
        nodes.push({ id: `group:${g}`, kind: 'group', name: g, steps: [] });
      }
      nodes[ids.get(`group:${g}`)].steps.push(s.name);
      ids.set(s.name, ids.get(`group:${g}`));
    } else {
      ids.set(s.name, nodes.length);
      nodes.push({ id: s.name, kind: 'step', name: s.name, group: s.group, type: s.type });
    }
  }
  const seen = new Set();
  const edges = [];
  for (const e of graph.edges) {
    const a = ids.get(e.from);
    const b = ids.get(e.to);
    if (a === undefined || b === undefined || a === b || seen.has(`${a}>${b}`)) continue;
    seen.add(`${a}>${b}`);
    edges.push([a, b]);
  }
  return { nodes, edges };
}

// Longest-path levels: x by level, y by order within the level. Returns positions (centres) and
// the whole size.
export function levelLayout(count, edges) {
  const out = Array.from({ length: count }, () => []);
  const indegree = new Int32Array(count);
  for (const [a, b] of edges) {
    out[a].push(b);
    indegree[b]++;
  }
  const level = new Int32Array(count);
  const queue = [];
  for (let i = 0; i < count; i++) if (indegree[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head++) {
    const a = queue[head];
    for (const b of out[a]) {
      level[b] = Math.max(level[b], level[a] + 1);
      if (--indegree[b] === 0) queue.push(b);
    }
  }
  const rows = [];
  const x = new Float64Array(count);
  const y = new Float64Array(count);
  const gapX = kNodeWidth + 60;
  const gapY = kNodeHeight + 14;
  for (let i = 0; i < count; i++) {
    const l = level[i];
    rows[l] = (rows[l] || 0) + 1;
    x[i] = l * gapX + kNodeWidth / 2 + 20;
    y[i] = (rows[l] - 1) * gapY + kNodeHeight / 2 + 20;
  }
  const width = rows.length * gapX + 40;
  const height = Math.max(...rows.map((r) => r || 0), 1) * gapY + 40;
  return { x: Array.from(x), y: Array.from(y), width, height };
}

// dagre's layered layout, left to right: node centres, the size, and each edge's points.
export function dagreLayout(count, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 56, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (let i = 0; i < count; i++) g.setNode(String(i), { width: kNodeWidth, height: kNodeHeight });
  for (const [a, b] of edges) g.setEdge(String(a), String(b));
  dagre.layout(g);
  const x = [];
  const y = [];
  for (let i = 0; i < count; i++) {
    const p = g.node(String(i));
    x.push(p.x);
    y.push(p.y);
  }
  return { x, y, width: g.graph().width || 100, height: g.graph().height || 60, points: g.edges().map((e) => g.edge(e).points) };
}
