#!/usr/bin/env python3
"""PyTorch reference for bench/train-step.ts: the same networks, shapes and optimizers.

Prints one JSON object: {"threads": n, "results": {model: {"train_ms": [...], "infer_ips": x}}}.
Run by the TypeScript bench with a tuned malloc and OpenBLAS (see docs/native-backend.md).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def weight(*shape):
    return (torch.randn(*shape) * 0.1).clamp_(-0.2, 0.2).requires_grad_()


def bias(n, value=0.1):
    return torch.full((n,), value).requires_grad_()


def mlp(l2_ema):
    w1, b1, w2, b2 = weight(784, 500), bias(500), weight(500, 10), bias(10)
    params = [w1, b1, w2, b2]
    shadows = [p.detach().clone() for p in params] if l2_ema else []
    opt = torch.optim.SGD(params, lr=0.1)

    def forward(x):
        return torch.relu(x @ w1 + b1) @ w2 + b2

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(x), y)
        if l2_ema:
            loss = loss + 1e-4 * (w1.pow(2).sum() + w2.pow(2).sum()) / 2
        loss.backward()
        opt.step()
        if l2_ema:
            with torch.no_grad():
                for s, p in zip(shadows, params):
                    s.mul_(0.99).add_(p, alpha=0.01)

    return step, forward, 100


def cnn(kind):
    hidden = 512 if kind == 'book' else 1024
    c1, cb1, c2, cb2 = weight(32, 1, 5, 5), bias(32), weight(64, 32, 5, 5), bias(64)
    f1, fb1, f2, fb2 = weight(7 * 7 * 64, hidden), bias(hidden), weight(hidden, 10), bias(10)
    params = [c1, cb1, c2, cb2, f1, fb1, f2, fb2]
    opt = torch.optim.SGD(params, lr=0.01) if kind == 'book' else torch.optim.Adam(params, lr=1e-4)

    def forward(x, training=False):
        h = x.view(-1, 1, 28, 28)
        h = F.max_pool2d(torch.relu(F.conv2d(h, c1, cb1, padding=2)), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, c2, cb2, padding=2)), 2)
        h = torch.relu(h.reshape(h.shape[0], -1) @ f1 + fb1)
        if kind == 'deep' and training:
            h = F.dropout(h, 0.5, training=True)
        return h @ f2 + fb2

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(forward(x, True), y).backward()
        opt.step()

    return step, forward, 100 if kind == 'book' else 50


MODELS = {
    'mlp': lambda: mlp(False),
    'mlp_l2_ema': lambda: mlp(True),
    'book_cnn': lambda: cnn('book'),
    'deep_cnn': lambda: cnn('deep'),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--models', default=','.join(MODELS))
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--scale', type=float, default=1.0, help='multiplies the steps per repeat')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {}
    for name in args.models.split(','):
        step, forward, batch = MODELS[name]()
        x = torch.rand(batch, 784)
        y = torch.randint(0, 10, (batch,))
        per_repeat = max(1, int((40 if name.startswith('mlp') else 4) * args.scale))
        for _ in range(max(2, per_repeat // 2)):
            step(x, y)
        times, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(per_repeat):
                step(x, y)
            times.append((time.perf_counter() - t0) * 1000 / per_repeat)
            cpu.append((time.process_time() - c0) * 1000 / per_repeat)
        xi = torch.rand(1000 if name.startswith('mlp') else 500, 784)
        with torch.no_grad():
            forward(xi)
            t0 = time.perf_counter()
            reps = 5
            for _ in range(reps):
                forward(xi)
            ips = reps * xi.shape[0] / (time.perf_counter() - t0)
        results[name] = {'train_ms': times, 'median_ms': statistics.median(times),
                         'median_cpu_ms': statistics.median(cpu), 'infer_ips': ips}
    print(json.dumps({'threads': args.threads, 'torch': torch.__version__, 'results': results}))


if __name__ == '__main__':
    main()
