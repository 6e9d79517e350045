/**
 * The training configuration and its one schema. Every key of TrainConfig is described once in
 * CONFIG_SCHEMA (flag name, kind, range, which methods it applies to, help), and that one table
 * checks values from every entry point: command-line flags (strings, coerced by kind), a
 * `--config` JSON file and a run's `config.json` (JSON values, which must already have the right
 * type: "0.5" is not a number), and library calls (`resolveTrainConfig`). There is no second copy
 * of the rules.
 *
 * Precedence: common defaults < the method's defaults (simclr/methods/<name>.ts) < a preset <
 * `--config` < flags.
 */
import { EngineError } from '../engine/errors.js';
import { DATA_FORMATS, type DataFormat } from './data/formats.js';

export type MethodName = 'simclr' | 'moco' | 'byol' | 'amdim' | 'cpc' | 'yadim';
export const METHOD_NAMES: readonly MethodName[] = ['simclr', 'moco', 'byol', 'amdim', 'cpc', 'yadim'];
/** The methods whose encoder is a ResNet (depth, stem, width apply; YADIM's with --encoder resnet). */
const RESNET_METHODS: readonly MethodName[] = ['simclr', 'moco', 'byol', 'cpc', 'yadim'];
/** The methods with a projection head. */
const HEAD_METHODS: readonly MethodName[] = ['simclr', 'moco', 'byol'];
/** The methods with the AMDIM encoder (YADIM's by default). */
const AMDIM_METHODS: readonly MethodName[] = ['amdim', 'yadim'];
export type OptimizerName = 'lars' | 'sgd' | 'adam' | 'adamw';

/** A value per view: one number for both views, or [first view, second view]. */
export type PerView = number | readonly [number, number];

export interface TrainConfig {
  /** The contrastive method (simclr/methods/<name>.ts). */
  method: MethodName;
  /** Training data: CIFAR binary batch files, or one directory (STL-10, idx, PNG folders); see openSplits. */
  data: string[];
  /** Held-out split for the kNN monitor (a CIFAR file, or a directory for the directory formats). */
  testData: string | null;
  /** Data format of `data` / `testData` ('auto': detected). */
  format: DataFormat;
  /** Output directory: log.jsonl, checkpoints, latest.json, config.json, plot.png. */
  out: string;
  epochs: number;
  /** Images per step (each gives two views). */
  batchSize: number;
  /** ResNet depth: 18, 34 or 50. */
  depth: 18 | 34 | 50;
  /** 'cifar': 3x3 stride-1 conv, no max-pool; 'imagenet': 7x7/2 conv + max-pool. */
  stem: 'cifar' | 'imagenet';
  /** ResNet width multiplier. */
  width: number;
  optimizer: OptimizerName;
  /** Base learning rate, scaled by batchSize / 256 (linear scaling). */
  lr: number;
  weightDecay: number;
  /** Momentum of SGD and LARS. */
  momentum: number;
  /** Adam / AdamW beta1, beta2 (AMDIM's and CPC's recipes: 0.8, 0.999). */
  adamBetas: readonly [number, number];
  /** Adam / AdamW epsilon (AMDIM's recipe: 1e-7). */
  adamEps: number;
  /** LARS trust coefficient eta (official SimCLR and the BYOL paper: 1e-3; solo-learn's CIFAR recipes: 0.02). */
  larsEta: number;
  warmupEpochs: number;
  /** Checkpoint every N epochs (and always at the end). */
  checkpointEvery: number;
  seed: number;
  /** Continue from `<out>/latest.json`. */
  resume: boolean;
  /** Remove a previous run's files from `out` first (each is reported; other files are kept). */
  overwrite: boolean;
  /** Checkpoints kept in `out`: the newest N and the one latest.json names. */
  keepCheckpoints: number;
  backend: 'auto' | 'webgpu' | 'cpu';
  /** After training, the CLI evaluates the encoder (kNN, linear, baselines). */
  evaluate: boolean;
  /** Run the kNN monitor every N epochs (and after the last); it re-encodes the labelled train split. */
  knnEvery: number;
  /** Profile the run's second step (kernel time per op and shapes) and log the report. */
  profile: boolean;
  // ---- (1) augmentations, per view where views differ ----
  /** Random-resized-crop area range [min, max]. */
  cropScale: readonly [number, number];
  flipProb: number;
  /** Color-jitter strength s: brightness, contrast, saturation 0.8 s, hue 0.2 s (unless `jitter` is set). */
  jitterStrength: number;
  /** Explicit color-jitter [brightness, contrast, saturation, hue]; null: from jitterStrength. */
  jitter: readonly [number, number, number, number] | null;
  jitterProb: PerView;
  grayProb: PerView;
  blurProb: PerView;
  solarizeProb: PerView;
  /** Random translation with reflection padding (AMDIM, CPC): the largest shift in pixels per axis. */
  translate: number;
  translateProb: PerView;
  // ---- heads ----
  /** Dense layers of the projection head (SimCLR v1: 2, v2: 3). */
  headLayers: number;
  /** Hidden width of the head; null: the encoder's feature width. */
  headHidden: number | null;
  /** Output width of the projection head (CPC: of the target and prediction embeddings). */
  headOut: number;
  // ---- method options ----
  /** Softmax temperature of NT-Xent (SimCLR) and InfoNCE (MoCo). */
  temperature: number;
  /** MoCo: negative keys in the queue. */
  queueSize: number;
  /** MoCo: momentum m of the key encoder's moving average. */
  keyMomentum: number;
  /** MoCo: both views as queries (MoCo v2+). */
  symmetric: boolean;
  /** MoCo: batch-norm splits (single-device substitute for shuffle-BN); 1 = plain BN. */
  bnSplits: number;
  /** BYOL: tau_base of the target's moving average (tau rises to 1 by a cosine). */
  tauBase: number;
  /** BYOL: hidden width of the predictor. */
  predHidden: number;
  /** YADIM: the encoder, the AMDIM encoder or a ResNet (depth, stem, width). */
  encoder: 'amdim' | 'resnet';
  /** AMDIM encoder: base width ndf. */
  ndf: number;
  /** AMDIM encoder: embedding and representation width n_rkhs. */
  rkhs: number;
  /** AMDIM encoder: blocks per ConvResBlock (n_depth). */
  amdimDepth: number;
  /** AMDIM, YADIM: soft clip of the NCE scores (c tanh(s / c)); 0: none. */
  tclip: number;
  /** CPC: patch side and stride of the grid (CIFAR: 8 and 4, a 7x7 grid). */
  patchSize: number;
  patchStride: number;
  /** CPC: predictions of the rows 1..K below each context row. */
  predictSteps: number;
  /** CPC: residual blocks of the context network. */
  contextBlocks: number;
}

type Kind = 'string' | 'paths' | 'path' | 'int' | 'number' | 'bool' | 'range' | 'pair' | 'perView' | 'jitter';

export interface FieldSpec {
  key: keyof TrainConfig;
  flag: string;
  kind: Kind;
  help: string;
  /** Allowed values ('string' and 'int'). */
  choices?: readonly (string | number)[];
  /** Inclusive bounds of numbers (of every element of ranges and per-view values). */
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** May be null (JSON null, flag value 'none'). */
  nullable?: boolean;
  /** The methods this key applies to (absent: all). */
  methods?: readonly MethodName[];
  /** Shown in --help as the argument. */
  arg?: string;
  /** Not settable from the command line or --config (set by the program). */
  internal?: boolean;
}

const ALL_FORMATS = DATA_FORMATS as readonly string[];
const U32_MAX = 2 ** 32 - 1;

/** Every TrainConfig key, in --help order. */
export const CONFIG_SCHEMA: readonly FieldSpec[] = [
  { key: 'method', flag: 'method', kind: 'string', choices: METHOD_NAMES, help: 'contrastive method: simclr | moco (MoCo v2) | byol | amdim | cpc (CPC v2) | yadim' },
  { key: 'data', flag: 'data', kind: 'paths', arg: '<path[,path]>', help: 'training data: CIFAR binary file(s), comma-separated, or one directory (STL-10, idx, PNG folders)' },
  { key: 'testData', flag: 'test-data', kind: 'path', nullable: true, arg: '<path>', help: 'held-out split for the kNN monitor (a CIFAR file, or a directory)' },
  { key: 'format', flag: 'format', kind: 'string', choices: ALL_FORMATS, arg: '<name>', help: `data format: ${ALL_FORMATS.join(' | ')}` },
  { key: 'out', flag: 'out', kind: 'path', arg: '<dir>', help: 'output directory: log.jsonl, plot.png, checkpoints, latest.json' },
  { key: 'epochs', flag: 'epochs', kind: 'int', min: 1, max: 2 ** 31 - 1, help: 'training epochs' },
  { key: 'batchSize', flag: 'batch-size', kind: 'int', min: 2, max: 2 ** 20, help: 'images per step (2x views)' },
  { key: 'depth', flag: 'depth', kind: 'int', choices: [18, 34, 50], methods: RESNET_METHODS, help: 'ResNet depth: 18 | 34 | 50' },
  { key: 'stem', flag: 'stem', kind: 'string', choices: ['cifar', 'imagenet'], methods: RESNET_METHODS, help: 'ResNet stem: cifar (3x3/1, no max-pool) | imagenet (7x7/2 + max-pool)' },
  { key: 'width', flag: 'width', kind: 'number', above: 0, max: 64, methods: RESNET_METHODS, help: 'ResNet width multiplier' },
  { key: 'optimizer', flag: 'optimizer', kind: 'string', choices: ['lars', 'sgd', 'adam', 'adamw'], help: 'lars (BN and biases excluded) | sgd | adam | adamw' },
  { key: 'lr', flag: 'lr', kind: 'number', min: 0, max: 1e4, help: 'base learning rate (scaled by batch-size / 256)' },
  { key: 'weightDecay', flag: 'weight-decay', kind: 'number', min: 0, max: 1, help: 'weight decay' },
  { key: 'momentum', flag: 'momentum', kind: 'number', min: 0, max: 0.999999, help: 'momentum of SGD and LARS' },
  { key: 'adamBetas', flag: 'adam-betas', kind: 'pair', min: 0, max: 0.999999, arg: '<b1,b2>', help: 'Adam / AdamW beta1,beta2' },
  { key: 'adamEps', flag: 'adam-eps', kind: 'number', above: 0, max: 1, help: 'Adam / AdamW epsilon' },
  { key: 'larsEta', flag: 'lars-eta', kind: 'number', above: 0, max: 1, help: 'LARS trust coefficient eta' },
  { key: 'warmupEpochs', flag: 'warmup-epochs', kind: 'number', min: 0, max: 2 ** 31 - 1, help: 'linear warm-up epochs before the cosine decay' },
  { key: 'checkpointEvery', flag: 'checkpoint-every', kind: 'int', min: 1, max: 2 ** 31 - 1, help: 'checkpoint every N epochs (and at the end)' },
  { key: 'seed', flag: 'seed', kind: 'int', min: 0, max: U32_MAX, help: 'seed of init, loader and augmentations (0..2^32-1)' },
  { key: 'resume', flag: 'resume', kind: 'bool', help: 'continue the run in --out (latest.json, else the newest checkpoint that validates); with a larger --epochs, extend it' },
  { key: 'overwrite', flag: 'overwrite', kind: 'bool', help: 'remove a previous run\'s files from --out first (each is reported; other files are kept)' },
  { key: 'keepCheckpoints', flag: 'keep-checkpoints', kind: 'int', min: 1, max: 2 ** 31 - 1, help: 'checkpoints kept in --out: the newest N plus the one latest.json names' },
  { key: 'evaluate', flag: 'evaluate', kind: 'bool', help: 'after training: kNN and linear evaluation with baselines (npm run eval; --evaluate=false to skip)' },
  { key: 'backend', flag: 'backend', kind: 'string', choices: ['auto', 'webgpu', 'cpu'], help: 'auto | webgpu | cpu' },
  { key: 'knnEvery', flag: 'knn-every', kind: 'int', min: 1, max: 2 ** 31 - 1, help: 'kNN monitor every N epochs and after the last (it re-encodes the labelled train split; its seconds are logged)' },
  { key: 'profile', flag: 'profile', kind: 'bool', help: 'profile the second step: kernel time per op and shapes, dispatches (WebGPU; logged and printed)' },
  { key: 'cropScale', flag: 'crop-scale', kind: 'range', above: 0, max: 1, arg: '<min,max>', help: 'random-resized-crop area range' },
  { key: 'flipProb', flag: 'flip-prob', kind: 'number', min: 0, max: 1, help: 'horizontal-flip probability' },
  { key: 'jitterStrength', flag: 'jitter-strength', kind: 'number', min: 0, max: 2.5, help: 'color-jitter strength s (0.8 s brightness/contrast/saturation, 0.2 s hue)' },
  { key: 'jitter', flag: 'jitter', kind: 'jitter', nullable: true, arg: '<b,c,s,h|none>', help: 'explicit color jitter brightness,contrast,saturation,hue (overrides --jitter-strength)' },
  { key: 'jitterProb', flag: 'jitter-prob', kind: 'perView', min: 0, max: 1, arg: '<p[,p2]>', help: 'color-jitter probability (one value, or one per view)' },
  { key: 'grayProb', flag: 'gray-prob', kind: 'perView', min: 0, max: 1, arg: '<p[,p2]>', help: 'grayscale probability (one value, or one per view)' },
  { key: 'blurProb', flag: 'blur-prob', kind: 'perView', min: 0, max: 1, arg: '<p[,p2]>', help: 'Gaussian-blur probability (one value, or one per view)' },
  { key: 'solarizeProb', flag: 'solarize-prob', kind: 'perView', min: 0, max: 1, arg: '<p[,p2]>', help: 'solarization probability (one value, or one per view)' },
  { key: 'translate', flag: 'translate', kind: 'int', min: 0, max: 64, help: 'largest random translation in pixels per axis, reflection-padded (AMDIM, CPC)' },
  { key: 'translateProb', flag: 'translate-prob', kind: 'perView', min: 0, max: 1, arg: '<p[,p2]>', help: 'translation probability (one value, or one per view)' },
  { key: 'headLayers', flag: 'head-layers', kind: 'int', min: 1, max: 8, methods: HEAD_METHODS, help: 'dense layers of the projection head (SimCLR v1: 2, v2: 3)' },
  { key: 'headHidden', flag: 'head-hidden', kind: 'int', min: 1, max: 65536, nullable: true, methods: HEAD_METHODS, arg: '<n|none>', help: 'hidden width of the projection head (none: the encoder\'s feature width)' },
  { key: 'headOut', flag: 'head-out', kind: 'int', min: 1, max: 65536, methods: [...HEAD_METHODS, 'cpc'], help: 'output width of the projection head (CPC: of the targets and predictions)' },
  { key: 'temperature', flag: 'temperature', kind: 'number', min: 1e-3, max: 100, methods: ['simclr', 'moco'], help: 'softmax temperature (NT-Xent / InfoNCE)' },
  { key: 'queueSize', flag: 'queue-size', kind: 'int', min: 1, max: 2 ** 20, methods: ['moco'], help: 'negative keys in the queue (K)' },
  { key: 'keyMomentum', flag: 'key-momentum', kind: 'number', min: 0, max: 1, methods: ['moco'], help: 'momentum m of the key encoder (EMA of the query side)' },
  { key: 'symmetric', flag: 'symmetric', kind: 'bool', methods: ['moco'], help: 'both views as queries, loss averaged (MoCo v2+)' },
  { key: 'bnSplits', flag: 'bn-splits', kind: 'int', min: 1, max: 1024, methods: ['moco'], help: 'batch-norm splits in both encoders (single-device shuffle-BN substitute; 1 = plain BN)' },
  { key: 'tauBase', flag: 'tau-base', kind: 'number', min: 0, max: 1, methods: ['byol'], help: 'tau_base of the target EMA (rises to 1 by a cosine)' },
  { key: 'predHidden', flag: 'pred-hidden', kind: 'int', min: 1, max: 65536, methods: ['byol'], help: 'hidden width of the predictor' },
  { key: 'encoder', flag: 'encoder', kind: 'string', choices: ['amdim', 'resnet'], methods: ['yadim'], help: 'the encoder: amdim (--ndf, --rkhs, --amdim-depth) | resnet (--depth, --stem, --width)' },
  { key: 'ndf', flag: 'ndf', kind: 'int', min: 1, max: 4096, methods: AMDIM_METHODS, help: 'AMDIM encoder base width (ndf)' },
  { key: 'rkhs', flag: 'rkhs', kind: 'int', min: 1, max: 65536, methods: AMDIM_METHODS, help: 'AMDIM encoder embedding width (n_rkhs), the representation\'s width' },
  { key: 'amdimDepth', flag: 'amdim-depth', kind: 'int', min: 1, max: 64, methods: AMDIM_METHODS, help: 'AMDIM encoder blocks per stage (n_depth)' },
  { key: 'tclip', flag: 'tclip', kind: 'number', min: 0, max: 1e4, methods: AMDIM_METHODS, help: 'soft clip c of the NCE scores, c tanh(s / c) (0: none)' },
  { key: 'patchSize', flag: 'patch-size', kind: 'int', min: 1, max: 4096, methods: ['cpc'], help: 'patch side of the grid' },
  { key: 'patchStride', flag: 'patch-stride', kind: 'int', min: 1, max: 4096, methods: ['cpc'], help: 'patch stride of the grid (half the side: overlapping patches)' },
  { key: 'predictSteps', flag: 'predict-steps', kind: 'int', min: 1, max: 64, methods: ['cpc'], help: 'predict the rows 1..K below each context row' },
  { key: 'contextBlocks', flag: 'context-blocks', kind: 'int', min: 1, max: 64, methods: ['cpc'], help: 'residual blocks of the masked context network' },
];

export const SCHEMA_BY_KEY: ReadonlyMap<string, FieldSpec> = new Map(CONFIG_SCHEMA.map((f) => [f.key, f]));
export const SCHEMA_BY_FLAG: ReadonlyMap<string, FieldSpec> = new Map(CONFIG_SCHEMA.map((f) => [f.flag, f]));

/** The defaults every method shares; each method's `defaults` override the rest. */
export const COMMON_DEFAULTS: Omit<TrainConfig, 'data' | 'out'> = {
  method: 'simclr', testData: null, format: 'auto', epochs: 100, batchSize: 256, depth: 18, stem: 'cifar', width: 1,
  optimizer: 'lars', lr: 0.3, weightDecay: 1e-6, momentum: 0.9, adamBetas: [0.9, 0.999], adamEps: 1e-8, larsEta: 1e-3, warmupEpochs: 10,
  checkpointEvery: 10, seed: 0, resume: false, overwrite: false, keepCheckpoints: 3, backend: 'auto', evaluate: false, knnEvery: 1, profile: false,
  cropScale: [0.08, 1], flipProb: 0.5, jitterStrength: 0.5, jitter: null, jitterProb: 0.8, grayProb: 0.2, blurProb: 0, solarizeProb: 0,
  translate: 0, translateProb: 0,
  headLayers: 3, headHidden: null, headOut: 128,
  temperature: 0.5, queueSize: 4096, keyMomentum: 0.999, symmetric: false, bnSplits: 8, tauBase: 0.996, predHidden: 4096,
  encoder: 'amdim', ndf: 320, rkhs: 1280, amdimDepth: 10, tclip: 20, patchSize: 8, patchStride: 4, predictSteps: 3, contextBlocks: 5,
};

/** A configuration value that breaks the schema; the message says where it came from (a flag, a file). */
export class ConfigError extends EngineError {
  constructor(readonly detail: string) { super('config', detail); }
}

/** Where a value came from, for messages: '--lr', 'config.json "lr"'. */
export type Origin = { flag: true } | { file: string };

function label(f: FieldSpec, o: Origin): string {
  return 'flag' in o ? `--${f.flag}` : `${o.file}: "${f.key}"`;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number typed on the command line: decimal syntax only (no hex, no 'Infinity', no empty string). */
function parseNumber(f: FieldSpec, s: string): number {
  const t = s.trim();
  if (!DECIMAL.test(t)) throw new ConfigError(`--${f.flag} needs ${f.kind === 'int' ? 'an integer' : 'a number'} in decimal notation, got '${s}'`);
  return Number(t);
}

/** The value of a flag from its text, typed by the schema (then checked by checkValue). */
export function parseFlagValue(f: FieldSpec, s: string): unknown {
  if (f.nullable && s === 'none') return null;
  switch (f.kind) {
    case 'string': case 'path': return s;
    case 'paths': return s.split(',').filter((x) => x.length > 0);
    case 'bool':
      if (s === 'true') return true;
      if (s === 'false') return false;
      throw new ConfigError(`--${f.flag} takes no value (or =true / =false), got '${s}'`);
    case 'int': case 'number': return parseNumber(f, s);
    case 'range': case 'pair': case 'perView': case 'jitter': {
      const parts = s.split(',').map((p) => parseNumber(f, p));
      return f.kind === 'perView' && parts.length === 1 ? parts[0] : parts;
    }
  }
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : v === null ? 'null' : Array.isArray(v) ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

/**
 * Checks one value against its field (type first, then range) and returns it; `o` names the
 * origin in the message. Flags arrive already typed by parseFlagValue, JSON values as they are.
 */
export function checkValue(f: FieldSpec, v: unknown, o: Origin): unknown {
  const where = label(f, o);
  const fail = (what: string): never => { throw new ConfigError(`${where} must be ${what}, got ${describe(v)}`); };
  if (v === null) { if (f.nullable) return null; fail(f.kind === 'path' ? 'a path' : 'set (null is not allowed)'); }
  const num = (x: unknown, what: string): number => {
    if (typeof x !== 'number' || !Number.isFinite(x)) return fail(what);
    if (f.kind === 'int' && !Number.isInteger(x)) return fail(what);
    const { min, max, above } = f;
    if ((min !== undefined && x < min) || (max !== undefined && x > max) || (above !== undefined && !(x > above))) {
      const lo = above !== undefined ? `> ${above}` : min !== undefined ? `>= ${min}` : '';
      const hi = max !== undefined ? `<= ${max}` : '';
      return fail(`${what} ${[lo, hi].filter(Boolean).join(' and ')}`);
    }
    return x;
  };
  switch (f.kind) {
    case 'string':
      if (typeof v !== 'string') return fail(f.choices ? `one of ${f.choices.join(', ')}` : 'a string');
      if (f.choices && !f.choices.includes(v)) return fail(`one of ${f.choices.join(', ')}`);
      return v;
    case 'path':
      if (typeof v !== 'string' || v === '') return fail('a non-empty path');
      return v;
    case 'paths': {
      const arr = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(arr) || arr.length === 0 || !arr.every((x) => typeof x === 'string' && x !== '')) return fail('a path or a non-empty list of paths');
      return [...arr];
    }
    case 'bool':
      if (typeof v !== 'boolean') return fail('true or false');
      return v;
    case 'int': {
      const n = num(v, 'an integer');
      if (f.choices && !f.choices.includes(n)) return fail(`one of ${f.choices.join(', ')}`);
      return n;
    }
    case 'number': return num(v, 'a number');
    case 'range': {
      if (!Array.isArray(v) || v.length !== 2) return fail('two numbers min,max');
      const [a, b] = v.map((x) => num(x, 'two numbers min,max each'));
      if (a > b) return fail('min <= max');
      return [a, b];
    }
    case 'pair': {
      if (!Array.isArray(v) || v.length !== 2) return fail('two numbers a,b');
      return v.map((x) => num(x, 'two numbers a,b each'));
    }
    case 'perView': {
      if (Array.isArray(v)) {
        if (v.length !== 2) return fail('one value or two (one per view)');
        return v.map((x) => num(x, 'a probability')) as [number, number];
      }
      return num(v, 'a probability');
    }
    case 'jitter': {
      if (!Array.isArray(v) || v.length !== 4) return fail('four numbers brightness,contrast,saturation,hue');
      const q = v.map((x) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : fail('four numbers >= 0')));
      if (q[3] > 0.5) return fail('a hue <= 0.5');
      return q;
    }
  }
}

/** The value of `pv` for view 0 or 1. */
export function perView(pv: PerView, view: 0 | 1): number {
  return typeof pv === 'number' ? pv : pv[view];
}

/**
 * Checks a whole configuration object from a JSON file (or a library call): unknown keys, keys of
 * other methods and wrong types are ConfigErrors naming the key. Returns the checked values.
 */
export function checkConfigObject(obj: unknown, file: string, method: MethodName | null): Partial<TrainConfig> {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(`${file}: expected a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const f = SCHEMA_BY_KEY.get(k);
    if (!f) throw new ConfigError(`${file}: unknown key "${k}"`);
    out[k] = checkValue(f, v, { file });
  }
  const m = (out.method as MethodName | undefined) ?? method;
  if (m) checkMethodKeys(out, m, (f) => `${file}: "${f.key}"`);
  return out as Partial<TrainConfig>;
}

/** Throws when `given` sets a key that does not apply to `method`. */
export function checkMethodKeys(given: Record<string, unknown>, method: MethodName, name: (f: FieldSpec) => string): void {
  for (const k of Object.keys(given)) {
    const f = SCHEMA_BY_KEY.get(k);
    if (f?.methods && !f.methods.includes(method)) {
      throw new ConfigError(`${name(f)} applies to ${f.methods.map((m) => `--method ${m}`).join(' or ')} only, not --method ${method}`);
    }
  }
}

/** Checks every field of a complete configuration (a library caller's object, say). */
export function validateConfig(c: TrainConfig, origin = 'config'): void {
  for (const f of CONFIG_SCHEMA) {
    if (!(f.key in c)) throw new ConfigError(`${origin}: "${f.key}" is missing`);
    checkValue(f, c[f.key], { file: origin });
  }
  for (const k of Object.keys(c)) if (!SCHEMA_BY_KEY.has(k)) throw new ConfigError(`${origin}: unknown key "${k}"`);
}

/** The configuration as config.json stores it: every key, in schema order (resume and overwrite, which say how this start went, dropped). */
export function configJson(c: TrainConfig, format: Exclude<DataFormat, 'auto'>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of CONFIG_SCHEMA) if (f.key !== 'resume' && f.key !== 'overwrite') o[f.key] = c[f.key];
  o.format = format;
  return o;
}

/**
 * Values every run had before the key existed. checkedConfig leaves a key out while it has this
 * value, so checkpoints written before the key existed still resume; any other value is a mismatch.
 */
const LEGACY: Partial<Record<keyof TrainConfig, unknown>> = {
  format: 'cifar10', depth: 18, stem: 'cifar', jitterStrength: 0.5, blurProb: 0,
  method: 'simclr', optimizer: 'lars', momentum: 0.9, larsEta: 1e-3, cropScale: [0.08, 1], flipProb: 0.5, jitter: null, jitterProb: 0.8,
  grayProb: 0.2, solarizeProb: 0, headLayers: 3, headHidden: null, headOut: 128,
  adamBetas: [0.9, 0.999], adamEps: 1e-8, translate: 0, translateProb: 0,
};
/**
 * Keys a resumed run may change: where files go, how it runs, what happens after training, and the
 * number of epochs (a larger one extends the run: the schedule then runs over the new total).
 */
const NOT_CHECKED = new Set<keyof TrainConfig>([
  'out', 'resume', 'overwrite', 'keepCheckpoints', 'backend', 'testData', 'checkpointEvery', 'evaluate', 'epochs', 'knnEvery', 'profile',
]);

/**
 * The config fields a checkpoint must agree with to be resumed, with the data format as detected;
 * keys of other methods are left out, and keys at their LEGACY value too.
 */
export function checkedConfig(c: TrainConfig, format: Exclude<DataFormat, 'auto'>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const now = { ...c, format };
  for (const f of CONFIG_SCHEMA) {
    if (NOT_CHECKED.has(f.key) || (f.methods && !f.methods.includes(c.method))) continue;
    const v = now[f.key];
    if (f.key in LEGACY && JSON.stringify(v) === JSON.stringify(LEGACY[f.key])) continue;
    o[f.key] = v;
  }
  return o;
}

/**
 * A checkpoint's stored checked config as checkedConfig would give it today: keys a resumed run may
 * change are dropped, since checkpoints written before they became changeable (epochs) hold them.
 */
export function storedCheckedConfig(stored: unknown): unknown {
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return stored;
  return Object.fromEntries(Object.entries(stored).filter(([k]) => !NOT_CHECKED.has(k as keyof TrainConfig)));
}

/** What the command line said: typed, checked values by key, and the flags that are not config keys. */
export interface ParsedArgs {
  values: Partial<TrainConfig>;
  preset: string | null;
  configFile: string | null;
  help: boolean;
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name` / `--name=false` against the schema
 * (plus --preset, --config, --help). Unknown flags, missing values and values that break the
 * schema are ConfigErrors naming the flag. Keys of other methods are checked by the caller once
 * the method is known (checkMethodKeys).
 */
export function parseConfigArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { values: {}, preset: null, configFile: null, help: false };
  const values = out.values as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { out.help = true; continue; }
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument '${a}'`);
    let name = a.slice(2);
    let text: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) { text = name.slice(eq + 1); name = name.slice(0, eq); }
    const f = SCHEMA_BY_FLAG.get(name);
    const extra = name === 'preset' || name === 'config';
    if (!f && !extra) throw new ConfigError(`unknown flag --${name} (see --help)`);
    if (f?.kind === 'bool') { values[f.key] = checkValue(f, text === undefined ? true : parseFlagValue(f, text), { flag: true }); continue; }
    if (text === undefined) {
      text = argv[++i];
      if (text === undefined) throw new ConfigError(`--${name} needs a value`);
    }
    if (name === 'preset') out.preset = text;
    else if (name === 'config') out.configFile = text;
    else values[f!.key] = checkValue(f!, parseFlagValue(f!, text), { flag: true });
  }
  return out;
}

/** A default as --help shows it: small numbers as 1e-6, pairs as a,b, null as none. */
export function shownValue(v: unknown): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.map(shownValue).join(',');
  if (typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-3) return v.toExponential();
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** One --help row per field: '  --name <arg>   help (default: x)'. */
export function fieldHelp(f: FieldSpec, defaults: Record<string, unknown>, pad = 30): string {
  const arg = f.kind === 'bool' ? '' : ` ${f.arg ?? (f.choices ? `<${f.choices.join('|')}>` : '<value>')}`;
  const d = defaults[f.key];
  const def = d === undefined ? ' (required unless the preset gives it)' : ` (default: ${shownValue(d)})`;
  return `  --${f.flag}${arg}`.padEnd(pad) + f.help + def;
}
