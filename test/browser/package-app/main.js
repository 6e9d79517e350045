// A fresh app that uses the packed tarball (test/browser.test.ts copies this folder elsewhere,
// unpacks `npm pack`'s tarball into its node_modules/simclr-webgpu and bundles it with esbuild):
// the engine and nn through the package's public subpaths, kernels from inside the bundle.
import { init, tensor, matmul, relu, sum, randn, seed } from 'simclr-webgpu/engine';
import { Linear, ReLU, Sequential, resnet18, moduleToSafetensors, decodeSafetensors } from 'simclr-webgpu/nn';

async function run() {
  const backend = await init({ backend: 'webgpu' });
  // Hand-checkable: x @ w = [[5, 1], [-5, -7]], relu keeps the first row, loss 6.
  const x = tensor([1, 2, 3, -4], [2, 2], { requiresGrad: true });
  const w = tensor([1, -1, 2, 1], [2, 2], { requiresGrad: true });
  const y = relu(matmul(x, w));
  const loss = sum(y);
  loss.backward();
  seed(0);
  const mlp = new Sequential(new Linear(12, 16), new ReLU(), new Linear(16, 4));
  const h = mlp.call(randn([2, 12]));
  const hv = Array.from(await h.data());
  // A ResNet's weights as torchvision-named safetensors bytes (what the page downloads).
  const net = resnet18({ stem: 'cifar', width: 0.125 });
  const bytes = await moduleToSafetensors(net);
  return {
    backend: backend.kind,
    y: Array.from(await y.data()), loss: (await loss.data())[0],
    gx: Array.from(await x.grad.data()), gw: Array.from(await w.grad.data()),
    hShape: h.shape, hFinite: hv.every(Number.isFinite), hSpread: Math.max(...hv) - Math.min(...hv),
    tensors: decodeSafetensors(bytes).size, params: net.stateDict().size, hasConv1: decodeSafetensors(bytes).has('conv1.weight'),
  };
}

window.appResult = run().catch((e) => ({ error: String(e && e.stack ? e.stack : e) }));
