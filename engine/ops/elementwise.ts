/**
 * Elementwise ops: unary (with scalar parameters), binary with NumPy broadcasting, comparisons
 * (f32 masks of 0 and 1) and where. Each op's shape rule, CPU reference, WGSL kernel selection
 * and gradient sit together in one table entry.
 */
import { broadcastShapes, broadcastStrides, mergeAxes, sameShape, sizeOf, walkStrided } from '../shape.js';
import { grid, u32, f32, holdsVec4s, vec4Grid, type GpuStorage } from '../webgpu/backend.js';
import { u32Array } from '../webgpu/params.js';
import { Tensor } from '../tensor.js';
import { defineOp, requireF32, runOp, type OpDef, type TensorMeta } from './registry.js';
import { sumTo } from './reduce.js';
import { scalarLike } from './creation.js';

// ---- unary -------------------------------------------------------------------------------------

export interface ScalarAttrs { alpha: number; beta: number }

type UnaryGrad = (g: Tensor, x: Tensor, out: Tensor, a: ScalarAttrs) => Tensor;

interface UnarySpec {
  name: string;
  /** OP code in shaders/unary.wgsl. */
  code: number;
  cpu: (x: number, a: ScalarAttrs) => number;
  grad?: UnaryGrad;
  saves?: { inputs?: boolean; output?: boolean };
}

function unaryOp(spec: UnarySpec): OpDef<ScalarAttrs> {
  return defineOp<ScalarAttrs>({
    name: spec.name,
    shape([x]) { requireF32(spec.name, x); return { shape: x.shape, dtype: 'f32' }; },
    cpu(_b, [x], a) { return x.data.map((v) => spec.cpu(v, a)); },
    webgpu(gpu, [x], a) {
      const out = gpu.alloc(x.size);
      const { T, workgroups } = vec4Grid(spec.name, x.size, VEC4_PER_INVOCATION, 256, [x.storage, out]);
      gpu.run({
        shader: 'unary', constants: { OP: spec.code, E: VEC4_PER_INVOCATION }, inputs: [x.storage], outputs: [out],
        params: [u32(x.size), f32(a.alpha), f32(a.beta), u32(T)], workgroups,
      });
      return out;
    },
    backward: spec.grad && ((g, ctx) => [spec.grad!(g, ctx.inputs[0]!, ctx.output!, ctx.attrs)]),
    saves: spec.saves,
  });
}

const noAttrs: ScalarAttrs = { alpha: 0, beta: 0 };

/** vec4s per invocation of the unary and same-shape binary kernels (their E). */
const VEC4_PER_INVOCATION = 4;

const sigmoidF = (v: number) => 1 / (1 + Math.exp(-v));

export const NegOp = unaryOp({ name: 'neg', code: 0, cpu: (v) => -v, grad: (g) => neg(g) });
export const ExpOp = unaryOp({ name: 'exp', code: 1, cpu: Math.exp, grad: (g, _x, y) => mul(g, y), saves: { output: true } });
export const LogOp = unaryOp({ name: 'log', code: 2, cpu: Math.log, grad: (g, x) => div(g, x), saves: { inputs: true } });
export const SqrtOp = unaryOp({ name: 'sqrt', code: 3, cpu: Math.sqrt, grad: (g, _x, y) => div(mul(g, 0.5), y), saves: { output: true } });
export const RsqrtOp = unaryOp({
  name: 'rsqrt', code: 4, cpu: (v) => 1 / Math.sqrt(v), saves: { output: true },
  grad: (g, _x, y) => mul(g, mul(powScalar(y, 3), -0.5)),
});
export const AbsOp = unaryOp({ name: 'abs', code: 5, cpu: Math.abs, grad: (g, x) => mul(g, sign(x)), saves: { inputs: true } });
export const ReluOp = unaryOp({ name: 'relu', code: 6, cpu: (v) => Math.max(v, 0), grad: (g, _x, y) => reluBackward(g, y), saves: { output: true } });
export const SigmoidOp = unaryOp({
  name: 'sigmoid', code: 7, cpu: sigmoidF, saves: { output: true },
  grad: (g, _x, y) => mul(g, mul(y, affine(y, -1, 1))),
});
export const TanhOp = unaryOp({
  name: 'tanh', code: 8, cpu: Math.tanh, saves: { output: true },
  grad: (g, _x, y) => mul(g, affine(square(y), -1, 1)),
});
export const SquareOp = unaryOp({ name: 'square', code: 9, cpu: (v) => v * v, grad: (g, x) => mul(g, mul(x, 2)), saves: { inputs: true } });
export const PowScalarOp = unaryOp({
  name: 'powScalar', code: 10, saves: { inputs: true },
  cpu: (v, a) => (v < 0 && !Number.isInteger(a.alpha) ? NaN : Math.pow(v, a.alpha)),
  grad: (g, x, _y, a) => mul(g, mul(powScalar(x, a.alpha - 1), a.alpha)),
});
/** x * alpha + beta: scalar add, subtract and multiply in one kernel. */
export const AffineOp = unaryOp({ name: 'affine', code: 11, cpu: (v, a) => v * a.alpha + a.beta, grad: (g, _x, _y, a) => affine(g, a.alpha, 0) });
export const SignOp = unaryOp({ name: 'sign', code: 12, cpu: Math.sign });
/** 1 where x > alpha, else 0. */
export const StepOp = unaryOp({ name: 'step', code: 13, cpu: (v, a) => (v > a.alpha ? 1 : 0) });
export const ClampOp = unaryOp({
  name: 'clamp', code: 14, cpu: (v, a) => Math.min(Math.max(v, a.alpha), a.beta), saves: { inputs: true },
  // gradient passes where alpha < x < beta
  grad: (g, x, _y, a) => mul(g, mul(step(x, a.alpha), step(neg(x), -a.beta))),
});

export const neg = (x: Tensor) => runOp(NegOp, [x], noAttrs);
export const exp = (x: Tensor) => runOp(ExpOp, [x], noAttrs);
export const log = (x: Tensor) => runOp(LogOp, [x], noAttrs);
export const sqrt = (x: Tensor) => runOp(SqrtOp, [x], noAttrs);
export const rsqrt = (x: Tensor) => runOp(RsqrtOp, [x], noAttrs);
export const abs = (x: Tensor) => runOp(AbsOp, [x], noAttrs);
export const relu = (x: Tensor) => runOp(ReluOp, [x], noAttrs);
export const sigmoid = (x: Tensor) => runOp(SigmoidOp, [x], noAttrs);
export const tanh = (x: Tensor) => runOp(TanhOp, [x], noAttrs);
export const square = (x: Tensor) => runOp(SquareOp, [x], noAttrs);
export const powScalar = (x: Tensor, p: number) => runOp(PowScalarOp, [x], { alpha: p, beta: 0 });
export const affine = (x: Tensor, scale: number, shift: number) => runOp(AffineOp, [x], { alpha: scale, beta: shift });
export const sign = (x: Tensor) => runOp(SignOp, [x], noAttrs);
export const step = (x: Tensor, threshold = 0) => runOp(StepOp, [x], { alpha: threshold, beta: 0 });
export const clamp = (x: Tensor, lo: number, hi: number) => runOp(ClampOp, [x], { alpha: lo, beta: hi });

// ---- binary ------------------------------------------------------------------------------------

type BinaryGrad = (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null];

interface BinarySpec {
  name: string;
  /** OP code in shaders/binary.wgsl. */
  code: number;
  cpu: (a: number, b: number) => number;
  grad?: BinaryGrad;
  /** Whether the rule reads the saved inputs. */
  savesInputs?: boolean;
  /** Whether the rule reads the saved output. */
  savesOutput?: boolean;
}

export function broadcastCpu(out: TensorMeta, inputs: readonly { shape: readonly number[]; data: Float64Array }[], f: (...v: number[]) => number): Float64Array {
  const res = new Float64Array(sizeOf(out.shape));
  const strides = inputs.map((x) => broadcastStrides(x.shape, out.shape));
  const vals = new Array<number>(inputs.length);
  walkStrided(out.shape, strides, inputs.map(() => 0), (i, offs) => {
    for (let k = 0; k < inputs.length; k++) vals[k] = inputs[k].data[offs[k]];
    res[i] = f(...vals);
  });
  return res;
}

function binaryOp(spec: BinarySpec): OpDef<void> {
  return defineOp<void>({
    name: spec.name,
    shape([a, b]) { requireF32(spec.name, a, b); return { shape: broadcastShapes(spec.name, a.shape, b.shape), dtype: 'f32' }; },
    cpu(_b, [a, b], _attrs, out) { return broadcastCpu(out, [a, b], spec.cpu); },
    webgpu(gpu, [a, b], _attrs, meta) {
      const n = sizeOf(meta.shape);
      const out = gpu.alloc(n);
      if (sameShape(a.shape, b.shape)) {
        const { T, workgroups } = vec4Grid(spec.name, n, VEC4_PER_INVOCATION, 256, [a.storage, b.storage, out]);
        gpu.run({
          shader: 'binary', entry: 'same4', constants: { OP: spec.code, E: VEC4_PER_INVOCATION },
          inputs: [a.storage, b.storage], outputs: [out],
          params: [u32(n), u32(0), u32(T), u32(0), ...new Array(24).fill(u32(0))], workgroups,
        });
        return out;
      }
      const m = mergeAxes(meta.shape, [broadcastStrides(a.shape, meta.shape), broadcastStrides(b.shape, meta.shape)]);
      // whole vec4s along the innermost axis, and every operand's buffer bindable as vec4s
      const rows4 = m.shape.length > 0 && m.shape[m.shape.length - 1] % 4 === 0 &&
        holdsVec4s(a.storage, sizeOf(a.shape)) && holdsVec4s(b.storage, sizeOf(b.shape)) && holdsVec4s(out, n);
      const T = rows4 ? n / 4 : 0;
      gpu.run({
        shader: 'binary', entry: rows4 ? 'bcast4' : 'main', constants: { OP: spec.code },
        inputs: [a.storage, b.storage], outputs: [out],
        params: [u32(n), u32(m.shape.length), u32(T), u32(0),
          ...u32Array(spec.name, m.shape), ...u32Array(spec.name, m.strides[0]), ...u32Array(spec.name, m.strides[1])],
        workgroups: grid(Math.ceil((rows4 ? T : n) / 256)),
      });
      return out;
    },
    backward: spec.grad && ((g, ctx) => {
      const [ga, gb] = spec.grad!(g, ctx.inputs[0]!, ctx.inputs[1]!, ctx.output!);
      return [ga && ctx.needs[0] ? sumTo(ga, ctx.inputShapes[0]) : null, gb && ctx.needs[1] ? sumTo(gb, ctx.inputShapes[1]) : null];
    }),
    saves: { inputs: spec.savesInputs ?? false, output: spec.savesOutput ?? false },
  });
}

export const AddOp = binaryOp({ name: 'add', code: 0, cpu: (a, b) => a + b, grad: (g) => [g, g] });
export const SubOp = binaryOp({ name: 'sub', code: 1, cpu: (a, b) => a - b, grad: (g) => [g, neg(g)] });
export const MulOp = binaryOp({ name: 'mul', code: 2, cpu: (a, b) => a * b, grad: (g, a, b) => [mul(g, b), mul(g, a)], savesInputs: true });
export const DivOp = binaryOp({
  name: 'div', code: 3, cpu: (a, b) => a / b, savesInputs: true,
  grad: (g, a, b) => [div(g, b), neg(div(mul(g, a), square(b)))],
});
// Ties send the gradient to a (maximum) or b (minimum), as PyTorch does not split it either.
export const MaximumOp = binaryOp({
  name: 'maximum', code: 4, cpu: Math.max, savesInputs: true,
  grad: (g, a, b) => { const m = greaterEqual(a, b); return [mul(g, m), mul(g, affine(m, -1, 1))]; },
});
export const MinimumOp = binaryOp({
  name: 'minimum', code: 5, cpu: Math.min, savesInputs: true,
  grad: (g, a, b) => { const m = lessEqual(a, b); return [mul(g, m), mul(g, affine(m, -1, 1))]; },
});
export const GreaterOp = binaryOp({ name: 'greater', code: 6, cpu: (a, b) => +(a > b) });
export const GreaterEqualOp = binaryOp({ name: 'greaterEqual', code: 7, cpu: (a, b) => +(a >= b) });
export const LessOp = binaryOp({ name: 'less', code: 8, cpu: (a, b) => +(a < b) });
export const LessEqualOp = binaryOp({ name: 'lessEqual', code: 9, cpu: (a, b) => +(a <= b) });
export const EqualOp = binaryOp({ name: 'equal', code: 10, cpu: (a, b) => +(a === b) });
export const NotEqualOp = binaryOp({ name: 'notEqual', code: 11, cpu: (a, b) => +(a !== b) });
/** ReLU's backward in one pass: g where y > 0, else 0 (g * (y > 0), so a NaN g stays NaN). */
export const ReluBackwardOp = binaryOp({ name: 'reluBackward', code: 12, cpu: (g, y) => g * (y > 0 ? 1 : 0) });
/** relu(a + b) in one pass (a residual block's output); backward: one masking pass for both inputs. */
export const AddReluOp = binaryOp({
  name: 'addRelu', code: 13, cpu: (a, b) => Math.max(a + b, 0), savesOutput: true,
  grad: (g, _a, _b, out) => { const m = reluBackward(g, out); return [m, m]; },
});

type Operand = Tensor | number;

/** a + b; a number operand becomes a scalar kernel parameter, not a tensor. */
export function add(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return affine(a as Tensor, 1, b);
  if (typeof a === 'number') return affine(b, 1, a);
  return runOp(AddOp, [a, b], undefined);
}
export function sub(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return affine(a as Tensor, 1, -b);
  if (typeof a === 'number') return affine(b, -1, a);
  return runOp(SubOp, [a, b], undefined);
}
export function mul(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return affine(a as Tensor, b, 0);
  if (typeof a === 'number') return affine(b, a, 0);
  return runOp(MulOp, [a, b], undefined);
}
export function div(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return affine(a as Tensor, 1 / b, 0);
  if (typeof a === 'number') return mul(powScalar(b, -1), a);
  return runOp(DivOp, [a, b], undefined);
}

function binaryTensors(op: OpDef<void>, a: Operand, b: Operand): Tensor {
  const t = (a instanceof Tensor ? a : b) as Tensor;
  const ta = typeof a === 'number' ? scalarLike(t, a) : a;
  const tb = typeof b === 'number' ? scalarLike(t, b) : b;
  const out = runOp(op, [ta, tb], undefined);
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return out;
}

export const maximum = (a: Operand, b: Operand) => binaryTensors(MaximumOp, a, b);
/** g * (y > 0): the gradient of relu given its output y. */
export const reluBackward = (g: Tensor, y: Tensor) => runOp(ReluBackwardOp, [g, y], undefined);
/** relu(a + b), one kernel (and one masking pass backward). */
export const addRelu = (a: Tensor, b: Tensor) => runOp(AddReluOp, [a, b], undefined);
export const minimum = (a: Operand, b: Operand) => binaryTensors(MinimumOp, a, b);
export const greater = (a: Operand, b: Operand) => binaryTensors(GreaterOp, a, b);
export const greaterEqual = (a: Operand, b: Operand) => binaryTensors(GreaterEqualOp, a, b);
export const less = (a: Operand, b: Operand) => binaryTensors(LessOp, a, b);
export const lessEqual = (a: Operand, b: Operand) => binaryTensors(LessEqualOp, a, b);
export const equal = (a: Operand, b: Operand) => binaryTensors(EqualOp, a, b);
export const notEqual = (a: Operand, b: Operand) => binaryTensors(NotEqualOp, a, b);

// ---- where -------------------------------------------------------------------------------------

export const WhereOp = defineOp<void>({
  name: 'where',
  shape([c, a, b]) {
    requireF32('where', c, a, b);
    return { shape: broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape), dtype: 'f32' };
  },
  cpu(_b, [c, a, b], _attrs, out) { return broadcastCpu(out, [c, a, b], (cv, av, bv) => (cv !== 0 ? av : bv)); },
  webgpu(gpu, [c, a, b], _attrs, meta) {
    const n = sizeOf(meta.shape);
    const out: GpuStorage = gpu.alloc(n);
    const m = mergeAxes(meta.shape, [c, a, b].map((x) => broadcastStrides(x.shape, meta.shape)));
    gpu.run({
      shader: 'where', inputs: [c.storage, a.storage, b.storage], outputs: [out],
      params: [u32(n), u32(m.shape.length), u32(0), u32(0), ...u32Array('where', m.shape),
        ...m.strides.flatMap((s) => u32Array('where', s))],
      workgroups: grid(Math.ceil(n / 256)),
    });
    return out;
  },
  backward(g, ctx) {
    const c = ctx.inputs[0]!;
    const ga = ctx.needs[1] ? sumTo(mul(g, notEqual(c, 0)), ctx.inputShapes[1]) : null;
    const gb = ctx.needs[2] ? sumTo(mul(g, equal(c, 0)), ctx.inputShapes[2]) : null;
    return [null, ga, gb];
  },
  saves: { inputs: [0] }, // the condition only
});

/** cond != 0 ? a : b, broadcasting all three. */
export const where = (cond: Tensor, a: Tensor, b: Tensor) => runOp(WhereOp, [cond, a, b], undefined);
