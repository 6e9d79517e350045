"""BYOL in PyTorch on the README's partial CIFAR-10 subset: does the recipe itself learn at this size?

Run with Debian's python3 (python3-torch 1.13, python3-torchvision 0.14), from the repository root:

    /usr/bin/python3 bench/byol_torch_reference.py --data ../shared/data/cifar-10-partial [--epochs 20]
        [--head-hidden 4096 --pred-hidden 4096] [--optimizer lars|sgd] [--lr 1.0] [--tau 0.99] [--out f.json]

The same setting as the README's `byol-cifar10` run, written independently of our engine: a
torchvision ResNet-18 with the CIFAR stem at widths 8, 16, 32, 64 (our --width 0.125; h has 64
features), projector and predictor Linear(no bias)-BN-ReLU-Linear, target = EMA of encoder +
projector with tau rising from --tau to 1 by a cosine, loss L(p1, z2') + L(p2, z1') with L = 2 - 2
cos, each view its own forward pass; LARS as the official SimCLR code (momentum 0.9, eta 0.02, wd
1e-5 added before the norms, BN parameters and biases excluded from both), or SGD momentum 0.9;
lr x B/256, linear warm-up (2 epochs) then cosine; batch 256, the last partial batch dropped (31
steps per epoch); torchvision's augmentations: RandomResizedCrop(32, 0.08-1), flip, ColorJitter
(0.4, 0.4, 0.2, 0.1) p 0.8, grayscale p 0.2, solarize p 0 / 0.2 (views in [0, 1], not normalized, as
ours). Per epoch it prints the loss, the retrieval accuracy our trainer logs (a prediction's most
similar target among the other view's B is its own image's) and, every --eval-every epochs and at
the end, the kNN top-1 on the test split (k 200, T 0.1, cosine on h, exp(s / T) votes, as
simclr/knn.ts) and h's effective dimension over the training images (participation ratio (tr C)^2 /
||C||_F^2 of h's covariance). A one-off comparison tool: not part of `npm test`.
"""
import argparse
import copy
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms
from torchvision.models.resnet import BasicBlock, ResNet

FILES = ['data_batch_1.first4000.bin.gz', 'data_batch_2.first1017.bin.gz', 'data_batch_3.first1017.bin.gz',
         'data_batch_4.first1017.bin.gz', 'data_batch_5.first1017.bin.gz']


def load(path):
    raw = np.frombuffer(gzip.open(path).read(), dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), raw[:, 0].astype(np.int64)


class CifarResNet(ResNet):
    def __init__(self, widths):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.dilation, self.groups, self.base_width = 1, 1, 64
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = self._make_layer(BasicBlock, widths[0], 2)
        self.layer2 = self._make_layer(BasicBlock, widths[1], 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, widths[2], 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, widths[3], 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')


def mlp(din, hidden, dout):
    return nn.Sequential(nn.Linear(din, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dout))


class Views(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images
        base = [transforms.RandomResizedCrop(32, scale=(0.08, 1.0)), transforms.RandomHorizontalFlip(),
                transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), transforms.RandomGrayscale(0.2)]
        self.t1 = transforms.Compose(base + [transforms.ToTensor()])
        self.t2 = transforms.Compose(base + [transforms.RandomSolarize(128, p=0.2), transforms.ToTensor()])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i])
        return self.t1(img), self.t2(img)


def excluded(modules):
    skip = set()
    for m in modules:
        for mod in m.modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                skip.update(id(p) for p in mod.parameters())
            elif isinstance(mod, nn.Linear) and mod.bias is not None:
                skip.add(id(mod.bias))
    return skip


def lars_step(params, skip, bufs, lr, wd, eta, momentum=0.9):
    with torch.no_grad():
        for p in params:
            g = p.grad
            trust = 1.0
            if id(p) not in skip:
                g = g + wd * p
                w, gn = torch.norm(p), torch.norm(g)
                trust = torch.where((w > 0) & (gn > 0), eta * w / gn, torch.ones(()))
            v = momentum * bufs.get(id(p), torch.zeros_like(p)) + lr * trust * g
            bufs[id(p)] = v
            p.sub_(v)


def sgd_step(params, skip, bufs, lr, wd, momentum=0.9):
    with torch.no_grad():
        for p in params:
            g = p.grad + (0 if id(p) in skip else wd * p)
            v = momentum * bufs.get(id(p), torch.zeros_like(p)) + g
            bufs[id(p)] = v
            p.sub_(lr * v)


def byol_loss(p, z):
    return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=1)).mean()


@torch.no_grad()
def features(encoder, images):
    encoder.eval()
    out = []
    for i in range(0, len(images), 512):
        x = torch.from_numpy(images[i:i + 512]).permute(0, 3, 1, 2).float() / 255
        out.append(encoder(x))
    encoder.train()
    return torch.cat(out)


def knn_top1(train_h, train_y, test_h, test_y, k=200, t=0.1, classes=10):
    a, b = F.normalize(train_h, dim=1), F.normalize(test_h, dim=1)
    sims = b @ a.T
    top, idx = sims.topk(min(k, len(a)), dim=1)
    votes = torch.zeros(len(b), classes).scatter_add_(1, train_y[idx], (top / t).exp())
    return (votes.argmax(1) == test_y).float().mean().item()


def effective_dim(h):
    c = torch.cov(h.T.double())
    return (torch.trace(c) ** 2 / (c * c).sum()).item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--batch-size', type=int, default=256)
    ap.add_argument('--optimizer', choices=['lars', 'sgd'], default='lars')
    ap.add_argument('--lr', type=float, default=1.0)
    ap.add_argument('--weight-decay', type=float, default=1e-5)
    ap.add_argument('--lars-eta', type=float, default=0.02)
    ap.add_argument('--warmup-epochs', type=int, default=2)
    ap.add_argument('--tau', type=float, default=0.99)
    ap.add_argument('--head-hidden', type=int, default=4096)
    ap.add_argument('--pred-hidden', type=int, default=4096)
    ap.add_argument('--head-out', type=int, default=256)
    ap.add_argument('--eval-every', type=int, default=5)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=None)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    parts = [load(os.path.join(a.data, f)) for f in FILES]
    train_x = np.concatenate([p[0] for p in parts]); train_y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    test_x, test_y = load(os.path.join(a.data, 'test_batch.first1017.bin.gz')); test_y = torch.from_numpy(test_y)

    encoder = CifarResNet([8, 16, 32, 64])
    projector, predictor = mlp(64, a.head_hidden, a.head_out), mlp(a.head_out, a.pred_hidden, a.head_out)
    t_encoder, t_projector = copy.deepcopy(encoder), copy.deepcopy(projector)
    for p in list(t_encoder.parameters()) + list(t_projector.parameters()):
        p.requires_grad_(False)
    online = [encoder, projector, predictor]
    params = [p for m in online for p in m.parameters()]
    skip, bufs = excluded(online), {}
    loader = torch.utils.data.DataLoader(Views(train_x), batch_size=a.batch_size, shuffle=True, drop_last=True, num_workers=0)
    steps_per_epoch = len(loader); total = a.epochs * steps_per_epoch; warm = a.warmup_epochs * steps_per_epoch
    base = a.lr * a.batch_size / 256
    record = {'args': vars(a), 'epochs': []}

    def evaluate(epoch):
        h = features(encoder, train_x)
        r = {'epoch': epoch, 'knn': knn_top1(h, train_y, features(encoder, test_x), test_y), 'effectiveDim': effective_dim(h)}
        print(f'  eval after epoch {epoch + 1}: kNN {100 * r["knn"]:.1f} %, h effective dim {r["effectiveDim"]:.1f}', flush=True)
        return r

    r0 = evaluate(-1)
    record['init'] = r0
    step, start = 0, time.time()
    for epoch in range(a.epochs):
        losses, accs = [], []
        for v1, v2 in loader:
            lr = base * step / warm if step < warm else base * 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
            tau = 1 - (1 - a.tau) * (math.cos(math.pi * step / total) + 1) / 2
            p1, p2 = predictor(projector(encoder(v1))), predictor(projector(encoder(v2)))
            with torch.no_grad():
                z1, z2 = t_projector(t_encoder(v1)), t_projector(t_encoder(v2))
            loss = byol_loss(p1, z2) + byol_loss(p2, z1)
            for p in params:
                p.grad = None
            loss.backward()
            if a.optimizer == 'lars':
                lars_step(params, skip, bufs, lr, a.weight_decay, a.lars_eta)
            else:
                sgd_step(params, skip, bufs, lr, a.weight_decay)
            with torch.no_grad():
                for t, o in zip(list(t_encoder.parameters()) + list(t_projector.parameters()), list(encoder.parameters()) + list(projector.parameters())):
                    t.mul_(tau).add_(o, alpha=1 - tau)
                hits = []
                for p, z in ((p1, z2), (p2, z1)):
                    s = F.normalize(p, dim=1) @ F.normalize(z, dim=1).T
                    hits.append((s.diagonal() >= s.max(1).values).float())
                accs.append(torch.cat(hits).mean().item())
            losses.append(loss.item())
            step += 1
        e = {'epoch': epoch, 'loss': float(np.mean(losses)), 'accuracy': float(np.mean(accs)), 'sec': time.time() - start}
        print(f'epoch {epoch + 1}/{a.epochs}: loss {e["loss"]:.3f} retrieval acc {e["accuracy"]:.4f} ({e["sec"]:.0f} s)', flush=True)
        if (epoch + 1) % a.eval_every == 0 or epoch + 1 == a.epochs:
            e.update(evaluate(epoch))
        record['epochs'].append(e)
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(record, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
