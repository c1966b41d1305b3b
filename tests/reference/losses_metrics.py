"""Independent reference values for the unit tests of losses, metrics and the
optimizer (src/tasks/loss.rs, src/tasks/metrics.rs, src/train/optimizer.rs).

Plain Python, no dependencies: `python3 tests/reference/losses_metrics.py`.
Each printed value is the one the Rust test asserts.
"""
import math


def cross_entropy(rows):
    """Mean softmax cross-entropy over (logits, class) rows."""
    total = 0.0
    for logits, c in rows:
        m = max(logits)
        lse = m + math.log(sum(math.exp(v - m) for v in logits))
        total += lse - logits[c]
    return total / len(rows)


def bce_with_logits(rows):
    sig = lambda x: 1.0 / (1.0 + math.exp(-x))
    return sum(-(y * math.log(sig(x)) + (1 - y) * math.log(1 - sig(x))) for x, y in rows) / len(rows)


def mse(pairs):
    return sum((p - t) ** 2 for p, t in pairs) / len(pairs)


def macro_f1(pred, truth):
    classes = sorted(set(pred) | set(truth))
    f1s = []
    for c in classes:
        tp = sum(p == c and t == c for p, t in zip(pred, truth))
        fp = sum(p == c and t != c for p, t in zip(pred, truth))
        fn = sum(p != c and t == c for p, t in zip(pred, truth))
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def regression(pred, truth):
    n = len(truth)
    rmse = math.sqrt(sum((p - t) ** 2 for p, t in zip(pred, truth)) / n)
    mae = sum(abs(p - t) for p, t in zip(pred, truth)) / n
    mean = sum(truth) / n
    r2 = 1 - sum((p - t) ** 2 for p, t in zip(pred, truth)) / sum((t - mean) ** 2 for t in truth)
    return rmse, mae, r2


def adam_on_square(steps, lr=0.1, b1=0.9, b2=0.999, eps=1e-12):
    p, m, v, out = 1.0, 0.0, 0.0, []
    for t in range(1, steps + 1):
        g = 2 * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        out.append(p)
    return out


if __name__ == "__main__":
    print("cross_entropy", cross_entropy([([2.0, 1.0, 0.0], 0), ([0.0, 0.0, 0.0], 2)]))  # 0.7531091...
    print("bce_with_logits", bce_with_logits([(1.5, 1), (-0.5, 0)]))  # 0.3377451...
    print("mse", mse([(1.0, 0.0), (-2.0, 1.0)]))  # 5.0
    truth, pred = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    print("accuracy", sum(p == t for p, t in zip(pred, truth)) / len(truth))
    print("macro_f1", macro_f1(pred, truth))  # (0.5 + 0.8 + 2/3) / 3
    # Standardised outputs 0, 1, -1 and targets 0.5, 1, -2 with mean 10, std 2.
    print("rmse, mae, r2", regression([10, 12, 8], [11, 12, 6]))  # sqrt(5/3), 1, 1 - 15/62
    print("adam p after 3 steps", adam_on_square(3))  # 0.9, 0.8004122, 0.7015863
    print("delta_pct", 100 * (0.99 - 0.98) / 0.98, -100 * (90 - 100) / 100)
