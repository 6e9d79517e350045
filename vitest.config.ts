import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The files that take longest with a cold shader cache (measured 2026-12-03: 121, 71, 58, 57, 48,
// 31 and 27 s), started first and in this order, so that the workers finish together; vitest's own
// order (by cached duration, else by file size) starts the 2-minute page test ninth on a fresh clone.
const SLOWEST = ['browser-page', 'conv', 'pretrain', 'ops', 'matmul', 'feature-methods-train', 'browser'];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = SLOWEST.findIndex((name) => f.moduleId.endsWith(`/test/${name}.test.ts`));
      return i < 0 ? SLOWEST.length : i;
    };
    const rest = await super.sort(files);
    return rest.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn runs in the default forks pool; lavapipe is slow, so generous per-test time.
    pool: 'forks',
    // One file per core (vitest's default leaves one core idle): with a cold shader cache most of a
    // file's time is LLVM compiling pipelines on one thread, so two files overlap well on 2 cores.
    maxWorkers: availableParallelism(),
    sequence: { sequencer: SlowestFirst },
    testTimeout: 180_000,
    hookTimeout: 120_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
