#!/usr/bin/python3
"""scikit-learn IsolationForest on the same vectors and settings as the C
forest (100 trees, max_samples=256): the references for the detector's
speed and memory figures.
  - sklearn_rate: batch scoring rate over the test set (vectors/s);
  - sklearn_single_rate: one vector at a time, as a web endpoint would;
  - sklearn_reading_rate: readings of three metrics per second in batch
    (one vector per metric, each scored by its metric's forest: rate / 3),
    the reference for detector.pipeline_rate;
  - sklearn_bytes_per_sensor: pickled size of three fitted forests (one
    per metric), what keeping a scikit-learn model per sensor would hold,
    the reference for detector.bytes_per_sensor.
usage: sklearn_rate.py DIR   (DIR/train.f32, DIR/test.f32, DIR/dim from speed.c)"""
import os
import pickle
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest

if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
    print(__doc__)
    sys.exit(0 if len(sys.argv) == 2 else 2)
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
print(f"bench: detector.sklearn_reading_rate {len(test) / dt / 3:.0f} readings/s")
n = 200
t0 = time.perf_counter()
for i in range(n):
    f.score_samples(test[i:i + 1])
dt = time.perf_counter() - t0
print(f"bench: detector.sklearn_single_rate {n / dt:.0f} readings/s")
print(f"bench: detector.sklearn_bytes_per_sensor {3 * len(pickle.dumps(f))} bytes")
