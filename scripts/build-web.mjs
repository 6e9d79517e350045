#!/usr/bin/env node
// @ts-check
/**
 * Builds the SimCLR page: web/app.ts bundled by esbuild (engine, nn and simclr's browser entry,
 * kernels included) into dist/web/app.js, beside a copy of web/index.html. The page fetches the
 * demo images from the package's data/cifar10-demo/ (../../data/ from dist/web/).
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
mkdirSync(`${root}dist/web`, { recursive: true });
await build({
  entryPoints: [`${root}web/app.ts`], outfile: `${root}dist/web/app.js`, bundle: true, platform: 'browser',
  format: 'esm', target: 'es2022', sourcemap: 'linked', minify: true, logLevel: 'warning',
});
copyFileSync(`${root}web/index.html`, `${root}dist/web/index.html`);
