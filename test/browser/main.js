// Runs in the browser (see test/browser.test.ts): GET /cases gives the inputs; for each case and
// each WebGPU matmul kernel the device can run, this computes loss = sum(relu(x @ w)) and its
// gradients with the built engine (dist/) and POSTs the values (or the error) to /result. The test
// repeats the computation on the CPU reference backend in Node and compares.
const report = (body) =>
  fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const fail = (e) => report({ ok: false, error: String(e && e.stack ? e.stack : e) });
addEventListener('error', (ev) => fail(ev.error ?? ev.message));
addEventListener('unhandledrejection', (ev) => fail(ev.reason));

try {
  const E = await import('/dist/engine/index.js');
  const backend = await E.init({ backend: 'webgpu' });
  const cases = await (await fetch('/cases')).json();
  const kernels = [
    { name: 'default', kernel: null },
    { name: 'tiled', kernel: E.GPU_KERNEL },
    { name: 'register', kernel: E.CPU_ADAPTER_KERNEL },
    ...(E.hasSubgroups8(backend) ? [{ name: 'subgroup', kernel: E.CPU_SUBGROUP_KERNEL }] : []),
  ];
  const runs = [];
  for (const { name, kernel } of kernels) {
    E.setMatmulKernel(kernel);
    const results = [];
    for (const c of cases) {
      const x = E.tensor(c.x, c.xShape, { requiresGrad: true });
      const w = E.tensor(c.w, c.wShape, { requiresGrad: true });
      const xw = E.matmul(x, w);
      const y = E.relu(xw);
      const loss = E.sum(y);
      loss.backward();
      results.push({
        y: Array.from(await y.data()),
        loss: (await loss.data())[0],
        gx: Array.from(await x.grad.data()),
        gw: Array.from(await w.grad.data()),
      });
      for (const t of [x, w, xw, y, loss, x.grad, w.grad]) t.dispose();
    }
    runs.push({ kernel: name, results });
  }
  E.setMatmulKernel(null);
  const info = backend.device.adapterInfo ?? {};
  await report({
    ok: true, backend: backend.kind, label: backend.label, isCpuAdapter: backend.isCpuAdapter,
    adapterInfo: { ...backend.adapterInfo, subgroupMinSize: info.subgroupMinSize, subgroupMaxSize: info.subgroupMaxSize },
    memory: backend.memory(), runs,
  });
} catch (e) {
  await fail(e);
}
