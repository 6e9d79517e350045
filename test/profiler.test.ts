/** The kernel profiler: both methods label, count and time every dispatch of a real training step. */
import { describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { crossEntropy, randint, randn } from '../engine/ops/index.js';
import { profile } from '../engine/profile.js';
import { Random } from '../engine/random.js';
import { tidy } from '../engine/tensor.js';
import { formatProfile, type ProfileMethod } from '../engine/webgpu/profiler.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Linear, ReLU, Sequential } from '../nn/layers.js';
import { gpu } from './helpers.js';

describe('profiler', () => {
  for (const method of ['timestamp', 'replay'] as ProfileMethod[]) {
    it(`${method}: every dispatch of a forward/backward step is counted, labelled by op and shapes, and timed`, async () => {
      const g = await gpu();
      if (method === 'timestamp') expect(g.device.features.has('timestamp-query')).toBe(true); // lavapipe has it
      const rng = new Random(1);
      const model = new Sequential(new Linear(64, 256, { rng, backend: g }), new ReLU(), new Linear(256, 10, { rng, backend: g }));
      const x = randn([128, 64], { rng, backend: g });
      const y = randint(0, 10, [128], { rng, backend: g });
      const step = () => {
        const loss = tidy(() => crossEntropy(model.call(x), y));
        backward(loss);
        loss.dispose();
      };
      step(); // compile pipelines outside the profile
      await g.sync();
      const d0 = g.dispatchCount, s0 = g.submitCount;
      const { report } = await profile(async () => {
        g.profiler!.phase = 'forward+backward';
        step();
        g.profiler!.phase = null;
        step();
      }, { backend: g, method });
      expect(report.method).toBe(method);
      expect(report.dispatches).toBe(g.dispatchCount - d0);
      expect(report.submits).toBe(g.submitCount - s0);
      expect(report.groups.reduce((a, b) => a + b.dispatches, 0)).toBe(report.dispatches);
      expect(report.ops.reduce((a, b) => a + b.dispatches, 0)).toBe(report.dispatches);
      // two phases, each one step: the same dispatch count
      expect(report.phases.map((p) => p.key)).toEqual(['forward+backward', '']);
      expect(report.phases[0].dispatches).toBe(report.phases[1].dispatches);
      const mm = report.groups.find((gr) => gr.key === 'matmul [128,64] [256,64]');
      expect(mm, report.groups.map((gr) => gr.key).join('\n')).toBeDefined();
      expect(mm!.op).toBe('matmul');
      // each step multiplies x [128,64] by the weight [256,64] once: 2 dispatches, (128*64 + 256*64 + 128*256) * 4 bytes each
      expect(mm!.dispatches).toBe(2);
      expect(mm!.bytes).toBe(2 * (128 * 64 + 256 * 64 + 128 * 256) * 4);
      expect(report.ops.map((o) => o.op)).toContain('matmul');
      expect(report.kernelMs).toBeGreaterThan(0);
      expect(report.ops.every((o) => o.ms >= 0)).toBe(true);
      expect(report.ops[0].ms).toBeGreaterThan(0);
      expect(formatProfile(report).join('\n')).toMatch(/matmul \[128,64\] \[256,64\]/);
      expect(g.profiler).toBeNull();
      model.zeroGrad();
      model.dispose(); x.dispose(); y.dispose();
    });
  }

  it('refuses the CPU backend and a second concurrent profile, naming the problem', async () => {
    await expect(profile(() => 0, { backend: new CpuBackend() })).rejects.toThrow(/profile: profiling needs the WebGPU backend/);
    const g = await gpu();
    g.startProfile('replay');
    expect(() => g.startProfile()).toThrow(/already running/);
    await g.stopProfile();
    await expect(g.stopProfile()).rejects.toThrow(/no profile is running/);
  });
});
