/**
 * Shared test helpers: a WebGPU backend per test file (a missing adapter fails the test, never
 * skips it), and running one function on the CPU reference and on WebGPU from the same inputs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { WebGpuBackend } from '../engine/webgpu/backend.js';
import { Tensor, tidy } from '../engine/tensor.js';
import { makeValues, tensorOn, type InputSpec } from './cases/run.js';
import { Random } from '../engine/random.js';
import { sizeOf } from '../engine/shape.js';
import { toTypedArray, type DType } from '../engine/dtype.js';
import { WEBGPU_HELP } from '../engine/webgpu/device.js';
import type { Backend } from '../engine/backend.js';
import { gradcheck, type GradcheckInput, type GradcheckOptions } from '../engine/gradcheck.js';
import { loadSafetensors } from '../nn/files.js';

let gpuPromise: Promise<WebGpuBackend> | null = null;

/** The file's WebGPU backend; throws (failing the test) when there is no adapter. */
export function gpu(): Promise<WebGpuBackend> {
  gpuPromise ??= WebGpuBackend.create().then((b) => {
    if (!b) throw new Error(`WebGPU test needs an adapter: ${WEBGPU_HELP}`);
    return b;
  });
  return gpuPromise;
}

afterAll(async () => {
  if (gpuPromise) {
    const b = await gpuPromise.catch(() => null);
    b?.destroy();
    gpuPromise = null;
  }
});

export { makeValues, tensorOn, type InputSpec } from './cases/run.js';

export interface CompareOptions { atol?: number; rtol?: number; seed?: number }

/**
 * Runs fn on the CPU reference and on WebGPU with the same inputs and checks that the outputs
 * agree elementwise within atol + rtol*|cpu|. Returns both results for further checks.
 */
export async function expectGpuMatchesCpu(
  fn: (...xs: Tensor[]) => Tensor,
  specs: readonly InputSpec[],
  opts: CompareOptions = {},
): Promise<{ cpu: Float64Array; gpu: Float64Array; shape: readonly number[] }> {
  const rng = new Random(opts.seed ?? 42);
  const values = specs.map((s) => makeValues(s, rng));
  const cpuB = new CpuBackend();
  const gpuB = await gpu();
  const run = async (b: Backend) => {
    const xs = specs.map((s, i) => tensorOn(b, values[i], s.shape, s.dtype));
    const out = tidy(() => fn(...xs));
    const data = Float64Array.from(await out.data());
    const shape = out.shape;
    out.dispose();
    xs.forEach((x) => x.dispose());
    return { data, shape };
  };
  const c = await run(cpuB);
  const g = await run(gpuB);
  expect(g.shape).toEqual(c.shape);
  expectClose(g.data, c.data, opts);
  return { cpu: c.data, gpu: g.data, shape: c.shape };
}

/** Elementwise |a - b| <= atol + rtol*|b| (NaN must match NaN), with a message naming the index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CompareOptions = {}): void {
  const atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-4;
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (!(Number.isNaN(e) && Number.isNaN(a))) expect.fail(`element ${i}: got ${a}, expected ${e}`);
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) expect.fail(`element ${i}: got ${a}, expected ${e}`);
      continue;
    }
    if (Math.abs(a - e) > atol + rtol * Math.abs(e)) expect.fail(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Gradient check that fails the test with the first mismatches in the message. */
export function expectGradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly GradcheckInput[], opts?: GradcheckOptions): void {
  const r = gradcheck(fn, inputs, opts);
  if (!r.ok) expect.fail(`gradcheck failed (max abs error ${r.maxAbsError}):\n${r.mismatches.join('\n')}`);
}

/**
 * Per-tensor comparison with a reference: |got - want| <= rtol*|want| + atol*max|want|, so tiny
 * entries of a tensor are judged on the tensor's own scale. The message names the tensor and index.
 */
export function expectTensorClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= rtol * Math.abs(want[i]) + atol * scale)) {
      expect.fail(`${name}[${i}]: got ${got[i]}, reference ${want[i]} (|err| ${err.toExponential(2)}, tensor max ${scale.toExponential(2)})`);
    }
  }
}

/** n CIFAR-10 records: label byte + 3x32x32 planar pixels, each image 4 random colour blocks. */
export function cifarRecords(n: number, seed: number): Uint8Array {
  const r = new Random(seed);
  const rec = 1 + 3072;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    const label = i % 10;
    out[i * rec] = label;
    for (let b = 0; b < 4; b++) {
      const col = [r.int(256), r.int(256), r.int(256)];
      const by = (b >> 1) * 16, bx = (b & 1) * 16;
      for (let c = 0; c < 3; c++) {
        for (let y = by; y < by + 16; y++) {
          for (let x = bx; x < bx + 16; x++) out[i * rec + 1 + c * 1024 + y * 32 + x] = (col[c] + label * 20) & 255;
        }
      }
    }
  }
  return out;
}

/**
 * A temporary folder with synthetic CIFAR-10 files for training-loop tests (cifarRecords: nTrain
 * records in train.bin, nTest in test.bin), made before the file's tests and removed after them;
 * outDir() names a fresh run directory in it.
 */
export function syntheticCifarFiles(prefix: string, nTrain: number, nTest: number): { trainFile: () => string; testFile: () => string; outDir: () => string } {
  let root = '';
  let runs = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
    await writeFile(join(root, 'train.bin'), cifarRecords(nTrain, 1));
    await writeFile(join(root, 'test.bin'), cifarRecords(nTest, 2));
  });
  afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }); });
  return { trainFile: () => join(root, 'train.bin'), testFile: () => join(root, 'test.bin'), outDir: () => join(root, `run-${runs++}`) };
}

/** Every tensor of a safetensors file (a checkpoint) by name, as plain numbers. */
export async function checkpointTensors(path: string): Promise<Map<string, number[]>> {
  const file = await loadSafetensors(path);
  return new Map([...file].map(([k, v]) => [k, Array.from(v.data as ArrayLike<number>)]));
}
