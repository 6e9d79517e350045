import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn runs in the default forks pool; lavapipe is slow, so generous per-test time.
    pool: 'forks',
    // One file per core (vitest's default leaves one core idle): with a cold shader cache most of a
    // file's time is LLVM compiling pipelines on one thread, so two files overlap well on 2 cores.
    maxWorkers: availableParallelism(),
    testTimeout: 180_000,
    hookTimeout: 120_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
