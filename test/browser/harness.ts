/**
 * Node side of the headless-Chromium tests: a static file server, esbuild bundles for the browser,
 * and the system Chromium driven by playwright-core (one launch per test file, one page reused).
 * A missing Chromium throws: browser tests fail, never skip. Chromium finds its WebGPU adapter in
 * its bundled SwiftShader (Vulkan on the CPU), so no GPU is needed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless as root with no GPU: --enable-unsafe-webgpu gives the SwiftShader adapter on Linux;
 * the rest keeps a fresh profile from reaching the network or popping first-run work.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--enable-unsafe-webgpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--no-first-run', '--no-default-browser-check',
];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.map': 'application/json', '.json': 'application/json', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.gz': 'application/gzip', '.bin': 'application/octet-stream', '.wgsl': 'text/wgsl; charset=utf-8',
};

export interface Server { url: string; requests: string[]; close(): Promise<void> }

/** Serves the files under `root` on 127.0.0.1 (a secure context, as WebGPU needs); logs every path asked for. */
export async function serveDir(root: string): Promise<Server> {
  const requests: string[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405).end(); return; }
    const file = resolve(root, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    const rel = relative(root, file);
    if (rel.startsWith('..') || isAbsolute(rel)) { res.writeHead(403).end(); return; }
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(data);
    } catch {
      res.writeHead(404).end(`not found: ${path}`);
    }
  };
  const server = createServer((req, res) => { handle(req, res).catch((e) => res.writeHead(500).end(String(e))); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Bundles `entry` for browsers (ES modules, no Node built-ins allowed); throws with esbuild's messages. */
export async function bundleForBrowser(entry: string, outfile: string, opts: BuildOptions = {}): Promise<Metafile> {
  const r = await build({
    entryPoints: [entry], outfile, bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
    metafile: true, logLevel: 'silent', sourcemap: 'linked', ...opts,
  });
  return r.metafile!;
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests since the page was opened or last cleared. */
  problems: string[];
  close(): Promise<void>;
}

/** Collects the page's console errors, uncaught exceptions and failed requests, as they happen. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.stack ?? e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  return problems;
}

/** Launches the system Chromium with a fresh profile and opens one page. */
export async function launchChromium(opts: { acceptDownloads?: boolean } = {}): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser test needs headless Chromium at ${CHROMIUM}: apt-get install chromium (or run: sudo bash scripts/setup-webgpu.sh)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'simclr-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, acceptDownloads: opts.acceptDownloads ?? false,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } as Record<string, string>,
      viewport: { width: 1280, height: 900 },
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`cannot start ${CHROMIUM}: ${(e as Error).message}`);
  }
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context, page, problems: watchProblems(page),
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
