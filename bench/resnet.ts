/**
 * One ResNet-18 (CIFAR stem) training step at a given batch: forward, mean cross-entropy,
 * backward, momentum SGD update; ours and tfjs-webgpu's (bench/resnet-tfjs.ts) on the same
 * adapter, alternating sample by sample. Reports seconds per step and images per second.
 */
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { tidy } from '../engine/tensor.js';
import { crossEntropy, randint, randn } from '../engine/ops/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { resnet18, SGD } from '../nn/index.js';
import { median, timeCalls } from './common.js';
import { tfjsResnet18 } from './resnet-tfjs.js';
import type { TfjsHandle } from './tfjs.js';

export interface ResnetSide { secondsPerStep: number; imagesPerSecond: number; samplesS: number[] }
export interface ResnetRecord { model: string; batch: number; width: number; ours: ResnetSide; tfjs: ResnetSide; ratio: number }

export async function benchResnetStep(
  backend: WebGpuBackend, tfjs: TfjsHandle, tfSync: () => Promise<void>,
  opts: { batch: number; width: number; samples: number; progress: (s: string) => void },
): Promise<ResnetRecord> {
  const rng = new Random(1);
  const model = resnet18({ stem: 'cifar', width: opts.width, numClasses: 10, rng, backend });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([opts.batch, 3, 32, 32], { rng, backend });
  const y = randint(0, 10, [opts.batch], { rng, backend });
  const oursStep = async () => await timeCalls(() => {
    const loss = tidy(() => crossEntropy(model.call(x), y));
    opt.zeroGrad();
    backward(loss);
    opt.step();
    loss.dispose();
  }, () => backend.sync()) / 1000;
  const tf = tfjsResnet18(tfjs.tf, { batch: opts.batch, width: opts.width, lr: 0.01 });
  const tfStep = async () => await timeCalls(() => tf.step(), tfSync) / 1000;
  opts.progress('warm-up');
  await oursStep();
  await tfStep();
  const ours: number[] = [], theirs: number[] = [];
  for (let s = 0; s < opts.samples; s++) {
    ours.push(await oursStep());
    theirs.push(await tfStep());
    opts.progress(`sample ${s + 1}/${opts.samples}: ours ${ours[s].toFixed(2)} s, tfjs ${theirs[s].toFixed(2)} s`);
  }
  opt.zeroGrad(); opt.dispose(); model.dispose(); x.dispose(); y.dispose(); tf.dispose();
  const side = (xs: number[]): ResnetSide => ({ secondsPerStep: median(xs), imagesPerSecond: opts.batch / median(xs), samplesS: xs });
  const o = side(ours), t = side(theirs);
  return { model: 'resnet18-cifar', batch: opts.batch, width: opts.width, ours: o, tfjs: t, ratio: t.secondsPerStep / o.secondsPerStep };
}
