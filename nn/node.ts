/**
 * `simclr-webgpu/nn` as Node sees it (the package's `node` condition): everything of nn/index.ts
 * plus the file helpers, which a browser build must not pull in.
 */
export * from './index.js';
export { saveSafetensors, loadSafetensors, writeFileAtomic } from './files.js';
