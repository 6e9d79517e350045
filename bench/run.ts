/**
 * `npm run bench [-- --quick] [-- --only=matmul,conv,resnet,ntxent,optim,augment,methods,step,pretrain (any)] [-- --variants]
 * [-- --conv-variants] [-- --samples=N] [-- --conv-samples=N] [-- --conv-shapes=0,4] [-- --conv-width=0.25] [-- --profile]
 * [-- --widths=0.25,0.5,1] [-- --batch=256] [-- --step-samples=3] [-- --no-supervised]
 * [-- --run-data=<dir>] [-- --run-epochs=30] [-- --run-width=0.25]`.
 * Matmul, conv and ResNet sections: this engine against @tensorflow/tfjs-backend-webgpu on the same
 * Dawn adapter in one process, interleaved per sample (other load on the machine hits both alike);
 * matmul also prints the machine's FMA peak the bench assumes and compares with PyTorch. NT-Xent,
 * optimizer and step sections: against PyTorch on the same machine (bench/torch_ref.py through
 * bench/torch.ts, /usr/bin/python3), alternating; they say so and report ours alone without torch.
 * Methods section (bench/methods.ts): one training step of each method (SimCLR, MoCo v2, BYOL, AMDIM,
 * CPC v2, YADIM), the first three with the same encoder and batch, and the after-step hooks' share.
 * Pretrain section (bench/pretrain.ts; only with --only=pretrain): a whole SimCLR run from CIFAR
 * files (default the shared genuine subset, 30 epochs, width 0.25, batch 256) against the same run
 * in PyTorch, alternating epoch by epoch.
 * Each section writes bench/results/<section>-<timestamp>.json and <section>-latest.json (matmul:
 * matmul-<timestamp>.json and latest.json). tfjs and torch are loaded only by sections that use them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus as cpus_, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dawnGpuObject } from '../engine/webgpu/device.js';
import { matmulKernelFor } from '../engine/ops/matmul.js';
import { OPT_IN_SECTIONS, gflops, log, median, parseArgs, repsFor, timeCalls, writeResults, type BenchSection } from './common.js';
import { createBackend, oursMatmul } from './ours.js';
import { loadTfjs } from './tfjs.js';
import { kernelName, measureVariants, type VariantResult } from './variants.js';
import { measureWait, type WaitResult } from './wait.js';
import { QUICK_SHAPES, RESNET18_CIFAR, atWidth, convKernelName, convTable, measureConv, measureConvVariants, shapeName } from './conv.js';
import { convKernelFor, hasConvDirect } from '../engine/ops/conv.js';
import { benchResnetStep } from './resnet.js';
import { benchAugment } from './augment.js';
import { benchNtXent, ntXentTable } from './ntxent.js';
import { benchOptimizers, optimTable } from './optim.js';
import { benchMethods } from './methods.js';
import { benchStep, STEP_WARMUP, stepTable, type StepCase, type StepRecord } from './step.js';
import { TORCH_PROTOCOL, TorchRef } from './torch.js';
import { benchPretrainRun, pretrainTable } from './pretrain.js';
import { formatProfile } from '../engine/webgpu/profiler.js';

const FULL: [number, number, number][] = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [4096, 512, 512]];
const QUICK: [number, number, number][] = [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024]];
/** Aim for samples of about this long (several calls per sample at small sizes). */
const SAMPLE_MS = 250;
/** Optimizer steps before the optimizer samples: state, pipelines and V8's optimized encoding JS all settled. */
const OPTIM_WARMUP = 20;

interface Side { ms: number; gflops: number; samplesMs: number[]; callsPerSample: number }
interface MatmulRecord {
  M: number; K: number; N: number; ours: Side; tfjs: Side; ratio: number;
  /** PyTorch (torch.mm, its faster thread count) on the same machine, when available. */
  torch: { ms: number; gflops: number; samplesMs: number[]; threads: number } | null;
  /** Our GFLOP/s as a fraction of the assumed FMA peak (null on a GPU, whose peak the bench cannot know). */
  oursOfPeak: number | null;
}

const args = parseArgs(process.argv.slice(2));
const sizes = args.quick ? QUICK : FULL;

const loadBefore = loadavg()[0];
const backend = await createBackend();
/** The backend's own per-device choice (sleep on CPU adapters, spin on GPUs); tfjs waits alike. */
const WAIT = backend.wait;
/** What every section's JSON records of the adapter (tfjs's too where the section ran it). */
const adapterRecord = (tfjsAdapter?: unknown) => ({
  ours: backend.label, info: backend.adapterInfo, isCpuAdapter: backend.isCpuAdapter, ...(tfjsAdapter === undefined ? {} : { tfjs: tfjsAdapter }),
});
/** PyTorch's version and BLAS (with its build config where asked), or why it is unavailable. */
const torchRecord = (torch: TorchRef | null, reason: string, withConfig = false) =>
  (torch ? { version: torch.version, device: torch.device, blas: torch.blas, protocol: TORCH_PROTOCOL, ...(withConfig ? { config: torch.config } : {}) } : { unavailable: reason });
/** The 1-minute load average before a section and now: other processes share these cores. */
const loadRecord = (before: number) => ({ before, after: loadavg()[0] });
const kernel = kernelName(matmulKernelFor(backend));
log(`adapter: ${backend.label}${backend.isCpuAdapter ? ' (CPU adapter)' : ''}`);
log(`our kernel on this device: ${kernel}`);
let tfjsHandle: Awaited<ReturnType<typeof loadTfjs>> | null = null;
/** tfjs-webgpu on the engine's GPU object, loaded by the first section that compares with it. */
async function getTfjs() {
  if (tfjsHandle) return tfjsHandle;
  const gpuObject = dawnGpuObject();
  if (!gpuObject) throw new Error('bench: expected the engine to hold Dawn\'s GPU object (Node)');
  tfjsHandle = await loadTfjs(gpuObject, WAIT);
  log(`tfjs-backend-webgpu on the same GPU object, adapter: ${tfjsHandle.adapter}`);
  return tfjsHandle;
}
const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });

/**
 * The FMA peak the matmul section measures against: cores x 8 f32 lanes (256-bit vectors, what
 * lavapipe emits) x 2 FMA units x 2 flops x the clock os.cpus() (or /proc/cpuinfo) reports. Lavapipe lowers fma to a
 * multiply and an add (Mesa's gallivm sets lower_ffma32), so its own ceiling is half of this.
 */
function fmaPeak(): { gflops: number; cores: number; mhz: number; text: string } {
  const cpus = cpus_();
  // VMs often report speed 0; /proc/cpuinfo still has the nominal clock
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  let mhz = cpus[0]?.speed ?? 0;
  if (!mhz) mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(cpuinfo)?.[1] ?? 0);
  const gflopsPeak = (cpus.length * 8 * 2 * 2 * mhz) / 1000;
  // PyTorch's BLAS (OpenBLAS) uses 512-bit vectors where the CPU has them, and then passes the 8-lane figure
  const avx512 = /\bavx512f\b/.test(cpuinfo);
  return {
    gflops: gflopsPeak, cores: cpus.length, mhz,
    text: `${gflopsPeak.toFixed(0)} GFLOP/s (${cpus.length} cores x 8 lanes x 2 FMA units x 2 flops x ${mhz} MHz; lavapipe, which lowers fma to mul + add, can reach at most half: ${(gflopsPeak / 2).toFixed(0)})`
      + (avx512 ? `; this CPU has AVX-512, whose 16 lanes double the peak for code that uses them (${(2 * gflopsPeak).toFixed(0)} GFLOP/s; lavapipe emits 256-bit vectors)` : ''),
  };
}

/** The CPU capability line of torch.__config__.show() ("AVX2", "AVX512"). */
const TORCH_CAPABILITY = (config: string) => /CPU capability usage: (\S+)/.exec(config)?.[1] ?? 'CPU';

const section = (name: BenchSection) => (args.only === null ? !OPT_IN_SECTIONS.includes(name) : args.only.includes(name));

if (section('matmul')) {
  const tfjs = await getTfjs();
  const { torch, reason: torchReason } = await TorchRef.start();
  // the CPU's peak means nothing on a GPU adapter, and WebGPU does not say what a GPU's is
  const peak = backend.isCpuAdapter ? fmaPeak() : null;
  log(`assumed FMA peak: ${peak ? peak.text : 'none (a GPU adapter: compare GFLOP/s with the GPU\'s f32 peak by hand)'}`);
  log(`sizes (M x K x N): ${sizes.map((s) => s.join('x')).join(', ')}; median of ${args.samples} samples, ours, tfjs${torch ? ' and PyTorch' : ''} alternating; both wait with '${WAIT}'${torch ? '' : ` (PyTorch unavailable: ${torchReason})`}`);

  const records: MatmulRecord[] = [];
  for (const [M, K, N] of sizes) {
    const flop = 2 * M * K * N;
    const ours = oursMatmul(backend, M, K, N);
    const tf = tfjs.matmul(M, K, N);
    process.stdout.write(`${M}x${K}x${N}: warm-up`);
    // warm-up: pipelines compile, buffers settle; its duration sizes the samples
    await timeCalls(ours.run, ours.sync, 1);
    await timeCalls(tf.run, tf.sync, 1);
    const oursReps = repsFor(await timeCalls(ours.run, ours.sync, 1), SAMPLE_MS);
    const tfReps = repsFor(await timeCalls(tf.run, tf.sync, 1), SAMPLE_MS);
    process.stdout.write(`, sampling (${oursReps} and ${tfReps} calls per sample) `);
    let threads = 1;
    if (torch && M === K && K === N) {
      await torch.setup('matmul', { n: M });
      threads = (await torch.pickThreads()).threads;
    }
    const t: [number[], number[], number[]] = [[], [], []];
    for (let s = 0; s < args.samples; s++) {
      t[0].push(await timeCalls(ours.run, ours.sync, oursReps));
      t[1].push(await timeCalls(tf.run, tf.sync, tfReps));
      if (torch && M === K && K === N) t[2].push((await torch.run()).ms);
      process.stdout.write('.');
    }
    ours.dispose();
    tf.dispose();
    const side = (xs: number[], reps: number): Side => ({ ms: median(xs), gflops: gflops(flop, median(xs)), samplesMs: xs, callsPerSample: reps });
    const r: MatmulRecord = {
      M, K, N, ours: side(t[0], oursReps), tfjs: side(t[1], tfReps), ratio: 0, oursOfPeak: 0,
      torch: t[2].length ? { ms: median(t[2]), gflops: gflops(flop, median(t[2])), samplesMs: t[2], threads } : null,
    };
    r.ratio = r.ours.gflops / r.tfjs.gflops;
    r.oursOfPeak = peak ? r.ours.gflops / peak.gflops : null;
    records.push(r);
    process.stdout.write(` ours ${r.ours.gflops.toFixed(2)}, tfjs ${r.tfjs.gflops.toFixed(2)}${r.torch ? `, PyTorch ${r.torch.gflops.toFixed(1)}` : ''} GFLOP/s\n`);
  }

  const waits: WaitResult[] = await measureWait(1024, args.quick ? 4 : 8, 5);

  let variants: VariantResult[] = [];
  if (args.variants) variants = await measureVariants(backend, [[1024, 1024, 1024]], 5);

  // ---- report ------------------------------------------------------------------------------------
  const pad = (s: string, n: number) => s.padStart(n);
  log('');
  log(`matmul f32, ${backend.label}, ${new Date().toISOString()} (load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
  if (peak) log(`assumed FMA peak ${peak.text}`);
  log(`${'M x K x N'.padEnd(16)}${pad('ours ms', 10)}${pad('GFLOP/s', 10)}${pad('of peak', 9)}${pad('tfjs ms', 10)}${pad('GFLOP/s', 10)}${pad('ours/tfjs', 11)}${pad('PT GFLOP/s', 12)}`);
  for (const r of records) {
    log(`${`${r.M}x${r.K}x${r.N}`.padEnd(16)}${pad(r.ours.ms.toFixed(2), 10)}${pad(r.ours.gflops.toFixed(2), 10)}${pad(r.oursOfPeak === null ? '-' : (100 * r.oursOfPeak).toFixed(0) + ' %', 9)}${pad(r.tfjs.ms.toFixed(2), 10)}${pad(r.tfjs.gflops.toFixed(2), 10)}${pad(r.ratio.toFixed(2) + 'x', 11)}${pad(r.torch ? r.torch.gflops.toFixed(1) : '-', 12)}`);
  }
  torch?.close();
  for (const w of waits) {
    log(`wait (${w.mode}, ${w.size}^2): sleep ${w.sleep.msPerMatmul.toFixed(1)} ms, spin ${w.spin.msPerMatmul.toFixed(1)} ms per matmul -> ${w.faster} is faster (spin/sleep ${w.spinOverSleep.toFixed(2)})`);
  }

  const date = new Date().toISOString();
  const out = {
    benchmark: 'matmul f32',
    date,
    adapter: adapterRecord(tfjs.adapter),
    ourKernel: kernel,
    fmaPeak: peak,
    pytorch: torchRecord(torch, torchReason),
    waitStrategyUsed: WAIT,
    quick: args.quick,
    loadAverage: loadRecord(loadBefore),
    samples: args.samples,
    method: 'per size: one warm-up call each, then samples alternating ours/tfjs; a sample records calls back to back and waits for the queue (ours: backend.sync(); tfjs: submit its encoder, then queue.onSubmittedWorkDone()); ms = median per call',
    results: records,
    waitStrategy: waits,
    variants,
  };
  const file = `${dir}matmul-${date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  writeFileSync(`${dir}latest.json`, JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${file} and bench/results/latest.json`);
}

if (section('conv')) {
  const tfjs = await getTfjs();
  const N = args.quick ? 8 : 32;
  const allShapes = atWidth(args.quick ? QUICK_SHAPES : RESNET18_CIFAR, args.convWidth);
  const shapes = args.convShapes ? args.convShapes.map((i) => allShapes[i]).filter((s) => s !== undefined) : allShapes;
  const convKernel = convKernelName(convKernelFor(backend)) + (hasConvDirect(backend) ? ', conv_direct.wgsl where a shape fits it' : '');
  log('');
  log(`conv2d NCHW (ours, kernel: ${convKernel}) vs tfjs-webgpu NHWC, ResNet-18 x${args.convWidth}, batch ${N}, ${shapes.length} shapes x 3 kernels, median of ${args.convSamples} samples, alternating`);
  const loadConv = loadavg()[0];
  const convRecords = await measureConv(backend, tfjs.tf, tfjs.sync, N, shapes, args.convSamples);
  const convVariants = args.convVariants ? await measureConvVariants(backend, N, (args.convShapes ? shapes.slice(0, 2) : [shapes[1], shapes[shapes.length - 1]]), args.convSamples) : [];
  log('');
  log(`conv2d f32, batch ${N}, ${backend.label}, ${new Date().toISOString()} (load average ${loadConv.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
  for (const l of convTable(convRecords)) log(l);
  const date = new Date().toISOString();
  const out = {
    benchmark: `conv2d f32 (CIFAR-stem ResNet-18 conv shapes, width ${args.convWidth})`,
    date,
    adapter: adapterRecord(tfjs.adapter),
    ourKernel: convKernel,
    batch: N,
    width: args.convWidth,
    shapes: shapes.map(shapeName),
    quick: args.quick,
    loadAverage: loadRecord(loadConv),
    samples: args.convSamples,
    method: 'per shape and kernel: one warm-up call each, then samples alternating ours/tfjs; a sample records calls back to back and waits for the queue; ms = median per call; GFLOP/s = 2*N*O*Ho*Wo*C*KH*KW / time for each of the three kernels. Ours: NCHW conv2d / conv2dBackwardInput / conv2dBackwardWeight. tfjs: NHWC tf.conv2d and the Conv2DBackpropInput / Conv2DBackpropFilter kernels via engine().runKernel.',
    results: convRecords,
    variants: convVariants,
  };
  const file = `${dir}conv-${date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  writeFileSync(`${dir}conv-latest.json`, JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${file} and bench/results/conv-latest.json`);
}

if (section('resnet')) {
  const tfjs = await getTfjs();
  // tfjs computes gradients only once the layers package has registered them.
  await import('@tensorflow/tfjs-layers');
  const batch = args.quick ? 8 : 32;
  const samples = args.quick ? 2 : 3;
  log('');
  log(`ResNet-18 (CIFAR stem) training step, batch ${batch}: forward, cross-entropy, backward, momentum SGD; ours vs tfjs-webgpu, median of ${samples}, alternating`);
  const loadBefore = loadavg()[0];
  const r = await benchResnetStep(backend, tfjs, tfjs.sync, { batch, width: 1, samples, progress: (m) => log(`  ${m}`) });
  log('');
  log(`model              batch  ours s/step  ours img/s  tfjs s/step  tfjs img/s  speed-up`);
  log(`${r.model.padEnd(18)} ${String(batch).padStart(5)} ${r.ours.secondsPerStep.toFixed(2).padStart(12)} ${r.ours.imagesPerSecond.toFixed(1).padStart(11)} ${r.tfjs.secondsPerStep.toFixed(2).padStart(12)} ${r.tfjs.imagesPerSecond.toFixed(2).padStart(11)} ${(r.ratio.toFixed(2) + 'x').padStart(9)}`);
  const date = new Date().toISOString();
  const out = {
    benchmark: 'ResNet-18 (CIFAR stem) training step',
    date,
    adapter: adapterRecord(tfjs.adapter),
    loadAverage: loadRecord(loadBefore),
    method: 'one warm-up step each, then steps alternating ours/tfjs; a step = forward (BN in training mode), mean cross-entropy, backward, SGD update, then wait for the queue. Ours NCHW with momentum SGD; tfjs NHWC with tf.variableGrads and plain SGD. ratio = tfjs seconds / ours seconds.',
    result: r,
  };
  const file = `${dir}resnet-${date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  writeFileSync(`${dir}resnet-latest.json`, JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${file} and bench/results/resnet-latest.json`);
}

if (section('ntxent')) {
  const sizes = args.quick ? [512, 2048] : [512, 2048, 8192, 16384];
  const d = 128, temperature = 0.5;
  const samples = (rows: number) => (rows >= 8192 ? 3 : 5);
  const { torch, reason } = await TorchRef.start();
  log('');
  log(`NT-Xent forward + backward, d = ${d}, tau = ${temperature}, 2N = ${sizes.join(', ')}: ntXent (chunked) vs the materialized-logits composition${torch ? ` and PyTorch ${torch.version}` : ` (PyTorch unavailable: ${reason})`}, median of 5 (3 at 2N >= 8192) after a warm-up, alternating; peak = max live GPU bytes during the call above those live before it`);
  const loadBefore = loadavg()[0];
  const records = await benchNtXent(backend, torch, { sizes, d, temperature, samples, progress: (m) => log(`  ${m}`) });
  torch?.close();
  log('');
  log(`NT-Xent fwd+bwd, ${backend.label}, ${new Date().toISOString()} (load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
  for (const l of ntXentTable(records)) log(l);
  const date = new Date().toISOString();
  const file = writeResults(dir, 'ntxent', {
    benchmark: 'NT-Xent forward + backward (chunked kernels vs materialized logits vs PyTorch)',
    date,
    adapter: adapterRecord(),
    pytorch: torchRecord(torch, reason),
    limits: { maxStorageBufferBindingSize: backend.device.limits.maxStorageBufferBindingSize, maxBufferSize: backend.device.limits.maxBufferSize },
    loadAverage: loadRecord(loadBefore),
    method: 'z = randn [2N, d] with requiresGrad; a call = loss forward, backward(loss) to dz, then backend.sync(); ms = median of the timed calls after one warm-up call each, ours, naive and PyTorch alternating. Ours: ntXent(z, {temperature}) (chunks of anchor rows: matmul kernel, then the stats / weights kernels; up to 2N = 2048 one chunk, which the forward keeps for the backward; beyond, no 2N x 2N buffer); calls under 250 ms are timed on the second of two in a row (pytorch.protocol). Naive: zhat = z * rsqrt(max(sum(z^2), 1e-12)), logits = matmul(zhat, transpose(zhat)) / tau + (-1e9 on the diagonal, built on the device from arange/equal), crossEntropy(logits, positive index). PyTorch: the same composition (F.normalize, z @ z.T / tau, masked_fill of the diagonal, cross_entropy, backward), its faster thread count (1 or 2). peakBytes = max over the calls of (backend.memory().liveBytes sampled after every alloc) - liveBytes before the call; live bytes count pool size classes, and include dz and the loss.',
    results: records,
  });
  log(`wrote ${file} and bench/results/ntxent-latest.json`);
}

if (section('optim')) {
  // 9, not 5: a step takes 10-40 ms, and single samples of either side jump 1.5-2x on this machine
  const samples = 9;
  const { torch, reason } = await TorchRef.start();
  log('');
  log(`optimizer steps on ResNet-18 (CIFAR stem, width 1) parameters with one fixed random gradient: SGD, LARS, Adam, moving average; ours vs ${torch ? `PyTorch ${torch.version} foreach` : `nothing (PyTorch unavailable: ${reason})`}, median of ${samples} after ${OPTIM_WARMUP} warm-up steps, alternating`);
  const loadBefore = loadavg()[0];
  const r = await benchOptimizers(backend, torch, { width: 1, samples, warmup: OPTIM_WARMUP, progress: (m) => log(`  ${m}`) });
  torch?.close();
  log('');
  log(`optimizer steps, ${backend.label}, ${new Date().toISOString()} (load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
  for (const l of optimTable(r)) log(l);
  const date = new Date().toISOString();
  const file = writeResults(dir, 'optim', {
    benchmark: 'optimizer steps (SGD, LARS, Adam, EMA) over ResNet-18 (CIFAR stem) parameters, ours vs PyTorch foreach',
    date,
    adapter: adapterRecord(),
    pytorch: torchRecord(torch, reason),
    loadAverage: loadRecord(loadBefore),
    method: `every parameter gets one random gradient (randn * 0.01) that stays; a sample = opt.step() then backend.sync(), timed from a drained queue; ${OPTIM_WARMUP} warm-up steps each (state created, pipelines compiled, and the JS that encodes a step optimized: a training run takes thousands of steps, and our SGD step's JS encoding fell from about 4 to 1 ms over its first 20 calls), then samples alternating ours/PyTorch; ms = median. Ours: one fused dispatch per tensor above 16,384 elements and one for all smaller ones (their operands concatenated and split back by buffer copies: copiesPerStep), LARS's non-excluded tensors each alone with two more dispatches for the trust ratio. PyTorch: torch.optim.SGD/Adam(foreach=True), LARS with _foreach ops, EMA with _foreach_mul_/_foreach_add_; its faster thread count. dispatchesPerStep = GPU dispatches recorded by one step; copiesPerStep = buffer-to-buffer copies.`,
    result: r,
  });
  log(`wrote ${file} and bench/results/optim-latest.json`);
}

if (section('pretrain')) {
  log('');
  if (!existsSync(args.runData)) {
    log(`pretrain: no data at ${args.runData} (--run-data=<dir of CIFAR record files>): section skipped`);
  } else {
    const { torch, reason } = await TorchRef.start();
    const threads = Math.min(2, cpus_().length);
    log(`SimCLR pre-training run, ${args.runEpochs} epochs: ours (train(), as npm run pretrain) vs ${torch ? `PyTorch ${torch.version} at ${threads} threads` : `nothing (PyTorch unavailable: ${reason})`}, alternating epoch by epoch`);
    const loadBefore = loadavg()[0];
    const date = new Date().toISOString();
    const r = await benchPretrainRun(backend, torch, { data: args.runData, epochs: args.runEpochs, width: args.runWidth, batch: args.batch, threads, progress: (m) => log(`  ${m}`) });
    torch?.close();
    log('');
    log(`pre-training run, ${backend.label}, ${date} (load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
    for (const l of pretrainTable(r)) log(l);
    const file = writeResults(dir, 'pretrain', {
      benchmark: 'a whole SimCLR pre-training run (ResNet-18, LARS, NT-Xent) from CIFAR files: ours (train()) vs the same run in PyTorch CPU',
      date,
      adapter: adapterRecord(),
      pytorch: torchRecord(torch, reason),
      loadAverage: loadRecord(loadBefore),
      method: 'ours: simclr/train.ts train() with lr 1.0, 2 warm-up epochs, cosine decay, checkpoints every 10 epochs and at the end, the kNN monitor after the last epoch only (its seconds reported apart, ours.knnSec; trainSec = totalSec - knnSec); the first epoch includes reading the data and compiling the pipelines. PyTorch: torch_ref.py run workload, one epoch per call (permutation, full batches, the step workload per batch, constant lr), setup (reading the files, building the model) timed apart and counted in its total. After each of our epochs PyTorch runs one; its time is not counted in ours. oursOverTorch = ours.trainSec / torch.totalSec.',
      result: r,
    });
    log(`wrote ${file} and bench/results/pretrain-latest.json`);
  }
}

if (section('methods')) {
  log('');
  const loadBefore = loadavg()[0];
  const r = await benchMethods(backend, { quick: args.quick, samples: args.quick ? 3 : 5 });
  const date = new Date().toISOString();
  log(`methods, ${backend.label}, ${date} (load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
  const out = {
    benchmark: 'one training step per method (simclr/methods/), same encoder and batch',
    date,
    adapter: adapterRecord(),
    loadAverage: loadRecord(loadBefore),
    method: 'a sample = one takeStep (the trainer\'s step: loss, backward, one read, optimizer step, after-step hooks) on fixed random views, then backend.sync(); 2 warm-up steps per method, then samples alternating between methods; ms = median. afterStepMs: the after-step hooks alone (EMA, queue write) after a gradient-free forward, then a sync.',
    result: r,
  };
  const file = `${dir}methods-${date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  writeFileSync(`${dir}methods-latest.json`, JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${file} and bench/results/methods-latest.json`);
}

if (section('augment')) {
  const samples = 5;
  log('');
  log(`augmentations: two views per image on the device (crop, flip, jitter, grayscale; blur for STL), median of ${samples}`);
  const loadBefore = loadavg()[0];
  const records = await benchAugment(backend, { samples, quick: args.quick });
  log(`case          batch  ms/batch  images/s`);
  for (const r of records) log(`${r.name.padEnd(12)} ${String(r.batch).padStart(6)} ${r.msPerBatch.toFixed(1).padStart(9)} ${r.imagesPerSecond.toFixed(0).padStart(9)}`);
  const date = new Date().toISOString();
  const out = {
    benchmark: 'SimCLR augmentations (two views per image)',
    date,
    adapter: adapterRecord(),
    loadAverage: loadRecord(loadBefore),
    method: 'random uint8 RGB images; a sample = augmentBatch (host parameter draw, upload, kernels) + backend.sync(); one warm-up; ms = median; images/s counts source images (two views each)',
    results: records,
  };
  const file = `${dir}augment-${date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  writeFileSync(`${dir}augment-latest.json`, JSON.stringify(out, null, 2) + '\n');
  log(`wrote ${file} and bench/results/augment-latest.json`);
}

if (section('step')) {
  const { torch, reason } = await TorchRef.start();
  log('');
  log(torch ? `PyTorch ${torch.version} (${torch.device === 'cpu' ? TORCH_CAPABILITY(torch.config) : torch.device}) as the reference, alternating; its thread count (1 or 2) is picked per case by timing both`
    : `PyTorch reference unavailable (${reason}): ours only`);
  const cases: StepCase[] = [
    ...args.widths.map((width) => ({ kind: 'simclr' as const, width, batch: args.batch })),
    ...(args.supervised ? [{ kind: 'supervised' as const, width: 1, batch: 32 }] : []),
  ];
  const loadBefore = loadavg()[0];
  const records: StepRecord[] = [];
  const date = new Date().toISOString();
  // written after every case, so a case that fails (out of memory at width 1) loses only itself
  const save = () => writeResults(dir, 'step', {
    benchmark: 'training steps: SimCLR (ResNet-18 CIFAR stem + head, NT-Xent, LARS) and supervised ResNet-18, ours vs PyTorch ' + (torch ? torch.device : 'CPU'),
    date,
    adapter: adapterRecord(),
    pytorch: torchRecord(torch, reason, true),
    loadAverage: loadRecord(loadBefore),
    method: `per case: ${STEP_WARMUP} warm-up steps of ours (pipelines compiled, buffers settled so the bind groups come from the cache); PyTorch warms up one step at 1 thread and one at 2, then one timed at each, and keeps the faster setting, then samples alternating ours/PyTorch. Ours: a step = augmentBatch (uint8 random images, CIFAR augmentations), encoder+head forward, ntXent (tau 0.5), backward, one read of [loss, accuracy], LARS (lr 0.3, momentum 0.9, wd 1e-6), timed from a drained queue to a drained queue. PyTorch: the same step (bench/torch_ref.py: batched augmentation with grid_sample, foreach LARS), timed inside Python. split: one more step with a sync after every phase. ms = median. hostMsPerStep: the JS time of every phase of a timed step but the read (which waits for the device), median; bindGroupsPerStep: bind groups the last timed step created (the backend caches them by buffers).`,
    results: records,
  });
  for (const c of cases) {
    log(`${c.kind === 'simclr' ? `SimCLR step, ResNet-18 x${c.width}, batch ${c.batch} (${2 * c.batch} views)` : `ResNet-18 supervised step, batch ${c.batch}`}: median of ${args.stepSamples}`);
    const r = await benchStep(backend, torch, c, { samples: args.stepSamples, profile: args.profile, progress: (m) => log(`  ${m}`) });
    records.push(r);
    if (r.profile) for (const l of formatProfile(r.profile, 12)) log(`  ${l}`);
    save();
  }
  torch?.close();
  log('');
  log(`training steps, ${backend.label}, ${new Date().toISOString()} (load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)`);
  for (const l of stepTable(records)) log(l);
  const file = save();
  log(`wrote ${file} and bench/results/step-latest.json`);
}

backend.destroy();
process.exit(0);
