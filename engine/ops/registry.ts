/**
 * The op registry. An op is defined once, here-shaped: a shape rule, a CPU reference kernel, a
 * WebGPU kernel and a backward rule written with other ops (so it runs on any backend). Composite
 * ops (built from primitives, gradients by composition) are registered too, so that tests can
 * enumerate every op and demand a gradient check for each differentiable one.
 */
import type { Backend, Storage } from '../backend.js';
import type { DType } from '../dtype.js';
import { DeviceError, DTypeError, fmtShape } from '../errors.js';
import { Node } from '../autograd.js';
import { StorageRef, Tensor, isGradEnabled } from '../tensor.js';
import type { CpuBackend } from '../cpu/backend.js';
import type { WebGpuBackend, GpuStorage } from '../webgpu/backend.js';

export interface TensorMeta { readonly shape: readonly number[]; readonly dtype: DType }

/** Input to a CPU kernel: float64 values (integers are exact) with their metadata. */
export interface CpuInput extends TensorMeta { readonly data: Float64Array }
/** Input to a WebGPU kernel. */
export interface GpuInput extends TensorMeta { readonly storage: GpuStorage; readonly size: number }

export interface BackwardContext<A> {
  /** Saved inputs, in order (null unless the op saves them). */
  readonly inputs: readonly (Tensor | null)[];
  /** Saved output (null unless the op saves it). */
  readonly output: Tensor | null;
  /** Saved auxiliary outputs (empty unless the op saves them). */
  readonly aux: readonly Tensor[];
  readonly attrs: A;
  readonly inputShapes: readonly (readonly number[])[];
  /** Which inputs need a gradient; rules may return null for the others. */
  readonly needs: readonly boolean[];
}

/** A kernel's result when the op has auxiliary outputs. */
export interface WithAux<S> { readonly out: S; readonly aux: readonly S[] }

export interface OpDef<A = void> {
  readonly name: string;
  /** Validates inputs and attributes and gives the output's shape and dtype. */
  shape(inputs: readonly TensorMeta[], attrs: A): TensorMeta;
  /**
   * Auxiliary outputs: values the kernel computes anyway that backward or the caller needs (batch
   * norm's mean and inverse std). Not differentiable; kernels then return WithAux.
   */
  aux?(inputs: readonly TensorMeta[], attrs: A): TensorMeta[];
  cpu(backend: CpuBackend, inputs: readonly CpuInput[], attrs: A, out: TensorMeta): Float64Array | WithAux<Float64Array>;
  webgpu(backend: WebGpuBackend, inputs: readonly GpuInput[], attrs: A, out: TensorMeta): GpuStorage | WithAux<GpuStorage>;
  /** Gradients of each input given the output's gradient g; absent for non-differentiable ops. */
  backward?(g: Tensor, ctx: BackwardContext<A>): (Tensor | null)[];
  /**
   * What backward needs kept alive: all inputs, or only those at the listed positions; a function
   * of the attributes where that depends on them (batch norm's output only for its ReLU's mask).
   */
  readonly saves?: Saves | ((attrs: A) => Saves);
  /** Output shares input 0's storage (reshape): no kernel runs. */
  readonly view?: boolean;
}

export interface Saves { readonly inputs?: boolean | readonly number[]; readonly output?: boolean; readonly aux?: boolean }

export interface CompositeDef {
  readonly name: string;
  readonly differentiable: boolean;
}

const primitives = new Map<string, OpDef<any>>();
const composites = new Map<string, CompositeDef>();

/**
 * How many times each op ran (primitives in runOp, composites per call) since the last reset, so
 * the op tests can fail when a case does not exercise an op it claims to cover. One map increment
 * per op call: nothing next to a kernel launch or a CPU loop.
 */
const runCounts = new Map<string, number>();
const countRun = (name: string) => { runCounts.set(name, (runCounts.get(name) ?? 0) + 1); };

/** Runs of each op since the last `resetOpRunCounts()` (a copy). */
export function opRunCounts(): Map<string, number> { return new Map(runCounts); }
export function resetOpRunCounts(): void { runCounts.clear(); }

export function defineOp<A = void>(def: OpDef<A>): OpDef<A> {
  if (primitives.has(def.name) || composites.has(def.name)) throw new Error(`op ${def.name} defined twice`);
  primitives.set(def.name, def);
  return def;
}

/** Registers a composite op's name (its function lives beside it) for the registry tests. */
export function defineComposite<F extends (...args: any[]) => any>(name: string, differentiable: boolean, fn: F): F {
  if (primitives.has(name) || composites.has(name)) throw new Error(`op ${name} defined twice`);
  composites.set(name, { name, differentiable });
  return ((...args: Parameters<F>) => { countRun(name); return fn(...args); }) as F;
}

export function listOps(): { name: string; kind: 'primitive' | 'composite'; differentiable: boolean }[] {
  return [
    ...[...primitives.values()].map((d) => ({ name: d.name, kind: 'primitive' as const, differentiable: d.backward !== undefined })),
    ...[...composites.values()].map((d) => ({ name: d.name, kind: 'composite' as const, differentiable: d.differentiable })),
  ];
}

export function requireF32(op: string, ...inputs: TensorMeta[]): void {
  for (const t of inputs) {
    if (t.dtype !== 'f32') throw new DTypeError(op, `expected f32 input, got ${t.dtype} ${fmtShape(t.shape)}`, t.dtype);
  }
}

/** Runs an op on its inputs' backend and records the autograd node. */
export function runOp<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const { out, aux } = runOpAux(def, inputs, attrs);
  aux.forEach((t) => t.dispose());
  return out;
}

/** runOp for ops with auxiliary outputs: returns them too (the caller owns them). */
export function runOpAux<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): { out: Tensor; aux: Tensor[] } {
  const refs = inputs.map((t) => t.ref(def.name));
  countRun(def.name);
  const backend = refs[0].backend;
  for (let i = 1; i < refs.length; i++) {
    if (refs[i].backend !== backend) {
      throw new DeviceError(def.name, `inputs live on different devices: ${backend.label} and ${refs[i].backend.label}; move one with toBackend()`);
    }
  }
  const meta = def.shape(inputs, attrs);
  const auxMeta = def.aux?.(inputs, attrs) ?? [];
  let ref: StorageRef;
  let auxStorage: Storage[] = [];
  if (def.view) ref = refs[0].retain();
  else {
    const r = execute(backend, def, inputs, refs, attrs, meta);
    const main = 'out' in r ? r.out : r;
    auxStorage = 'out' in r ? [...r.aux] : [];
    if (auxStorage.length !== auxMeta.length) throw new Error(`${def.name}: kernel returned ${auxStorage.length} auxiliary outputs, expected ${auxMeta.length}`);
    ref = new StorageRef(backend, main);
  }
  const result = new Tensor(ref, meta.shape, meta.dtype);
  const aux = auxStorage.map((s, i) => new Tensor(new StorageRef(backend, s), auxMeta[i].shape, auxMeta[i].dtype));

  if (def.backward && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    const edges = inputs.map((t) => (t.node ?? (t.requiresGrad ? t : null)));
    const saves = typeof def.saves === 'function' ? def.saves(attrs) : def.saves;
    const saveIn = saves?.inputs ?? false;
    const savedInputs = inputs.map((t, i) => (saveIn === true || (Array.isArray(saveIn) && saveIn.includes(i)) ? privateHandle(t) : null));
    const savedOutput = saves?.output ? privateHandle(result) : null;
    const savedAux = saves?.aux ? aux.map(privateHandle) : [];
    result.node = new Node(def, attrs, edges, { inputs: savedInputs, output: savedOutput, aux: savedAux }, inputs.map((t) => t.shape), meta.shape);
  }
  return { out: result, aux };
}

function privateHandle(t: Tensor): Tensor {
  return new Tensor(t.ref('save').retain(), t.shape, t.dtype, false);
}

function execute<A>(backend: Backend, def: OpDef<A>, inputs: readonly Tensor[], refs: StorageRef[], attrs: A, out: TensorMeta): Storage | WithAux<Storage> {
  if (backend.kind === 'cpu') {
    const cpu = backend as CpuBackend;
    const r = def.cpu(cpu, inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, data: cpu.view(refs[i].storage) })), attrs, out);
    return r instanceof Float64Array ? cpu.wrap(r) : { out: cpu.wrap(r.out), aux: r.aux.map((a) => cpu.wrap(a)) };
  }
  const gpu = backend as WebGpuBackend;
  const prof = gpu.profiler;
  prof?.enter(def.name, inputs.map((t) => t.shape));
  try {
    return def.webgpu(gpu, inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, size: t.size, storage: refs[i].storage as GpuStorage })), attrs, out);
  } finally {
    prof?.leave();
  }
}
