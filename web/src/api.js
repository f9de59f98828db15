import { useEffect, useState } from 'preact/hooks';

// The server's API, with the token this browser tab was given (sessionStorage: gone when the tab
// closes, never in a URL). Live events are read with fetch and the Authorization header.
const KEY = 'weft.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  signIn: (token) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(f) {
  onUnauthorized = f;
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.token()}`, ...extra };
}

// A query string from an object: arrays repeat their key; empty values are left out.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x !== undefined && x !== null && x !== '') q.append(k, String(x));
    }
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function api(path, { method = 'GET', json, signal } = {}) {
  const init = { method, headers: headers(), signal };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(`/api/v1${path}`, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = data && data.error;
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, e ? e.code : '', e ? e.message : `${res.status} ${res.statusText}`);
  }
  return data;
}

// What GET `path` answers, read again when `path` changes ({data, error}; both null meanwhile, and
// nothing read while `path` is empty). An answer to an earlier path is dropped.
export function useApi(path) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    setState({ data: null, error: null });
    if (path) {
      api(path)
        .then((data) => live && setState({ data, error: null }))
        .catch((error) => live && setState({ data: null, error }));
    }
    return () => { live = false; };
  }, [path]);
  return state;
}

// Saves what `path` answers as a file (downloads need the token, so no plain link can fetch them).
export async function download(path, name) {
  const res = await fetch(`/api/v1${path}`, { headers: headers() });
  if (!res.ok) throw new ApiError(res.status, '', `${res.status} ${res.statusText}`);
  saveBlob(await res.blob(), name);
}

// Offers `blob` to the user as a file named `name`.
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Server-sent events of GET /events (`params`: run, logs), each given to onEvent(kind, data).
// Reconnects after a dropped stream from the last event seen. Returns a function that stops it.
export function subscribe(params, onEvent) {
  let stopped = false;
  let last = null;
  let controller = null;
  async function loop() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const h = headers({ Accept: 'text/event-stream' });
        if (last !== null) h['Last-Event-ID'] = last;
        const res = await fetch(`/api/v1/events${query(params)}`, { headers: h, signal: controller.signal });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let at;
          while ((at = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            let kind = 'message';
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('id: ')) last = line.slice(4);
              else if (line.startsWith('event: ')) kind = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (!data) continue;
            try {
              onEvent(kind, JSON.parse(data));
            } catch (e) {
              console.error(e);
            }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }
  loop();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}
