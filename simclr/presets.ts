/**
 * Named training recipes for `npm run pretrain -- --preset <name>`. A preset is a partial
 * TrainConfig applied over its method's defaults; a `--config` JSON file and then the flags override
 * it (defaults < method defaults < preset < --config < flags).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from './config.js';

export interface Preset {
  /** One line for --help. */
  summary: string;
  values: Partial<TrainConfig>;
  /** The preset has no data of its own: --data (or a --config "data") must be given. */
  requiresData: boolean;
}

/**
 * The package root (the directory holding data/cifar10-demo), found upward from this module, so it
 * works from the sources (simclr/), from dist/simclr/ and from an installed package.
 */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'data', 'cifar10-demo')) && existsSync(join(d, 'package.json'))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

export const DEMO_DIR = join(packageRoot(), 'data', 'cifar10-demo');
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const PRESETS: Record<string, Preset> = {
  /**
   * The official SimCLR CIFAR-10 command (google-research/simclr README: train_batch_size 512,
   * train_epochs 1000, learning_rate 1.0, weight_decay 1e-4, temperature 0.5, resnet_depth 18,
   * use_blur False, color_jitter_strength 0.5, warmup_epochs 10 by default; LARS with linear lr
   * scaling, so 1.0 x 512/256 = 2.0). The v2 code's own weight-decay default is 1e-6; the README's
   * CIFAR command passes 1e-4, which is what is used here.
   */
  cifar10: {
    summary: 'official SimCLR CIFAR-10 command: ResNet-18 CIFAR stem, batch 512, LARS lr 1.0 x B/256, wd 1e-4 ' +
      '(README command; v2 code default 1e-6), T 0.5, jitter 0.5, no blur, 10 warm-up, 1000 epochs; needs --data',
    requiresData: true,
    values: {
      method: 'simclr',
      format: 'cifar10', depth: 18, stem: 'cifar', width: 1, batchSize: 512, lr: 1.0, weightDecay: 1e-4, temperature: 0.5,
      jitterStrength: 0.5, blurProb: 0, warmupEpochs: 10, epochs: 1000, out: 'runs/cifar10',
    },
  },
  /**
   * STL-10 at its native 96x96: ImageNet stem and ImageNet augmentations (jitter 1.0, blur p 0.5)
   * because the images are ImageNet-like; the optimizer of the CIFAR-10 command (LARS lr 1.0 x B/256,
   * T 0.5, wd 1e-4) at batch 256, which one GPU holds at 96 px; 200 epochs since an epoch is 105,000
   * images (unlabeled + train).
   */
  stl10: {
    summary: 'STL-10 96x96: ResNet-18 ImageNet stem, jitter 1.0, blur 0.5, batch 256, LARS lr 1.0 x B/256, wd 1e-4, T 0.5, ' +
      '10 warm-up, 200 epochs; --data <stl10_binary dir>',
    requiresData: true,
    values: {
      method: 'simclr',
      format: 'stl10', depth: 18, stem: 'imagenet', width: 1, batchSize: 256, lr: 1.0, weightDecay: 1e-4, temperature: 0.5,
      jitterStrength: 1.0, blurProb: 0.5, warmupEpochs: 10, epochs: 200, out: 'runs/stl10',
    },
  },
  /**
   * Fashion-MNIST (idx files, 28x28 gray replicated to 3 channels) with the CIFAR recipe: the CIFAR
   * stem keeps 28x28 at full resolution into layer1 (4x4 at layer4); no blur at this size; 200 epochs.
   */
  'fashion-mnist': {
    summary: `Fashion-MNIST 28x28: ResNet-18 CIFAR stem, batch 512, LARS lr 1.0 x B/256, wd 1e-4, T 0.5, jitter 0.5, no blur, ` +
      `10 warm-up, 200 epochs; data ${FASHION_MNIST_DIR} when installed`,
    requiresData: !existsSync(FASHION_MNIST_DIR),
    values: {
      method: 'simclr',
      ...(existsSync(FASHION_MNIST_DIR) ? { data: [FASHION_MNIST_DIR] } : {}),
      format: 'idx', depth: 18, stem: 'cifar', width: 1, batchSize: 512, lr: 1.0, weightDecay: 1e-4, temperature: 0.5,
      jitterStrength: 0.5, blurProb: 0, warmupEpochs: 10, epochs: 200, out: 'runs/fashion-mnist',
    },
  },
  /**
   * MoCo v2 on CIFAR-10 as the official MoCo CIFAR-10 demo trains it (facebookresearch/moco's
   * colab: ResNet-18 CIFAR variant, batch 512, SGD lr 0.06 = 0.03 x 512/256, weight decay 5e-4,
   * cosine, 200 epochs, K 4096, m 0.99, T 0.1, 8 BN splits with the key shuffle, no blur at 32 px).
   */
  'moco-cifar10': {
    summary: 'MoCo v2 CIFAR-10 (official demo): ResNet-18 CIFAR stem, batch 512, SGD lr 0.03 x B/256, wd 5e-4, cosine, ' +
      'K 4096, m 0.99, T 0.1, 8 BN splits, no blur, 200 epochs; needs --data',
    requiresData: true,
    values: {
      method: 'moco', format: 'cifar10', depth: 18, stem: 'cifar', width: 1, batchSize: 512, lr: 0.03, weightDecay: 5e-4, warmupEpochs: 0,
      temperature: 0.1, queueSize: 4096, keyMomentum: 0.99, bnSplits: 8, blurProb: 0, epochs: 200, out: 'runs/moco-cifar10',
    },
  },
  /**
   * BYOL on CIFAR-10 as solo-learn's CIFAR recipe (scripts/pretrain/cifar/byol.yaml): batch 256, LARS
   * lr 1.0 x B/256, weight decay 1e-5, 10 warm-up epochs, tau 0.99 -> 1, projector 4096 -> 256,
   * predictor 4096, jitter (0.4, 0.4, 0.2, 0.1), no blur, solarization 0 / 0.2, LARS trust coefficient
   * 0.02 (solo-learn's eta_lars; the paper's ImageNet setting is 1e-3), 1000 epochs.
   */
  'byol-cifar10': {
    summary: 'BYOL CIFAR-10 (solo-learn recipe): ResNet-18 CIFAR stem, batch 256, LARS lr 1.0 x B/256, wd 1e-5, 10 warm-up, ' +
      'LARS eta 0.02, tau 0.99, projector 4096-256, no blur, solarize 0/0.2, 1000 epochs; needs --data',
    requiresData: true,
    values: {
      method: 'byol', format: 'cifar10', depth: 18, stem: 'cifar', width: 1, batchSize: 256, lr: 1.0, weightDecay: 1e-5, larsEta: 0.02, warmupEpochs: 10,
      tauBase: 0.99, headHidden: 4096, headOut: 256, predHidden: 4096, blurProb: 0, solarizeProb: [0, 0.2], epochs: 1000, out: 'runs/byol-cifar10',
    },
  },
  /**
   * AMDIM on CIFAR-10 with the framework's standardized sizes (pl_bolts AMDIM DATASET_CIFAR10: ndf 320,
   * n_rkhs 1280, depth 10, batch 200, Adam 2e-4 with betas (0.8, 0.999), eps 1e-7, wd 1e-5; here lr
   * 2.56e-4 x 200/256 = 2e-4); 200 epochs (our choice; the reference leaves it to the trainer).
   */
  'amdim-cifar10': {
    summary: 'AMDIM CIFAR-10 (pl_bolts sizes): ndf 320, n_rkhs 1280, depth 10, batch 200, Adam 2e-4 (0.8, 0.999), eps 1e-7, wd 1e-5, ' +
      'translate 4, 200 epochs; needs --data',
    requiresData: true,
    values: {
      method: 'amdim', format: 'cifar10', ndf: 320, rkhs: 1280, amdimDepth: 10, batchSize: 200, lr: 2.56e-4, epochs: 200, out: 'runs/amdim-cifar10',
    },
  },
  /**
   * AMDIM on STL-10 with pl_bolts' DATASET_STL10 sizes (ndf 192, n_rkhs 1536, depth 8, batch 200) and its
   * STL augmentation (random resized crop scale 0.3-1, no translation). The reference crops to 64 px;
   * here the views stay 96 px and the 64 px encoder runs on them (its maps are then 11, 9 and 5 wide
   * and r1 is pooled).
   */
  'amdim-stl10': {
    summary: 'AMDIM STL-10 (pl_bolts sizes): 64 px encoder on 96 px views, ndf 192, n_rkhs 1536, depth 8, batch 200, crop 0.3-1, ' +
      'Adam 2e-4, 200 epochs; --data <stl10_binary dir>',
    requiresData: true,
    values: {
      method: 'amdim', format: 'stl10', ndf: 192, rkhs: 1536, amdimDepth: 8, batchSize: 200, lr: 2.56e-4, cropScale: [0.3, 1], translate: 0,
      translateProb: 0, epochs: 200, out: 'runs/amdim-stl10',
    },
  },
  /**
   * CPC v2 on CIFAR-10: 8x8 patches with stride 4 (a 7x7 grid), layer-norm ResNet-18 (CIFAR stem),
   * predictions of the 3 rows below, Adam 4e-5 as the framework's CIFAR runs, batch 256, 200 epochs.
   */
  'cpc-cifar10': {
    summary: 'CPC v2 CIFAR-10: 8x8 patches stride 4 (7x7 grid), layer-norm ResNet-18, K 3, batch 256, Adam 4e-5 (0.8, 0.999), wd 1e-5, ' +
      '200 epochs; needs --data',
    requiresData: true,
    values: {
      method: 'cpc', format: 'cifar10', depth: 18, stem: 'cifar', width: 1, patchSize: 8, patchStride: 4, predictSteps: 3, batchSize: 256, lr: 4e-5,
      epochs: 200, out: 'runs/cpc-cifar10',
    },
  },
  /**
   * CPC v2 on STL-10 at 96 px: 16x16 patches with stride 8 (an 11x11 grid), translation by up to 4 px
   * per patch, K 3, batch 128, Adam 1e-4, 200 epochs.
   */
  'cpc-stl10': {
    summary: 'CPC v2 STL-10 96x96: 16x16 patches stride 8 (11x11 grid), layer-norm ResNet-18, K 3, batch 128, Adam 1e-4, 200 epochs; ' +
      '--data <stl10_binary dir>',
    requiresData: true,
    values: {
      method: 'cpc', format: 'stl10', depth: 18, stem: 'cifar', width: 1, patchSize: 16, patchStride: 8, predictSteps: 3, translate: 4,
      batchSize: 128, lr: 1e-4, epochs: 200, out: 'runs/cpc-stl10',
    },
  },
  /** YADIM on CIFAR-10: the AMDIM encoder at pl_bolts' CIFAR sizes, AMDIM's optimizer, batch 200, 200 epochs. */
  'yadim-cifar10': {
    summary: 'YADIM CIFAR-10: AMDIM encoder ndf 320, n_rkhs 1280, depth 10 (or --encoder resnet), final-map NCE, batch 200, Adam 2e-4, ' +
      '200 epochs; needs --data',
    requiresData: true,
    values: {
      method: 'yadim', format: 'cifar10', encoder: 'amdim', ndf: 320, rkhs: 1280, amdimDepth: 10, batchSize: 200, lr: 2.56e-4, epochs: 200,
      out: 'runs/yadim-cifar10',
    },
  },
  /** YADIM on STL-10: the 64 px AMDIM encoder on 96 px views at pl_bolts' STL sizes. */
  'yadim-stl10': {
    summary: 'YADIM STL-10: 64 px AMDIM encoder on 96 px views, ndf 192, n_rkhs 1536, depth 8, batch 200, Adam 2e-4, 200 epochs; ' +
      '--data <stl10_binary dir>',
    requiresData: true,
    values: {
      method: 'yadim', format: 'stl10', encoder: 'amdim', ndf: 192, rkhs: 1536, amdimDepth: 8, batchSize: 200, lr: 2.56e-4, epochs: 200,
      out: 'runs/yadim-stl10',
    },
  },
  /**
   * `npm run pretrain` with no arguments: the shipped 1,500 + 500 CIFAR-10 images at width 0.125,
   * then the kNN + linear evaluation with baselines. Sized for about 10 minutes on a 2-core machine
   * (lavapipe): the README gives the measured wall time.
   */
  demo: {
    summary: 'shipped data/cifar10-demo (1500 train / 500 test CIFAR-10 images): ResNet-18 width 0.125, batch 128, ' +
      'lr 1.0, wd 1e-4, T 0.5, 2 warm-up, 15 epochs, then kNN + linear evaluation with baselines; out runs/demo',
    requiresData: false,
    values: {
      method: 'simclr',
      data: [join(DEMO_DIR, 'data_batch_1.first1500.bin.gz')], testData: join(DEMO_DIR, 'test_batch.first500.bin.gz'),
      format: 'cifar10', depth: 18, stem: 'cifar', width: 0.125, batchSize: 128, lr: 1.0, weightDecay: 1e-4, temperature: 0.5,
      jitterStrength: 0.5, blurProb: 0, warmupEpochs: 2, epochs: 15, checkpointEvery: 5, out: 'runs/demo', evaluate: true,
    },
  },
};
