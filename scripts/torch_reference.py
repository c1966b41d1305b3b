"""The PyTorch side of scripts/bench-vs-pytorch.sh: the same models, data
and training steps as `cargo bench --bench throughput`, timed the same way.

A benchmark tool, not a test. It follows shared/bench-reference/anchor_torch.py
(the script that measured the numbers in issue 6):
 * cnn: conv 32 (3x3, pad 1) -> relu -> maxpool 2 -> conv 64 -> relu -> maxpool 2
   -> flatten 3136; mlp: 784 -> 256 -> relu -> 128 -> relu; one linear head per task
   (digit 10, parity 2, high 2); glorot-uniform weights, zero biases (Keras defaults);
 * Adam(lr=1e-3, betas=(0.9, 0.999)); batch 32 of data/mnist10k, pixels / 255;
 * fixed: sum of the losses; uncertainty (Kendall et al. 2018): sum exp(-s_i) L_i + s_i,
   s in the model's Adam; gradnorm (Chen et al. 2018): alpha = 1.5, weights by
   Adam(lr=0.025) on |w_i ||dL_i/dW|| - mean(G) r_i^alpha| with W the last shared
   layer's weight, renormalised to sum T; stl: the digit task alone.
Each figure is the median of BLOCKS blocks of STEPS steps after a warm-up, the
configurations interleaved block by block.

Usage: python scripts/torch_reference.py [--threads N]
Prints one line per (model, config): TSV, torch, model, config, samples/s,
median ms/step, fastest and slowest block's ms/step.
"""
import argparse, gzip, os, statistics, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

WARMUP, BLOCKS, STEPS, BATCH = 10, 7, 20, 32
TASKS = {"digit": 10, "parity": 2, "high": 2}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def idx(path):
    """An IDX file (gzipped): big-endian magic, dimensions, then unsigned bytes."""
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    x = idx(os.path.join(ROOT, "data/mnist10k/images-idx3-ubyte.gz")).astype(np.float32) / 255
    y = idx(os.path.join(ROOT, "data/mnist10k/labels-idx1-ubyte.gz")).astype(np.int64)
    x = torch.from_numpy(x).unsqueeze(1)  # [n, 1, 28, 28]
    y = torch.from_numpy(y)
    return x, {"digit": y, "parity": y % 2, "high": (y >= 5).long()}


class Net(nn.Module):
    def __init__(self, kind, tasks):
        super().__init__()
        self.kind = kind
        if kind == "cnn":
            self.c1 = nn.Conv2d(1, 32, 3, padding=1)
            self.c2 = nn.Conv2d(32, 64, 3, padding=1)
            feat, self.last_shared = 64 * 7 * 7, self.c2.weight
        else:
            self.l1 = nn.Linear(784, 256)
            self.l2 = nn.Linear(256, 128)
            feat, self.last_shared = 128, self.l2.weight
        self.heads = nn.ModuleDict({t: nn.Linear(feat, TASKS[t]) for t in tasks})
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        if self.kind == "cnn":
            h = F.max_pool2d(F.relu(self.c1(x)), 2)
            h = F.max_pool2d(F.relu(self.c2(h)), 2).flatten(1)
        else:
            h = F.relu(self.l2(F.relu(self.l1(x.flatten(1)))))
        return {t: head(h) for t, head in self.heads.items()}


class Trainer:
    def __init__(self, kind, tasks, weighting):
        torch.manual_seed(0)
        self.tasks, self.weighting = tasks, weighting
        self.net = Net(kind, tasks)
        params = list(self.net.parameters())
        T = len(tasks)
        if weighting == "uncertainty":
            self.s = nn.Parameter(torch.zeros(T))
            params.append(self.s)
        if weighting == "gradnorm":
            self.w = nn.Parameter(torch.ones(T))
            self.wopt = torch.optim.Adam([self.w], lr=0.025)
            self.L0, self.alpha = None, 1.5
        self.opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999))

    def step(self, x, ys):
        out = self.net(x)
        losses = torch.stack([F.cross_entropy(out[t], ys[t]) for t in self.tasks])
        self.opt.zero_grad(set_to_none=True)
        if self.weighting == "uncertainty":
            loss = (torch.exp(-self.s) * losses + self.s).sum()
        elif self.weighting == "gradnorm":
            if self.L0 is None:
                self.L0 = losses.detach().clone()
            W = self.net.last_shared
            gnorm = torch.stack([torch.autograd.grad(losses[i], W, retain_graph=True)[0].norm()
                                 for i in range(len(self.tasks))])
            G = self.w * gnorm
            ratio = losses.detach() / self.L0
            target = (G.mean() * (ratio / ratio.mean()) ** self.alpha).detach()
            lgrad = (G - target).abs().sum()
            self.wopt.zero_grad(set_to_none=True)
            self.w.grad = torch.autograd.grad(lgrad, self.w)[0]
            loss = (self.w.detach() * losses).sum()
        else:
            loss = losses.sum()
        loss.backward()
        self.opt.step()
        if self.weighting == "gradnorm":
            self.wopt.step()
            with torch.no_grad():
                self.w.mul_(len(self.tasks) / self.w.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    threads = ap.parse_args().threads
    torch.set_num_threads(threads)
    x, ys = load()
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=g)
    batches = [order[i:i + BATCH] for i in range(0, len(x) - BATCH + 1, BATCH)]
    all_tasks = list(TASKS)
    for model in ("cnn", "mlp"):
        configs = [("fixed", all_tasks, "fixed"), ("uncertainty", all_tasks, "uncertainty"),
                   ("gradnorm", all_tasks, "gradnorm"), ("stl", ["digit"], "fixed")]
        trainers = [Trainer(model, tasks, w) for _, tasks, w in configs]
        cursor = [0] * len(configs)

        def run(i, steps):
            tr, start = trainers[i], time.perf_counter()
            for _ in range(steps):
                idx = batches[cursor[i] % len(batches)]
                cursor[i] += 1
                tr.step(x[idx], {t: ys[t][idx] for t in tr.tasks})
            return (time.perf_counter() - start) / steps

        blocks = [[] for _ in configs]
        for block in range(BLOCKS):
            for i in range(len(configs)):
                run(i, WARMUP if block == 0 else 2)
                blocks[i].append(run(i, STEPS))
        for (name, _, _), b in zip(configs, blocks):
            step = statistics.median(b)
            print(f"TSV\ttorch\t{model}\t{name}\t{BATCH / step:.1f}\t{step * 1e3:.4f}\t"
                  f"{min(b) * 1e3:.4f}\t{max(b) * 1e3:.4f}", flush=True)


if __name__ == "__main__":
    main()
