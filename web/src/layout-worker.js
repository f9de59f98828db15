// Lays out graphs off the main thread (layout.js).
import { dagreLayout, levelLayout } from './layout.js';

self.onmessage = (e) => {
  const { id, algorithm, count, edges } = e.data;
  self.postMessage({ id, layout: algorithm === 'dagre' ? dagreLayout(count, edges) : levelLayout(count, edges) });
};
