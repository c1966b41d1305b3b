"""Independent reference values for src/weighting/uncertainty.rs and gradnorm.rs.

Plain Python: `python3 tests/reference/weighting.py`.
Two tasks: classification (c = 1) with L = 2, regression (c = 1/2) with L = 3;
log-variances s = (0.5, -1); one SGD step with learning rate 0.1.
"""
import math

s, c, L = [0.5, -1.0], [1.0, 0.5], [2.0, 3.0]
objective = sum(c[i] * math.exp(-s[i]) * L[i] + 0.5 * s[i] for i in range(2))
weights = [c[i] * math.exp(-s[i]) for i in range(2)]
grad = [-c[i] * math.exp(-s[i]) * L[i] + 0.5 for i in range(2)]
after = [s[i] - 0.1 * grad[i] for i in range(2)]
print("objective", objective)  # 5.040484062113835
print("weights", weights)  # [0.6065306597126334, 1.3591409142295225]
print("d objective / d s", grad)  # [-0.7130613194252668, -3.577422742688568]
print("s after one SGD step", after)  # [0.5713061319425267, -0.6422577257311433]

# GradNorm (src/weighting/gradnorm.rs): two tasks, w = (1, 1), norms ||grad_W L_i|| = (2, 1),
# L(0) = (1, 1), L = (0.5, 1), alpha = 1.5, one SGD step with learning rate 0.1.
w, n, L0, L, alpha = [1.0, 1.0], [2.0, 1.0], [1.0, 1.0], [0.5, 1.0], 1.5
ratio = [L[i] / L0[i] for i in range(2)]
r = [x / (sum(ratio) / 2) for x in ratio]
G = [w[i] * n[i] for i in range(2)]
target = [sum(G) / 2 * ri**alpha for ri in r]
l_grad = sum(abs(G[i] - target[i]) for i in range(2))
grad = [math.copysign(n[i], G[i] - target[i]) for i in range(2)]
w = [w[i] - 0.1 * grad[i] for i in range(2)]
w = [x * 2 / sum(w) for x in w]
print("gradnorm r", r)  # [2/3, 4/3]
print("gradnorm targets", target)  # [0.816496580927726, 2.309401076758503]
print("gradnorm L_grad", l_grad)  # 2.4929044958307767
print("gradnorm dL_grad/dw", grad)  # [2.0, -1.0]
print("gradnorm w after the step", w)  # [0.8421052631578947, 1.1578947368421053]
