/**
 * Exports the pretrained encoder alone: its state dict under torchvision's names (conv1.weight,
 * layer2.0.downsample.0.weight, bn1.num_batches_tracked, ...), without the projection head, as one
 * safetensors file written atomically (F32; num_batches_tracked as I64, as torchvision). Encoders
 * of other methods: CPC's patch encoder writes its ResNet (layer norm: torchvision's ResNet with
 * norm_layer GroupNorm(1, C) has the same names), and an encoder that is not a ResNet (the AMDIM
 * encoder) keeps its own module names; the report says which it wrote.
 *
 * From a training checkpoint (simclr/checkpoint.ts): the trainer's model is
 * `new Sequential(encoder, head)`, whose state-dict names are '0.<encoder name>' and
 * '1.<head name>'; the '0.' prefix is stripped, head and 'optimizer.' entries are dropped.
 * Both paths produce byte-identical files for the same weights.
 *
 * The report compares the file's keys with what torchvision's ResNet of the same block type and
 * depth (resnet18/34/50 layouts) would expect, fc included, and says in `notes` what loading it
 * into torchvision takes (stem, width, fc).
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CpuBackend } from '../engine/cpu/backend.js';
import type { Encoder } from '../nn/encoder.js';
import { PatchEncoder } from '../nn/patch-encoder.js';
import { BasicBlock, Bottleneck, ResNet } from '../nn/resnet.js';
import type { SafetensorsInput } from '../nn/safetensors.js';
import { writeFileAtomic } from '../nn/files.js';
import { CheckpointError, loadCheckpoint, readCheckpointFile } from './checkpoint.js';
import { encodeEncoder, encoderEntries, encoderInputs, inferLayout } from './encoder-file.js';

export { ENCODER_FORMAT } from './encoder-file.js';

export interface ExportReport {
  file: string;
  tensors: number;
  /** keys torchvision's resnet has that the file lacks, e.g. fc.weight, fc.bias */
  missingForTorchvision: string[];
  /** keys in the file torchvision's resnet would not expect */
  unexpected: string[];
  notes: string[];
}

/** torchvision's state-dict names for a ResNet of this layout with fc (our ResNet has torchvision's names). */
function torchvisionKeys(bottleneck: boolean, layers: readonly [number, number, number, number]): string[] {
  const backend = new CpuBackend();
  const block = bottleneck ? Bottleneck : BasicBlock;
  const counts = layers.map((n) => Math.max(1, n)) as unknown as [number, number, number, number];
  const model = new ResNet(block, counts, { numClasses: 1, width: 1 / 64, backend });
  const keys = [...model.stateDict().keys()];
  model.dispose();
  backend.destroy();
  return keys;
}

async function writeBytes(inputs: Map<string, SafetensorsInput>, file: string): Promise<void> {
  let bytes: Uint8Array;
  try { bytes = encodeEncoder(inputs); } catch (e) {
    throw new CheckpointError(`${file}: ${(e as Error).message}`);
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, bytes);
}

async function writeEncoder(inputs: Map<string, SafetensorsInput>, file: string, extraNotes: string[] = []): Promise<ExportReport> {
  await writeBytes(inputs, file);
  if (!inputs.has('conv1.weight')) {
    return {
      file, tensors: inputs.size, missingForTorchvision: [], unexpected: [],
      notes: [`not a torchvision ResNet (no conv1.weight): the tensors keep the encoder's own module names (${[...inputs.keys()].slice(0, 2).join(', ')}, ...); they load into the same architecture (e.g. the AMDIM encoder, nn/amdim-encoder.ts), not into torchvision`, ...extraNotes],
    };
  }
  const { layers, bottleneck, stem, arch, baseWidth, inChannels, layerNorm } = inferLayout(inputs);
  const expected = torchvisionKeys(bottleneck, layers).filter((k) => !layerNorm || !/\.(running_mean|running_var|num_batches_tracked)$/.test(k));
  const have = new Set(inputs.keys());
  const want = new Set(expected);
  const missingForTorchvision = expected.filter((k) => !have.has(k));
  const unexpected = [...inputs.keys()].filter((k) => !want.has(k));
  const notes: string[] = [];
  const builder = arch ? `torchvision.models.${arch}()` : `torchvision.models.resnet.ResNet(${bottleneck ? 'Bottleneck' : 'BasicBlock'}, [${layers.join(', ')}])`;
  if (!arch) notes.push(`the blocks per stage [${layers.join(', ')}] (${bottleneck ? 'Bottleneck' : 'BasicBlock'}) match none of resnet18/34/50; compared with ${builder}`);
  if (baseWidth !== undefined && baseWidth !== 64) {
    notes.push(`base width ${baseWidth} (width multiplier ${baseWidth / 64}): torchvision's ResNet class has no width multiplier, so this file loads only into a torchvision-style ResNet built with the same channel counts (${baseWidth}, ${2 * baseWidth}, ${4 * baseWidth}, ${8 * baseWidth}), not into ${builder}`);
  }
  if (inChannels !== undefined && inChannels !== 3) notes.push(`conv1 takes ${inChannels} input channels (torchvision: 3); replace model.conv1 accordingly`);
  const w = baseWidth ?? 64, c = inChannels ?? 3;
  if (stem === 'cifar') {
    notes.push(`CIFAR stem (3x3 stride-1 conv1, no max-pool): in torchvision set model.conv1 = nn.Conv2d(${c}, ${w}, 3, 1, 1, bias=False); model.maxpool = nn.Identity() before model.load_state_dict(sd, strict=False)`);
  } else if (stem === 'unknown') {
    notes.push('conv1 is neither the 7x7 ImageNet stem nor the 3x3 CIFAR stem');
  }
  if (layerNorm) notes.push('layer norm in place of batch norm (CPC v2): build the torchvision ResNet with norm_layer=lambda c: nn.GroupNorm(1, c), which has these names and no running statistics');
  notes.push(...extraNotes);
  if (missingForTorchvision.length && missingForTorchvision.every((k) => k.startsWith('fc.'))) {
    notes.push(`no classifier: load_state_dict(strict=False) reports ${missingForTorchvision.join(', ')} missing (fc stays randomly initialized); or set model.fc = nn.Identity() and load with strict=True to get the representation h`);
  }
  return { file, tensors: inputs.size, missingForTorchvision, unexpected, notes };
}

/** Writes the encoder's state dict (torchvision names for a ResNet, no projection head) as safetensors atomically. */
export async function exportEncoder(encoder: Encoder, file: string): Promise<ExportReport> {
  for (const [name, t] of encoder.stateDict()) if (t.isDisposed) throw new CheckpointError(`encoder tensor '${name}' was disposed`);
  const notes = encoder instanceof PatchEncoder
    ? [`CPC's patch encoder: the representation is this network's pooled output averaged over the ${encoder.patchSize}x${encoder.patchSize} patches (stride ${encoder.patchStride}) of an image`]
    : [];
  return writeEncoder(await encoderInputs(encoder), file, notes);
}

/**
 * Reads a training checkpoint (simclr/checkpoint.ts format) and writes only the encoder's tensors.
 * `checkpointFile` is a checkpoint-<step>.safetensors file, or a checkpoint directory (its
 * latest.json is followed).
 */
export async function exportEncoderFromCheckpoint(checkpointFile: string, outFile: string): Promise<ExportReport> {
  const st = await stat(checkpointFile).catch((e: NodeJS.ErrnoException) => {
    throw new CheckpointError(`cannot read checkpoint ${checkpointFile}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  let model: Map<string, { dtype: string; shape: readonly number[]; data: ArrayLike<number> }>;
  let source = checkpointFile;
  if (st.isDirectory()) {
    const ck = await loadCheckpoint(checkpointFile);
    model = ck.model;
    source = ck.path;
  } else {
    model = (await readCheckpointFile(checkpointFile)).model;
  }
  const inputs = encoderEntries(model);
  if (!inputs.size) {
    throw new CheckpointError(`${source}: no encoder tensors: expected the method state's encoder names '0.conv1.weight', ... (found ${[...model.keys()].slice(0, 3).join(', ') || 'no model tensors'})`);
  }
  return writeEncoder(inputs, outFile);
}
