/**
 * The encoder file's bytes: an encoder's state dict under torchvision's names as safetensors (a
 * ResNet; other encoders, such as the AMDIM encoder, under their own module names), with metadata
 * naming the format, architecture, stem, base width and normalization. No file I/O, so a page builds the
 * same bytes for a download that `npm run eval -- --export` (simclr/export.ts) writes to disk.
 */
import type { Encoder } from '../nn/encoder.js';
import { encodeSafetensors, type SafetensorsInput } from '../nn/safetensors.js';

export const ENCODER_FORMAT = 'webgpu-simclr-encoder/1';

const KNOWN: Record<string, { bottleneck: boolean; layers: readonly [number, number, number, number] }> = {
  resnet18: { bottleneck: false, layers: [2, 2, 2, 2] },
  resnet34: { bottleneck: false, layers: [3, 4, 6, 3] },
  resnet50: { bottleneck: true, layers: [3, 4, 6, 3] },
};

/** The layout the keys describe: block type, blocks per stage, stem, base width, input channels, layer norm (no running statistics). */
export function inferLayout(inputs: ReadonlyMap<string, SafetensorsInput>) {
  const layers: [number, number, number, number] = [0, 0, 0, 0];
  let bottleneck = false;
  for (const key of inputs.keys()) {
    const m = /^layer([1-4])\.(\d+)\.(\w+)/.exec(key);
    if (!m) continue;
    const s = Number(m[1]) - 1;
    layers[s] = Math.max(layers[s], Number(m[2]) + 1);
    if (m[3] === 'conv3') bottleneck = true;
  }
  const conv1 = inputs.get('conv1.weight');
  const k = conv1?.shape.length === 4 ? conv1.shape[2] : undefined;
  const stem = k === 3 ? 'cifar' : k === 7 ? 'imagenet' : 'unknown';
  const arch = Object.entries(KNOWN).find(([, a]) => a.bottleneck === bottleneck && a.layers.every((n, i) => n === layers[i]))?.[0];
  const layerNorm = inputs.has('bn1.weight') && !inputs.has('bn1.running_mean');
  return { layers, bottleneck, stem, arch, baseWidth: conv1?.shape[0], inChannels: conv1?.shape[1], layerNorm };
}

/** Safetensors bytes of the encoder tensors `inputs` (torchvision names) with the encoder metadata. */
export function encodeEncoder(inputs: ReadonlyMap<string, SafetensorsInput>): Uint8Array {
  const { stem, arch, baseWidth, layerNorm } = inferLayout(inputs);
  if (!inputs.has('conv1.weight')) return encodeSafetensors(inputs, { format: ENCODER_FORMAT, arch: 'not-torchvision' });
  const metadata: Record<string, string> = { format: ENCODER_FORMAT, arch: arch ?? 'unknown', stem, norm: layerNorm ? 'group_norm_1' : 'batch_norm' };
  if (baseWidth !== undefined) metadata.base_width = String(baseWidth);
  return encodeSafetensors(inputs, metadata);
}

/** The encoder's state dict read back as encoder-file inputs (f32 as F32, counters as I64). */
export async function encoderInputs(encoder: Encoder): Promise<Map<string, SafetensorsInput>> {
  const inputs = new Map<string, SafetensorsInput>();
  for (const [name, t] of encoder.stateDict()) inputs.set(name, { dtype: t.dtype === 'f32' ? 'F32' : 'I64', shape: [...t.shape], data: await t.data() });
  return inputs;
}

/** The method state's encoder ('0.*' names in a checkpoint, the prefix stripped; heads and targets dropped). */
export function encoderEntries(model: ReadonlyMap<string, { dtype: string; shape: readonly number[]; data: ArrayLike<number> }>): Map<string, SafetensorsInput> {
  const inputs = new Map<string, SafetensorsInput>();
  for (const [name, e] of model) {
    if (!name.startsWith('0.')) continue;
    inputs.set(name.slice(2), { dtype: e.dtype as SafetensorsInput['dtype'], shape: [...e.shape], data: e.data });
  }
  return inputs;
}
