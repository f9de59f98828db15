import { html } from 'htm/preact';

import { query } from './api.js';

// Nanoseconds since the epoch, shown in the browser's time zone, with UTC on hover.
export function Time({ ns }) {
  if (!ns) return html`<span class="muted">—</span>`;
  const d = new Date(Number(ns) / 1e6);
  const local = d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const utc = `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  return html`<time datetime=${d.toISOString()} title=${utc}>${local}</time>`;
}

export function duration(startNs, endNs) {
  if (!startNs) return '';
  const end = endNs || Date.now() * 1e6;
  let s = Math.max(0, (Number(end) - Number(startNs)) / 1e9);
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  s = Math.round(s % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function Status({ status }) {
  return html`<span class=${`status status-${status}`}>${status}</span>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">${error.message || String(error)}</div>`;
}

// The hash route: #/runs/r1?step=train -> { path: ['runs', 'r1'], params }.
export function parseRoute(hash) {
  const h = (hash || '').replace(/^#/, '') || '/runs';
  const [p, q] = h.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q || '') };
}

export function href(path, params = {}) {
  return `#/${path.map(encodeURIComponent).join('/')}${query(params)}`;
}

export function short(digest) {
  return digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '';
}
