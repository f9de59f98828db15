// Lays out large graphs off the main thread (layout.js's levelLayout).
import { levelLayout } from './layout.js';

self.onmessage = (e) => {
  const { id, count, edges } = e.data;
  self.postMessage({ id, layout: levelLayout(count, edges) });
};
