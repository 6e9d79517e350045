/**
 * The engine in a real browser: headless Chromium loads test/browser/index.html, which imports the
 * built engine (dist/engine/index.js), runs `init({ backend: 'webgpu' })` on navigator.gpu (WGSL
 * fetched over HTTP), computes sum(relu(x @ w)) forward and backward with each matmul kernel the
 * device can run, and POSTs the numbers back; they must match the CPU reference backend in Node.
 *
 * Builds dist/ first, every time (`tsc -p tsconfig.build.json`, as `npm run build`), so the page
 * never runs stale code. Needs /usr/bin/chromium (`apt-get install chromium`; scripts/setup-webgpu.sh installs it).
 * A missing Chromium or adapter fails the test, never skips it. Chromium gets its WebGPU adapter
 * from its bundled SwiftShader (Vulkan on the CPU), so no GPU is needed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, matmul, relu, sum, tensor } from '../engine/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RESULT_TIMEOUT_MS = 45_000;
/** Headless as root with no GPU; --enable-unsafe-webgpu gives a SwiftShader adapter on Linux. */
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu-sandbox', '--enable-unsafe-webgpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--no-first-run', '--no-default-browser-check',
  '--enable-logging=stderr',
];

interface Case { xShape: [number, number]; x: number[]; wShape: [number, number]; w: number[] }
interface Values { y: number[]; loss: number; gx: number[]; gw: number[] }
interface PageResult {
  ok: boolean; error?: string; backend?: string; label?: string; isCpuAdapter?: boolean;
  adapterInfo?: Record<string, unknown>; memory?: unknown;
  /** One run per matmul kernel the page tried (the device's default first), each over CASES. */
  runs?: { kernel: string; results: Values[] }[];
}

const wave = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
const CASES: Case[] = [
  // Hand-checkable: x @ w = [[5, 1], [-5, -7]], relu keeps the first row, loss 6.
  { xShape: [2, 2], x: [1, 2, 3, -4], wShape: [2, 2], w: [1, -1, 2, 1] },
  // Big enough for the tiled matmul paths, with ragged edges and about half the outputs negative.
  { xShape: [33, 40], x: wave(33 * 40, (i) => Math.sin(0.37 * i)), wShape: [40, 17], w: wave(40 * 17, (i) => 0.5 * Math.cos(0.23 * i + 1)) },
];
const KNOWN: Values = { y: [5, 1, 0, 0], loss: 6, gx: [0, 3, 0, 0], gw: [1, 1, 2, 2] };

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.wgsl': 'text/wgsl; charset=utf-8',
};

let server: Server;
let chromium: ChildProcess | null = null;
let profileDir: string | null = null;
let chromiumLog = '';
let deliver: (r: PageResult) => void = () => {};
const pageResult = new Promise<PageResult>((res) => { deliver = res; });

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (req.method === 'POST' && path === '/result') {
    let body = '';
    for await (const chunk of req) body += chunk;
    res.end('ok');
    try { deliver(JSON.parse(body) as PageResult); } catch { deliver({ ok: false, error: `unparsable result: ${body.slice(0, 500)}` }); }
    return;
  }
  if (req.method !== 'GET') { res.writeHead(405).end(); return; }
  if (path === '/cases') { res.writeHead(200, { 'content-type': MIME['.json'] }).end(JSON.stringify(CASES)); return; }
  const file = resolve(ROOT, '.' + path);
  const rel = relative(ROOT, file);
  if (rel.startsWith('..') || isAbsolute(rel)) { res.writeHead(403).end(); return; }
  try {
    const data = await readFile(file);
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(data);
  } catch {
    res.writeHead(404).end(`not found: ${path}`);
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser test needs headless Chromium at ${CHROMIUM}: apt-get install chromium (or run: sudo bash scripts/setup-webgpu.sh)`);
  }
  // Always build: a dist/ left from older sources would pass or fail for the wrong code.
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? String(e);
    throw new Error(`browser test builds the engine into dist/ (as \`npm run build\`); building it failed:\n${out.slice(0, 4000)}`);
  }
  server = createServer((req, res) => { handle(req, res).catch((e) => res.writeHead(500).end(String(e))); });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
});

afterAll(async () => {
  if (chromium?.pid !== undefined && chromium.exitCode === null && chromium.signalCode === null) {
    const exited = new Promise((res) => chromium!.once('exit', res));
    try { process.kill(-chromium.pid, 'SIGKILL'); } catch { /* already gone */ }
    await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
  }
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  if (server) await new Promise((res) => server.close(res));
});

function launchChromium(url: string): void {
  profileDir = mkdtempSync(join(tmpdir(), 'engine-chromium-'));
  // Own process group (detached), so afterAll can end the browser and every process it started.
  chromium = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profileDir}`, url], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  const keep = (d: Buffer) => { chromiumLog = (chromiumLog + d.toString()).slice(-20_000); };
  chromium.stdout!.on('data', keep);
  chromium.stderr!.on('data', keep);
  chromium.on('error', (e) => deliver({ ok: false, error: `cannot start ${CHROMIUM}: ${e.message}` }));
  chromium.on('exit', (code, signal) => deliver({ ok: false, error: `chromium exited early (code ${code}, signal ${signal})` }));
}

async function cpuReference(): Promise<Values[]> {
  await init({ backend: 'cpu' });
  const out: Values[] = [];
  for (const c of CASES) {
    const x = tensor(c.x, c.xShape, { requiresGrad: true });
    const w = tensor(c.w, c.wShape, { requiresGrad: true });
    const y = relu(matmul(x, w));
    const loss = sum(y);
    loss.backward();
    out.push({ y: Array.from(await y.data()), loss: (await loss.data())[0], gx: Array.from(await x.grad!.data()), gw: Array.from(await w.grad!.data()) });
  }
  return out;
}

function expectClose(name: string, got: number[], want: number[], atol = 1e-4, rtol = 1e-4): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  const bad = want.flatMap((v, i) => (Math.abs(got[i] - v) <= atol + rtol * Math.abs(v) ? [] : [`[${i}] ${got[i]} vs ${v}`]));
  expect(bad, `${name}: browser vs CPU`).toEqual([]);
}

it('runs matmul + relu + sum forward and backward on WebGPU in headless Chromium', async () => {
  const t0 = performance.now();
  const { port } = server.address() as AddressInfo;
  launchChromium(`http://127.0.0.1:${port}/test/browser/index.html`);
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    pageResult,
    new Promise<PageResult>((res) => { timer = setTimeout(() => res({ ok: false, error: `no result from the page within ${RESULT_TIMEOUT_MS / 1000} s` }), RESULT_TIMEOUT_MS); }),
  ]);
  clearTimeout(timer);
  const tail = () => chromiumLog.split('\n').filter((l) => l.trim() && !/dbus|bluez|Floss/i.test(l)).slice(-30).join('\n');
  if (!r.ok) throw new Error(`browser run failed: ${r.error}\n--- chromium output (tail) ---\n${tail()}`);
  const runs = r.runs!;
  console.log(`browser: ${r.label} ${JSON.stringify(r.adapterInfo)}, kernels ${runs.map((k) => k.kernel).join(', ')}, `
    + `memory after ${JSON.stringify(r.memory)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  expect(r.backend).toBe('webgpu');
  expect(r.memory, 'buffers the page did not give back').toMatchObject({ liveBuffers: 0 });
  expect(runs.map((k) => k.kernel).slice(0, 3)).toEqual(['default', 'tiled', 'register']);

  const cpu = await cpuReference();
  expect(cpu[0]).toEqual(KNOWN);
  for (const { kernel, results } of runs) {
    expect(results.length).toBe(CASES.length);
    expect(results[0], `${kernel}: hand-checked case`).toEqual(KNOWN);
    for (let k = 0; k < CASES.length; k++) {
      const got = results[k], want = cpu[k], at = `${kernel} kernel, case ${k}`;
      expectClose(`${at}: y`, got.y, want.y);
      expectClose(`${at}: loss`, [got.loss], [want.loss], 1e-3);
      expectClose(`${at}: x.grad`, got.gx, want.gx);
      expectClose(`${at}: w.grad`, got.gw, want.gw);
    }
  }
});
