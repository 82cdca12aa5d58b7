#!/usr/bin/python3
"""scikit-learn IsolationForest on the same vectors and settings as the C
forest (100 trees, max_samples=256): batch scoring rate over the test set,
and the one-reading-at-a-time rate a web endpoint would see.
usage: sklearn_rate.py DIR   (DIR/train.f32, DIR/test.f32, DIR/dim from speed.c)"""
import os
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest

d = sys.argv[1]
dim = int(open(os.path.join(d, "dim")).read())
train = np.fromfile(os.path.join(d, "train.f32"), dtype=np.float32).reshape(-1, dim)
test = np.fromfile(os.path.join(d, "test.f32"), dtype=np.float32).reshape(-1, dim)
test = test[:200000]
f = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(train)
t0 = time.perf_counter()
f.score_samples(test)
dt = time.perf_counter() - t0
print(f"bench: detector.sklearn_rate {len(test) / dt:.0f} readings/s")
n = 200
t0 = time.perf_counter()
for i in range(n):
    f.score_samples(test[i:i + 1])
dt = time.perf_counter() - t0
print(f"bench: detector.sklearn_single_rate {n / dt:.0f} readings/s")
