/**
 * CPC's context network (Henaff et al. 2020, appendix: a PixelCNN-style stack over the grid of patch
 * embeddings): the context at grid row i may see rows <= i only, so predicting rows below it is a
 * real prediction. Each residual block is 1x1 conv -> ReLU -> a row-causal 2x3 conv -> ReLU -> 1x1
 * conv back to the input width, added to the block's input; a ReLU ends the stack.
 *
 * The row-causal conv is a masked 3x3 convolution (PixelCNN's vertical stack: the kernel row below
 * the centre is zero) with that zero row dropped: the input is padded by one row on top and one
 * column on each side, then a 2x3 kernel runs without padding, so output row i reads input rows
 * i - 1 and i. Its weight is [out, in, 2, 3]: a 3x3 masked kernel's two live rows.
 */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, ShapeError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import { add, pad, relu } from '../engine/ops/index.js';
import { Conv2d, Sequential } from './layers.js';
import { Module } from './module.js';

interface Ctx { rng?: Random; backend?: Backend }

/** A 3x3 convolution that sees the current row and the one above: out[i] depends on in[i - 1], in[i]. */
export class RowCausalConv2d extends Module {
  readonly conv: Conv2d;
  constructor(inC: number, outC: number, ctx: Ctx) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, outC, [2, 3], { bias: true, init: 'pytorch_default', ...ctx }));
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new ShapeError('RowCausalConv2d', `expected [N, C, H, W], got ${fmtShape(x.shape)}`);
    return this.conv.forward(pad(x, [[0, 0], [0, 0], [1, 0], [1, 1]]));
  }
}

class ContextBlock extends Module {
  readonly c1: Conv2d;
  readonly c2: RowCausalConv2d;
  readonly c3: Conv2d;
  constructor(channels: number, hidden: number, ctx: Ctx) {
    super();
    const conv1x1 = (i: number, o: number) => new Conv2d(i, o, 1, { bias: true, init: 'pytorch_default', ...ctx });
    this.c1 = this.registerModule('c1', conv1x1(channels, hidden));
    this.c2 = this.registerModule('c2', new RowCausalConv2d(hidden, hidden, ctx));
    this.c3 = this.registerModule('c3', conv1x1(hidden, channels));
  }
  forward(x: Tensor): Tensor {
    return add(x, this.c3.forward(relu(this.c2.forward(relu(this.c1.forward(x))))));
  }
}

export interface CpcContextOptions { blocks: number; hidden: number; rng?: Random; backend?: Backend }

/** The context network over a grid of embeddings [N, C, rows, cols]; the output has the same shape. */
export class CpcContext extends Module {
  readonly blocks: Sequential;
  constructor(readonly channels: number, o: CpcContextOptions) {
    super();
    for (const [k, v] of [['channels', channels], ['blocks', o.blocks], ['hidden', o.hidden]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError('CpcContext', `${k} must be a positive integer, got ${v}`);
    }
    const ctx: Ctx = { rng: o.rng, backend: o.backend };
    this.blocks = this.registerModule('blocks', new Sequential(...Array.from({ length: o.blocks }, () => new ContextBlock(channels, o.hidden, ctx))));
  }
  forward(x: Tensor): Tensor { return relu(this.blocks.forward(x)); }
}
