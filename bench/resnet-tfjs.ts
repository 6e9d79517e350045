/**
 * The same training step in tfjs-webgpu, for the side-by-side ResNet number: ResNet-18 with the
 * CIFAR stem (3x3/1 conv, no max-pool), batch-norm in training mode (batch statistics), global
 * average pool, linear classifier, mean cross-entropy, gradients by tf.variableGrads, plain SGD.
 * tfjs runs NHWC, its native layout, so it is measured at its best.
 */
type Tf = typeof import('@tensorflow/tfjs-core');
type T4 = import('@tensorflow/tfjs-core').Tensor4D;
type V = import('@tensorflow/tfjs-core').Variable;

export interface TfjsResnetStep {
  /** Records one training step; the loss is left unread. */
  step(): void;
  dispose(): void;
}

export function tfjsResnet18(tf: Tf, opts: { batch: number; width?: number; classes?: number; lr?: number; seed?: number }): TfjsResnetStep {
  const w = opts.width ?? 1;
  const widths = [64, 128, 256, 512].map((c) => Math.max(1, Math.round(c * w)));
  const classes = opts.classes ?? 10;
  const lr = opts.lr ?? 0.01;
  let seed = opts.seed ?? 1;
  const vars: V[] = [];
  const convW = (k: number, cin: number, cout: number) => {
    const v = tf.variable(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (cout * k * k)), 'float32', seed++));
    vars.push(v);
    return v as unknown as import('@tensorflow/tfjs-core').Tensor4D;
  };
  const bnP = (c: number) => {
    const g = tf.variable(tf.ones([c])), b = tf.variable(tf.zeros([c]));
    vars.push(g, b);
    return { g, b };
  };
  const bn = (x: T4, p: { g: V; b: V }) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, p.b, p.g, 1e-5) as T4;
  };
  interface Block { c1: T4; b1: ReturnType<typeof bnP>; c2: T4; b2: ReturnType<typeof bnP>; stride: number; down?: { c: T4; b: ReturnType<typeof bnP> } }
  const stemW = convW(3, 3, widths[0]);
  const stemB = bnP(widths[0]);
  const blocks: Block[] = [];
  let cin = widths[0];
  widths.forEach((c, li) => {
    for (let i = 0; i < 2; i++) {
      const stride = li > 0 && i === 0 ? 2 : 1;
      const blk: Block = { c1: convW(3, cin, c), b1: bnP(c), c2: convW(3, c, c), b2: bnP(c), stride };
      if (stride !== 1 || cin !== c) blk.down = { c: convW(1, cin, c), b: bnP(c) };
      blocks.push(blk);
      cin = c;
    }
  });
  const fcW = tf.variable(tf.randomUniform([cin, classes], -1 / Math.sqrt(cin), 1 / Math.sqrt(cin), 'float32', seed++));
  const fcB = tf.variable(tf.zeros([classes]));
  vars.push(fcW, fcB);
  const x = tf.randomNormal([opts.batch, 32, 32, 3], 0, 1, 'float32', seed++) as T4;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: opts.batch }, (_, i) => i % classes), 'int32'), classes);

  const loss = () => {
    let h = tf.relu(bn(tf.conv2d(x, stemW, 1, 'same'), stemB)) as T4;
    for (const b of blocks) {
      let y = tf.relu(bn(tf.conv2d(h, b.c1, b.stride, 'same'), b.b1)) as T4;
      y = bn(tf.conv2d(y, b.c2, 1, 'same'), b.b2);
      const sc = b.down ? bn(tf.conv2d(h, b.down.c, b.stride, 'valid'), b.down.b) : h;
      h = tf.relu(tf.add(y, sc)) as T4;
    }
    const pooled = tf.mean(h, [1, 2]);
    const logits = tf.add(tf.matMul(pooled, fcW), fcB);
    return tf.losses.softmaxCrossEntropy(labels, logits) as import('@tensorflow/tfjs-core').Scalar;
  };

  return {
    step() {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, vars);
        for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
        value.dispose();
      });
    },
    dispose() {
      vars.forEach((v) => v.dispose());
      x.dispose();
      labels.dispose();
    },
  };
}
