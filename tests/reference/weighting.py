"""Independent reference values for src/weighting/uncertainty.rs.

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
