#!/usr/bin/env node
// @ts-check
/**
 * `npm run web`: serves the package folder on http://localhost:PORT (default 8080; WebGPU needs a
 * secure context, and localhost is one) so the built page at /dist/web/ can fetch the demo images
 * from /data/. Nothing but files below the package folder is served.
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const port = Number(process.env.PORT ?? 8080);
/** @type {Record<string, string>} */
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json', '.gz': 'application/gzip', '.css': 'text/css' };

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (path === '/') { res.writeHead(302, { location: '/dist/web/' }).end(); return; }
  const file = resolve(root, '.' + (path.endsWith('/') ? path + 'index.html' : path));
  const rel = relative(root, file);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.startsWith('node_modules')) { res.writeHead(403).end(); return; }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end(`not found: ${path}`);
  }
});
server.on('error', (e) => { console.error(`npm run web: ${e.message}${/** @type {NodeJS.ErrnoException} */ (e).code === 'EADDRINUSE' ? ` (port ${port} is taken: PORT=8081 npm run web)` : ''}`); process.exit(1); });
server.listen(port, 'localhost', () => console.log(`SimCLR page: http://localhost:${port}/dist/web/  (Ctrl-C stops)`));
