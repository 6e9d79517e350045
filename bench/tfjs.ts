/**
 * @tensorflow/tfjs-backend-webgpu on the engine's own Dawn GPU object, for side-by-side numbers.
 * navigator.gpu must exist before the backend package is imported (it registers itself only then).
 */
import { waitFor, type WaitStrategy } from '../engine/webgpu/wait.js';

type Tf = typeof import('@tensorflow/tfjs-core');

export interface TfjsMatmul {
  tf: Tf;
  /** Records one matmul (result disposed). */
  run(): void;
  sync(): Promise<void>;
  dispose(): void;
}

export interface TfjsHandle {
  tf: Tf;
  adapter: string;
  /** Submits tfjs' pending work and waits for the queue. */
  sync(): Promise<void>;
  matmul(M: number, K: number, N: number): TfjsMatmul;
}

export async function loadTfjs(gpu: GPU, wait: WaitStrategy): Promise<TfjsHandle> {
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialize');
  await tf.ready();
  // tfjs' WebGPUBackend keeps its device, encoder and submit as (untyped) fields.
  const be = tf.backend() as unknown as {
    device: GPUDevice; commandEncoder: GPUCommandEncoder | null; adapterInfo?: { description?: string; device?: string; vendor?: string };
    endComputePassEncoder(): void; submitQueue(): void;
  };
  const sync = async () => {
    if (be.commandEncoder) { be.endComputePassEncoder(); be.submitQueue(); }
    await waitFor(be.device.queue.onSubmittedWorkDone(), wait);
  };
  const info = (be.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo ?? be.adapterInfo;
  return {
    tf,
    adapter: info?.description || info?.device || info?.vendor || 'unknown',
    sync,
    matmul(M, K, N) {
      const a = tf.randomUniform([M, K], -1, 1, 'float32', 1);
      const b = tf.randomUniform([K, N], -1, 1, 'float32', 2);
      return {
        tf,
        run() { tf.matMul(a, b).dispose(); },
        sync,
        dispose() { a.dispose(); b.dispose(); },
      };
    },
  };
}
