"""Independent reference values for the `ordinal` plugin
(plugins/ordinal/src/ordinal.rs and class_mae.rs).

Plain Python, no dependencies: `python3 tests/reference/ordinal.py`.
Each printed value is the one the Rust test asserts.

The ordinal loss of Niu et al. (2016): class y of K becomes K-1 binary
targets [y > 0, y > 1, ..., y > K-2]; the loss is the binary cross-entropy
of each threshold logit, averaged over thresholds and rows.
"""
import math


def bce(x, y):
    """-(y log s(x) + (1-y) log(1-s(x))), written out from the definition."""
    s = 1.0 / (1.0 + math.exp(-x))
    return -(y * math.log(s) + (1 - y) * math.log(1 - s))


def ordinal_loss(logits, classes):
    terms = []
    for row, y in zip(logits, classes):
        for k, x in enumerate(row):
            terms.append(bce(x, 1.0 if y > k else 0.0))
    return sum(terms) / len(terms)


def class_mae(pred, truth):
    return sum(abs(p - t) for p, t in zip(pred, truth)) / len(truth)


print("ordinal loss", round(ordinal_loss([[2, 0.5, -1], [-0.3, -2, -4]], [2, 1]), 7))
print("class_mae", class_mae([0, 3, 4, 2], [0, 1, 1, 2]))
