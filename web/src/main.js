// weft's web UI: a page per hash route (every page has a deep link), on the server's API.
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import './app.css';
import { api, session, whenUnauthorized } from './api.js';
import { ComparePage } from './compare.js';
import { LineagePage } from './lineage.js';
import { AssetsPage, PipelinePage, PipelinesPage, SchedulesPage } from './pipelines.js';
import { RunPage } from './run.js';
import { RunsPage } from './runs.js';
import { ErrorBox, href, parseRoute } from './util.js';

function navigate(to, replace = false) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function Login({ onIn }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const token = new FormData(e.target).get('token').trim();
    session.signIn(token);
    try {
      onIn(await api('/whoami'));
    } catch (err) {
      session.signOut();
      setError(err.status === 401 ? new Error('That token is not valid here (unknown, revoked or expired).') : err);
    }
  };
  return html`<main class="login">
    <form onSubmit=${submit} aria-label="sign in">
      <h1>weft</h1>
      <label for="token">Token</label>
      <input id="token" name="token" type="password" autocomplete="off" required />
      <p class="muted">Kept in this tab only, until it closes.</p>
      <${ErrorBox} error=${error} />
      <button type="submit">Sign in</button>
    </form>
  </main>`;
}

function App() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(!!session.token());
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    whenUnauthorized(() => { session.signOut(); setMe(null); });
    if (session.token()) {
      api('/whoami').then(setMe).catch(() => session.signOut()).finally(() => setChecking(false));
    }
    return () => window.removeEventListener('hashchange', on);
  }, []);
  if (checking) return null;
  if (!me) return html`<${Login} onIn=${setMe} />`;
  const [page, arg] = route.path;
  const p = route.params;
  let body;
  if (page === 'runs' && arg) body = html`<${RunPage} key=${arg} id=${arg} params=${p} navigate=${navigate} />`;
  else if (page === 'compare') body = html`<${ComparePage} params=${p} navigate=${navigate} />`;
  else if (page === 'lineage') body = html`<${LineagePage} params=${p} navigate=${navigate} />`;
  else if (page === 'pipelines' && arg) body = html`<${PipelinePage} key=${arg} name=${arg} params=${p} navigate=${navigate} />`;
  else if (page === 'pipelines') body = html`<${PipelinesPage} />`;
  else if (page === 'schedules') body = html`<${SchedulesPage} />`;
  else if (page === 'assets') body = html`<${AssetsPage} params=${p} navigate=${navigate} />`;
  else body = html`<${RunsPage} params=${p} navigate=${navigate} />`;
  const link = (name, label) => html`<a href=${href([name])} aria-current=${page === name ? 'page' : undefined}>${label}</a>`;
  const signOut = () => { session.signOut(); setMe(null); };
  return html`<div class="shell">
    <header class="top">
      <a class="brand" href="#/runs">weft</a>
      <nav aria-label="main">
        ${link('runs', 'Runs')}${link('pipelines', 'Pipelines')}${link('schedules', 'Schedules')}
        ${link('assets', 'Assets')}${link('compare', 'Compare')}${link('lineage', 'Lineage')}
      </nav>
      <span class="who">${me.project ? `project ${me.project}` : 'all projects'} · ${me.role} · token ${me.token}</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main>${body}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
