"""PyTorch reference workloads for `npm run bench` (bench/torch.ts drives this process).

Protocol: one JSON command per line on stdin, one JSON reply per line on stdout. Each workload is
built by a `setup_*` command and timed one call at a time by `run`, so the bench can alternate
PyTorch and the engine sample by sample (other load on the machine then hits both alike).

Workloads mirror the engine's (same shapes, same math):
- step: SimCLR training step: batched augmentation of uint8 images (random resized crop by
  affine_grid/grid_sample, flip, color jitter with p 0.8, grayscale p 0.2), ResNet-18 (CIFAR stem,
  width multiplier) + 3-layer projection head with BN, NT-Xent (tau 0.5), backward, loss read,
  LARS (SimCLR's, foreach ops, bn/bias excluded).
- supervised: ResNet-18 CIFAR stem, 10 classes, cross-entropy, SGD momentum 0.9 (foreach).
- ntxent: NT-Xent forward + backward of z [2N, d] (normalize, full logits, masked diagonal, CE).
- optim: one optimizer step over ResNet-18's parameters with fixed random gradients: SGD
  (momentum, wd; foreach), Adam (foreach), LARS (foreach), EMA (target = m target + (1-m) online).
- matmul: C = A B, square.
- run: one epoch of a SimCLR run on CIFAR record files (1 label byte + 3072 pixel bytes each,
  optionally gzipped): a fresh permutation, full batches only, the step workload per batch (LARS at
  a constant learning rate); setup reads the files and builds the model.
Threads: `threads` sets torch.set_num_threads; the bench times both settings and keeps the faster.
Device: TORCH_DEVICE (default cpu; `cuda` on a GPU machine) places the step, supervised, ntxent,
optim and matmul workloads there; each timed phase then ends in torch.cuda.synchronize(), and TF32
is off (the engine computes in f32).
"""
import gzip
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEVICE = torch.device(os.environ.get('TORCH_DEVICE', 'cpu'))
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def conv3x3(i, o, s):
    return nn.Conv2d(i, o, 3, s, 1, bias=False)


class Block(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(i, o, s), nn.BatchNorm2d(o)
        self.conv2, self.bn2 = conv3x3(o, o, 1), nn.BatchNorm2d(o)
        self.down = None
        if s != 1 or i != o:
            self.down = nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.down(x) if self.down is not None else x))


class ResNet18(nn.Module):
    """ResNet-18 with the CIFAR stem (3x3 stride-1 conv, no max-pool) and a width multiplier."""

    def __init__(self, width=1.0, num_classes=None):
        super().__init__()
        w = [max(1, int(round(c * width))) for c in (64, 128, 256, 512)]
        self.conv1, self.bn1 = conv3x3(3, w[0], 1), nn.BatchNorm2d(w[0])
        layers, i = [], w[0]
        for j, c in enumerate(w):
            s = 1 if j == 0 else 2
            layers += [Block(i, c, s), Block(c, c, 1)]
            i = c
        self.layers = nn.Sequential(*layers)
        self.features = w[3]
        self.fc = nn.Linear(w[3], num_classes) if num_classes else None

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        h = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(h) if self.fc is not None else h


def head(d):
    last_bn = nn.BatchNorm1d(128)
    last_bn.bias.requires_grad_(False)  # the official last BN has no beta
    return nn.Sequential(nn.Linear(d, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(),
                         nn.Linear(d, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(),
                         nn.Linear(d, 128, bias=False), last_bn)


def nt_xent(z, tau=0.5):
    z = F.normalize(z, dim=1)
    m = z.shape[0]
    logits = z @ z.t() / tau
    logits = logits.masked_fill(torch.eye(m, dtype=torch.bool, device=z.device), -1e9)
    target = torch.arange(m, device=z.device)
    target = (target + m // 2) % m
    return F.cross_entropy(logits, target), (logits.argmax(1) == target).float().mean()


class Lars:
    """SimCLR's LARS (classic momentum), foreach ops: the fastest PyTorch form of it."""

    def __init__(self, named, lr=0.3, momentum=0.9, wd=1e-6, eta=0.001):
        self.dec = [p for n, p in named if p.requires_grad and p.ndim > 1]
        self.exc = [p for n, p in named if p.requires_grad and p.ndim <= 1]
        self.lr, self.m, self.wd, self.eta = lr, momentum, wd, eta
        self.buf = None

    @torch.no_grad()
    def step(self):
        dec = [p for p in self.dec if p.grad is not None]
        exc = [p for p in self.exc if p.grad is not None]
        g = torch._foreach_add([p.grad for p in dec], dec, alpha=self.wd)
        wn = torch._foreach_norm(dec)
        gn = torch._foreach_norm(g)
        trust = [torch.where((a > 0) & (b > 0), self.eta * a / b, torch.ones_like(a)) for a, b in zip(wn, gn)]
        torch._foreach_mul_(g, [t * self.lr for t in trust])
        ge = torch._foreach_mul([p.grad for p in exc], self.lr)
        upd = g + ge
        params = dec + exc
        if self.buf is None:
            self.buf = [u.clone() for u in upd]
        else:
            torch._foreach_mul_(self.buf, self.m)
            torch._foreach_add_(self.buf, upd)
        torch._foreach_sub_(params, self.buf)

    def zero_grad(self):
        for p in self.dec + self.exc:
            p.grad = None


def augment(images, size=32):
    """Two views per uint8 image [B, 3, H, W] -> [2B, 3, size, size] floats in [0, 1]."""
    x = images.float().div_(255).repeat(2, 1, 1, 1)
    v, dev = x.shape[0], x.device
    area = torch.empty(v, device=dev).uniform_(0.08, 1.0)
    logr = torch.empty(v, device=dev).uniform_(torch.log(torch.tensor(3 / 4)).item(), torch.log(torch.tensor(4 / 3)).item())
    r = torch.exp(logr)
    sw = torch.sqrt(area * r).clamp(max=1.0)
    sh = torch.sqrt(area / r).clamp(max=1.0)
    cx = (torch.rand(v, device=dev) * 2 - 1) * (1 - sw)
    cy = (torch.rand(v, device=dev) * 2 - 1) * (1 - sh)
    flip = torch.where(torch.rand(v, device=dev) < 0.5, -1.0, 1.0)
    theta = torch.zeros(v, 2, 3, device=dev)
    theta[:, 0, 0] = sw * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = sh
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, [v, 3, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
    s = 0.5
    jit = (torch.rand(v, device=dev) < 0.8).float().view(v, 1, 1, 1)

    def fac(k):
        return torch.empty(v, device=dev).uniform_(max(0, 1 - k), 1 + k).view(v, 1, 1, 1)

    y = x * fac(0.8 * s)
    y = y.clamp_(0, 1)
    gray = (0.299 * y[:, 0:1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3])
    y = (gray.mean((2, 3), keepdim=True) + fac(0.8 * s) * (y - gray.mean((2, 3), keepdim=True))).clamp_(0, 1)
    gray = (0.299 * y[:, 0:1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3])
    y = (gray + fac(0.8 * s) * (y - gray)).clamp_(0, 1)
    h = torch.empty(v, device=dev).uniform_(-0.2 * s, 0.2 * s).mul_(2 * torch.pi)
    yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=dev)
    q = torch.einsum('ij,vjhw->vihw', yiq, y)
    c, sn = torch.cos(h).view(v, 1, 1), torch.sin(h).view(v, 1, 1)
    i2 = c * q[:, 1] - sn * q[:, 2]
    q2 = sn * q[:, 1] + c * q[:, 2]
    q = torch.stack([q[:, 0], i2, q2], 1)
    y = torch.einsum('ij,vjhw->vihw', torch.linalg.inv(yiq), q).clamp_(0, 1)
    x = jit * y + (1 - jit) * x
    g = (torch.rand(v, device=dev) < 0.2).float().view(v, 1, 1, 1)
    gray = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    return g * gray.expand_as(x) + (1 - g) * x


class Workload:
    def __init__(self):
        self.kind = None

    def setup(self, c):
        torch.manual_seed(c.get('seed', 0))
        self.kind = c['workload']
        if self.kind == 'step':
            self.batch = c['batch']
            self.encoder = ResNet18(c['width'])
            self.model = nn.Sequential(self.encoder, head(self.encoder.features)).to(DEVICE)
            self.opt = Lars(list(self.model.named_parameters()))
            self.images = torch.randint(0, 256, (self.batch, 3, 32, 32), dtype=torch.uint8, device=DEVICE)
        elif self.kind == 'run':
            raw = b''.join((gzip.open if f.endswith('.gz') else open)(f, 'rb').read() for f in c['files'])
            records = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, 3073)
            self.images = records[:, 1:].reshape(-1, 3, 32, 32).clone()
            self.batch = c['batch']
            self.encoder = ResNet18(c['width'])
            self.model = nn.Sequential(self.encoder, head(self.encoder.features))
            self.opt = Lars(list(self.model.named_parameters()), lr=1.0)
        elif self.kind == 'supervised':
            self.model = ResNet18(c.get('width', 1.0), 10).to(DEVICE)
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, foreach=True)
            self.x = torch.randn(c['batch'], 3, 32, 32, device=DEVICE)
            self.y = torch.randint(0, 10, (c['batch'],), device=DEVICE)
        elif self.kind == 'ntxent':
            self.z = torch.randn(c['rows'], c['d'], device=DEVICE, requires_grad=True)
            self.tau = c.get('temperature', 0.5)
        elif self.kind == 'optim':
            self.model = ResNet18(c.get('width', 1.0), 10).to(DEVICE)
            params = list(self.model.parameters())
            for p in params:
                p.grad = torch.randn_like(p) * 0.01
            o = c['optimizer']
            if o == 'sgd':
                self.opt = torch.optim.SGD(params, lr=0.3, momentum=0.9, weight_decay=1e-6, foreach=True)
            elif o == 'adam':
                self.opt = torch.optim.Adam(params, lr=1e-3, foreach=True)
            elif o == 'lars':
                self.opt = Lars(list(self.model.named_parameters()))
            elif o == 'ema':
                self.target = [p.detach().clone() for p in params]
                self.online = [p.detach() for p in params]
                self.opt = None
            else:
                raise ValueError(o)
        elif self.kind == 'matmul':
            n = c['n']
            self.a, self.b = torch.rand(n, n, device=DEVICE), torch.rand(n, n, device=DEVICE)
        else:
            raise ValueError(self.kind)
        return {}

    def simclr_step(self, images, mark):
        """One SimCLR step on uint8 images (the step and run workloads); mark(phase) after each phase."""
        views = augment(images)
        mark('augment')
        z = self.model(views)
        mark('forward')
        loss, acc = nt_xent(z)
        mark('loss')
        self.opt.zero_grad()
        loss.backward()
        mark('backward')
        float(loss), float(acc)
        mark('read')
        self.opt.step()
        mark('optimizer')

    def run(self, split=False):
        sync()
        t = [time.perf_counter()]
        phases = []

        def mark(name):
            sync()
            t.append(time.perf_counter())
            phases.append(name)

        if self.kind == 'step':
            self.simclr_step(self.images, mark)
        elif self.kind == 'run':
            perm = torch.randperm(self.images.shape[0])
            for b in range(self.images.shape[0] // self.batch):
                self.simclr_step(self.images[perm[b * self.batch:(b + 1) * self.batch]], lambda _: None)
            mark('epoch')
        elif self.kind == 'supervised':
            loss = F.cross_entropy(self.model(self.x), self.y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            float(loss)
            mark('step')
        elif self.kind == 'ntxent':
            self.z.grad = None
            loss, _ = nt_xent(self.z, self.tau)
            loss.backward()
            float(self.z.grad[0, 0])
            mark('ntxent')
        elif self.kind == 'optim':
            if self.opt is not None:
                self.opt.step()
            else:
                torch._foreach_mul_(self.target, 0.99)
                torch._foreach_add_(self.target, self.online, alpha=0.01)
            mark('optimizer')
        elif self.kind == 'matmul':
            torch.mm(self.a, self.b)
            mark('matmul')
        ms = (t[-1] - t[0]) * 1000
        out = {'ms': ms}
        if split:
            out['split'] = {p: (t[i + 1] - t[i]) * 1000 for i, p in enumerate(phases)}
        return out


def blas_library():
    """The BLAS this process loaded (Debian's torch links libblas.so.3, whose alternative may be the
    slow reference BLAS or OpenBLAS), as the mapped file's path."""
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    with open('/proc/self/maps') as f:
        paths = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
    return ', '.join(sorted(paths)) or 'unknown'


def main():
    w = Workload()
    for line in sys.stdin:
        c = json.loads(line)
        try:
            op = c['op']
            if op == 'info':
                r = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'config': torch.__config__.show(), 'blas': blas_library(),
                     'device': torch.cuda.get_device_name(DEVICE) if DEVICE.type == 'cuda' else 'cpu'}
            elif op == 'threads':
                torch.set_num_threads(c['n'])
                r = {'threads': torch.get_num_threads()}
            elif op == 'setup':
                r = w.setup(c)
            elif op == 'run':
                if c.get('warm', False):  # untimed, so the timed call finds the thread pool awake
                    w.run()
                r = w.run(c.get('split', False))
            else:
                raise ValueError(op)
        except Exception as e:  # reported to the bench, which fails loudly
            r = {'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(r) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
