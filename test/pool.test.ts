/**
 * Pooling behaviour the op cases cannot express: ties in max pooling (the first maximum gets the
 * gradient, as PyTorch), padding as -inf, count_include_pad averaging, output sizes, and errors.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { ArgumentError, DTypeError, ShapeError } from '../engine/errors.js';
import { Tensor, tidy } from '../engine/tensor.js';
import { avgPool2d, globalAvgPool2d, maxPool2d, maxPool2dWithIndices } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { expectClose, gpu, tensorOn } from './helpers.js';

const backends: [string, () => Promise<Backend>][] = [['cpu', async () => new CpuBackend()], ['webgpu', gpu]];

async function values(t: Tensor): Promise<number[]> { return Array.from(await t.data()); }

const resnet = { kernel: 3, stride: 2, padding: 1 };

describe.each(backends)('pooling on %s', (_name, make) => {
  it('maxPool2d: the first maximum in window order wins ties and gets the whole gradient', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 1, 0, 2, 2, 1, 1, 0, 2, 2, 3, 3, 3, 0, 0, 3, 3, 3, 0, 0], [1, 1, 4, 5]);
    x.requiresGrad = true;
    const { out, indices } = maxPool2dWithIndices(x, resnet);
    expect(out.shape).toEqual([1, 1, 2, 3]);
    expect(await values(out)).toEqual([1, 2, 2, 3, 3, 2]);
    expect(indices.dtype).toBe('i32');
    expect(await values(indices)).toEqual([0, 3, 3, 10, 11, 8]);
    const g = tensorOn(b, [1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
    tidy(() => backward(out, { grad: g }));
    expect(await values(x.grad!)).toEqual([1, 0, 0, 5, 0, 0, 0, 0, 6, 0, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
    [x, out, indices, g].forEach((t) => t.dispose());
  });

  it('maxPool2d: padding never wins, even over negative values', async () => {
    const b = await make();
    const x = tensorOn(b, [-5, -4, -3, -2], [1, 1, 2, 2]);
    const y = maxPool2d(x, { kernel: 3, stride: 1, padding: 1 });
    expect(await values(y)).toEqual([-2, -2, -2, -2]);
    [x, y].forEach((t) => t.dispose());
  });

  it('avgPool2d counts padding in the divisor (count_include_pad); its gradient spreads g / (kh*kw)', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    x.requiresGrad = true;
    const y = avgPool2d(x, resnet);
    expectClose(await values(y), [12 / 9, 16 / 9, 24 / 9, 28 / 9]);
    tidy(() => backward(y, { grad: tensorOn(b, [9, 18, 27, 36], [1, 1, 2, 2]) }));
    // each input gets g/9 from every window covering it: the centre is in all four
    expectClose(await values(x.grad!), [1, 1 + 2, 2, 1 + 3, 10, 2 + 4, 3, 3 + 4, 4]);
    [x, y].forEach((t) => t.dispose());
  });

  it('globalAvgPool2d gives [N,C,1,1] channel means', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const y = globalAvgPool2d(x);
    expect(y.shape).toEqual([1, 2, 1, 1]);
    expectClose(await values(y), [2.5, 25]);
    [x, y].forEach((t) => t.dispose());
  });

  it('output sizes follow PyTorch (floor mode)', async () => {
    const b = await make();
    const shapes: [number[], object, number[]][] = [
      [[1, 2, 32, 32], resnet, [1, 2, 16, 16]],
      [[1, 2, 7, 7], resnet, [1, 2, 4, 4]],
      [[1, 2, 7, 6], { kernel: 2 }, [1, 2, 3, 3]],
      [[1, 2, 5, 9], { kernel: [3, 1], stride: [1, 4], padding: [1, 0] }, [1, 2, 5, 3]],
    ];
    for (const [inShape, opts, outShape] of shapes) {
      const x = tensorOn(b, new Array(inShape.reduce((a, d) => a * d, 1)).fill(1), inShape);
      const y1 = maxPool2d(x, opts as never), y2 = avgPool2d(x, opts as never);
      expect(y1.shape).toEqual(outShape);
      expect(y2.shape).toEqual(outShape);
      [x, y1, y2].forEach((t) => t.dispose());
    }
  });

  it('errors name the op and the shapes', async () => {
    const b = await make();
    const x3 = tensorOn(b, new Array(24).fill(0), [2, 3, 4]);
    const x = tensorOn(b, new Array(9).fill(0), [1, 1, 3, 3]);
    const xi = tensorOn(b, new Array(9).fill(0), [1, 1, 3, 3], 'i32');
    expect(() => maxPool2d(x3, { kernel: 2 })).toThrow(ShapeError);
    expect(() => maxPool2d(x3, { kernel: 2 })).toThrow('maxPool2d: expected x of shape [N,C,H,W], got [2,3,4]');
    expect(() => avgPool2d(x3, { kernel: 2 })).toThrow('avgPool2d: expected x of shape [N,C,H,W], got [2,3,4]');
    expect(() => globalAvgPool2d(x3)).toThrow('globalAvgPool2d: expected x of shape [N,C,H,W], got [2,3,4]');
    expect(() => maxPool2d(x, { kernel: 5 })).toThrow('maxPool2d: kernel [5,5] with padding [0,0] does not fit input [1,1,3,3]');
    expect(() => avgPool2d(x, { kernel: [2, 6], padding: [0, 1] })).toThrow('avgPool2d: kernel [2,6] with padding [0,1] does not fit input [1,1,3,3]');
    expect(() => maxPool2d(x, { kernel: 3, padding: 2 })).toThrow(ArgumentError);
    expect(() => maxPool2d(x, { kernel: 3, padding: 2 })).toThrow('maxPool2d: padding [2,2] must be at most half the kernel [3,3]');
    expect(() => avgPool2d(x, { kernel: 2, stride: 0 })).toThrow('avgPool2d: stride must be an integer >= 1');
    expect(() => maxPool2d(x, { kernel: 1.5 })).toThrow('maxPool2d: kernel must be an integer >= 1');
    expect(() => maxPool2d(xi, { kernel: 2 })).toThrow(DTypeError);
    [x3, x, xi].forEach((t) => t.dispose());
  });
});
