/**
 * Encoder export (simclr/export.ts): the file holds exactly the encoder's state dict under
 * torchvision's names (no head), values equal; the report lists fc.* as missing for torchvision and
 * nothing unexpected; export from a training checkpoint of Sequential(encoder, ProjectionHead) is
 * byte-identical to exporting the encoder; missing and corrupt checkpoints give errors naming the
 * file. CPU backend, ResNet-18 at width 1/8.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { LARS, Sequential, loadSafetensors, resnet18, resnet50 } from '../nn/node.js';
import {
  CheckpointError, ENCODER_FORMAT, ProjectionHead, exportEncoder, exportEncoderFromCheckpoint, saveCheckpoint,
} from '../simclr/index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'export-test-'));
  dirs.push(d);
  return d;
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

function trainingModel(backend: CpuBackend) {
  const rng = new Random(5);
  const encoder = resnet18({ stem: 'cifar', width: 0.125, rng, backend });
  const head = new ProjectionHead(encoder.features, { rng, backend });
  return { encoder, head, model: new Sequential(encoder, head) };
}

describe('exportEncoder', () => {
  it('writes exactly the encoder state dict (torchvision names, no head), values equal; fc.* missing for torchvision', async () => {
    const c = new CpuBackend();
    const { encoder, model } = trainingModel(c);
    const file = join(await tempDir(), 'sub', 'encoder.safetensors');
    const report = await exportEncoder(encoder, file);
    const sd = encoder.stateDict();
    const saved = await loadSafetensors(file);
    expect([...saved.keys()].sort()).toEqual([...sd.keys()].sort());
    expect(saved.size).toBe(122 - 2); // torchvision's resnet18 has 122 entries, fc.weight and fc.bias included
    expect([...saved.keys()].some((k) => k.startsWith('fc.') || /^\d/.test(k))).toBe(false);
    for (const [k, t] of sd) {
      expect(Array.from(saved.get(k)!.data), k).toEqual(Array.from(Float32Array.from(await t.data())));
      expect(saved.get(k)!.shape, k).toEqual([...t.shape]);
    }
    expect(saved.get('bn1.num_batches_tracked')!.dtype).toBe('I64');
    expect(saved.metadata).toMatchObject({ format: ENCODER_FORMAT, arch: 'resnet18', stem: 'cifar', base_width: '8' });
    expect(report.file).toBe(file);
    expect(report.tensors).toBe(sd.size);
    expect(report.missingForTorchvision).toEqual(['fc.weight', 'fc.bias']);
    expect(report.unexpected).toEqual([]);
    expect(report.notes.join('\n')).toMatch(/no width multiplier/);
    expect(report.notes.join('\n')).toMatch(/model\.conv1 = nn\.Conv2d\(3, 8, 3, 1, 1, bias=False\); model\.maxpool = nn\.Identity\(\)/);
    expect(report.notes.join('\n')).toMatch(/strict=False\) reports fc\.weight, fc\.bias missing/);
    model.dispose();
    expect(c.memory().liveBuffers).toBe(0);
  });

  it('a width-1 ImageNet-stem ResNet-50 with fc matches torchvision.models.resnet50() exactly (no notes about width or stem)', async () => {
    const c = new CpuBackend();
    const r = resnet50({ numClasses: 3, width: 1 / 64, backend: c }); // names do not depend on width
    const report = await exportEncoder(r, join(await tempDir(), 'r50.safetensors'));
    expect(report.missingForTorchvision).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.notes.join('\n')).toMatch(/no width multiplier/); // 1/64 of 64 is 1 channel
    expect(report.notes.join('\n')).not.toMatch(/CIFAR|fc/);
    r.dispose();
  });
});

describe('exportEncoderFromCheckpoint', () => {
  it('strips the Sequential prefix 0., drops the head and optimizer state: same file as exportEncoder', async () => {
    const c = new CpuBackend();
    const { encoder, model } = trainingModel(c);
    const opt = new LARS(model, { lr: 0.1 });
    const dir = await tempDir();
    const ckpt = await saveCheckpoint(dir, { model, optimizer: opt, step: 3, epoch: 0, rng: new Random(1), config: {} });
    const direct = join(dir, 'direct.safetensors');
    const fromCkpt = join(dir, 'from-checkpoint.safetensors');
    const fromDir = join(dir, 'from-dir.safetensors');
    const r1 = await exportEncoder(encoder, direct);
    const r2 = await exportEncoderFromCheckpoint(ckpt, fromCkpt);
    const r3 = await exportEncoderFromCheckpoint(dir, fromDir); // a directory: follows latest.json
    expect(Buffer.compare(await readFile(fromCkpt), await readFile(direct))).toBe(0);
    expect(Buffer.compare(await readFile(fromDir), await readFile(direct))).toBe(0);
    for (const r of [r2, r3]) expect({ ...r, file: '' }).toEqual({ ...r1, file: '' });
    opt.dispose(); model.dispose();
  });

  it('missing, corrupt or non-checkpoint files: a CheckpointError naming the file', async () => {
    const c = new CpuBackend();
    const { encoder, model } = trainingModel(c);
    const dir = await tempDir();
    const out = join(dir, 'out.safetensors');
    const missing = join(dir, 'nope.safetensors');
    await expect(exportEncoderFromCheckpoint(missing, out)).rejects.toThrow(CheckpointError);
    await expect(exportEncoderFromCheckpoint(missing, out)).rejects.toThrow(/nope\.safetensors: no such file/);
    const corrupt = join(dir, 'corrupt.safetensors');
    await writeFile(corrupt, Buffer.from('definitely not safetensors'));
    await expect(exportEncoderFromCheckpoint(corrupt, out)).rejects.toThrow(/corrupt checkpoint file .*corrupt\.safetensors/);
    const plain = join(dir, 'encoder.safetensors');
    await exportEncoder(encoder, plain); // an exported encoder is not a training checkpoint
    await expect(exportEncoderFromCheckpoint(plain, out)).rejects.toThrow(/encoder\.safetensors: not a training checkpoint/);
    const ck = await saveCheckpoint(join(dir, 'ck'), { model, optimizer: new LARS(model, { lr: 0 }), step: 1, epoch: 0, rng: new Random(1), config: {} });
    const bytes = await readFile(ck);
    await writeFile(ck, bytes.subarray(0, bytes.length - 16));
    await expect(exportEncoderFromCheckpoint(ck, out)).rejects.toThrow(/corrupt checkpoint file .*checkpoint-1\.safetensors/);
    model.dispose();
  });
});
