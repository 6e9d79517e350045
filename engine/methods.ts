/**
 * Chainable tensor methods (`x.matmul(w).add(b).relu()`), each a thin call to the op function of
 * the same name; the ops themselves are defined once in engine/ops/.
 */
import { Tensor } from './tensor.js';
import { backward, type BackwardOptions } from './autograd.js';
import * as E from './ops/elementwise.js';
import * as R from './ops/reduce.js';
import * as M from './ops/movement.js';
import * as S from './ops/softmax.js';
import { matmul, type MatmulOptions } from './ops/matmul.js';

type Operand = Tensor | number;
type Axes = number | number[];

declare module './tensor.js' {
  interface Tensor {
    add(b: Operand): Tensor;
    sub(b: Operand): Tensor;
    mul(b: Operand): Tensor;
    div(b: Operand): Tensor;
    maximum(b: Operand): Tensor;
    minimum(b: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    square(): Tensor;
    pow(p: number): Tensor;
    clamp(lo: number, hi: number): Tensor;
    sum(axes?: Axes, keepDims?: boolean): Tensor;
    mean(axes?: Axes, keepDims?: boolean): Tensor;
    max(axes?: Axes, keepDims?: boolean): Tensor;
    reshape(shape: readonly number[]): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
    logSoftmax(axis?: number): Tensor;
    softmax(axis?: number): Tensor;
    backward(opts?: BackwardOptions): void;
  }
}

const p = Tensor.prototype;
p.add = function (b) { return E.add(this, b); };
p.sub = function (b) { return E.sub(this, b); };
p.mul = function (b) { return E.mul(this, b); };
p.div = function (b) { return E.div(this, b); };
p.maximum = function (b) { return E.maximum(this, b); };
p.minimum = function (b) { return E.minimum(this, b); };
p.neg = function () { return E.neg(this); };
p.exp = function () { return E.exp(this); };
p.log = function () { return E.log(this); };
p.sqrt = function () { return E.sqrt(this); };
p.rsqrt = function () { return E.rsqrt(this); };
p.abs = function () { return E.abs(this); };
p.relu = function () { return E.relu(this); };
p.sigmoid = function () { return E.sigmoid(this); };
p.tanh = function () { return E.tanh(this); };
p.square = function () { return E.square(this); };
p.pow = function (e) { return E.powScalar(this, e); };
p.clamp = function (lo, hi) { return E.clamp(this, lo, hi); };
p.sum = function (axes, keepDims) { return R.sum(this, axes, keepDims); };
p.mean = function (axes, keepDims) { return R.mean(this, axes, keepDims); };
p.max = function (axes, keepDims) { return R.max(this, axes, keepDims); };
p.reshape = function (shape) { return M.reshape(this, shape); };
p.permute = function (dims) { return M.permute(this, dims); };
p.transpose = function (a, b) { return M.transpose(this, a, b); };
p.matmul = function (b, opts) { return matmul(this, b, opts); };
p.logSoftmax = function (axis) { return S.logSoftmax(this, axis); };
p.softmax = function (axis) { return S.softmax(this, axis); };
p.backward = function (opts) { backward(this, opts); };
