// Builds the UI into OUT (argument; default ../build/ui): app.js, app.css, layout-worker.js and
// index.html, minified, for `weft serve` to serve as they are.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || resolve(here, '../build/ui'));
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: { app: resolve(here, 'src/main.js'), 'layout-worker': resolve(here, 'src/layout-worker.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: out,
  logLevel: 'warning',
});
copyFileSync(resolve(here, 'index.html'), resolve(out, 'index.html'));
console.log(`web UI built in ${out}`);
