#!/usr/bin/python3
"""Time one training pass (forward, focal loss, backward) of the PyTorch reference's
BiLSTMAttention and GRU4RecAttention on the batch shape of bench/lstm_bench.c, for comparison
with the engine: B windows of at most T events (lengths uniform in 1..T, or all T with --full),
hidden H, C classes, input width 61 (category embedding 50, two 5-value features of 4, three
numerics), dropout 0.2, float32, torch.set_num_threads(--threads).

    /usr/bin/python3 bench/torch_pass_bench.py [--B 256] [--T 50] [--hidden 128] [--classes 500] [--full]

Prints one JSON line: best of --reps passes after one warm-up, per model.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("TORCH_REF") or os.path.normpath(
    os.path.join(HERE, "..", "..", "shared", "anchors", "torch_ref")))

import torch  # noqa: E402

import data  # noqa: E402
import models  # noqa: E402


def make_batch(B, T, C, full, lstm, g):
    lengths = torch.full((B,), T) if full else torch.randint(1, T + 1, (B,), generator=g)
    lengths = lengths.sort(descending=True).values
    mask = torch.arange(T)[None, :] < lengths[:, None]
    cats = torch.randint(2, C + 2, (B, T), generator=g)
    feats = torch.randint(2, 7, (B, T, 2), generator=g)
    nums = torch.randn(B, T, 3, generator=g)
    targets = torch.randint(0, C, (B, T), generator=g)
    cats[~mask] = 0
    feats[~mask] = 0
    nums[~mask] = 0.0
    targets[~mask] = -1
    if lstm:   # one target per window, at its last event
        keep = torch.zeros_like(mask)
        keep[torch.arange(B), lengths - 1] = True
        targets[~keep] = -1
    last = targets[torch.arange(B), lengths - 1].clone()
    return data.Batch(cats=cats, feats=feats, nums=nums, lengths=lengths, mask=mask,
                      targets=targets, last_target=last)


def time_pass(name, B, T, H, C, full, reps):
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    lstm = name == "bilstm"
    cls = models.BiLSTMAttention if lstm else models.GRU4RecAttention
    model = cls(C, [5, 5], 3, hidden=H, layers=1, dropout=0.2)
    model.train()
    batch = make_batch(B, T, C, full, lstm, g)
    alpha = torch.ones(C)
    best = float("inf")
    for rep in range(reps + 1):
        t0 = time.perf_counter()
        model.zero_grad()
        if lstm:
            loss = models.focal_loss(model(batch), batch.last_target, alpha, 2.0)
        else:
            loss = models.focal_loss(model(batch, all_positions=True).reshape(-1, C),
                                     batch.targets.reshape(-1), alpha, 2.0)
        loss.backward()
        s = time.perf_counter() - t0
        if rep > 0:
            best = min(best, s)
    n_targets = int((batch.targets >= 0).sum())
    return {"pass_seconds": round(best, 4), "targets": n_targets,
            "ms_per_target": round(best / n_targets * 1e3, 4), "events": int(batch.lengths.sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--B", type=int, default=256)
    ap.add_argument("--T", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--classes", type=int, default=500)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = {"B": a.B, "T": a.T, "hidden": a.hidden, "classes": a.classes, "full": a.full,
           "threads": a.threads, "torch": torch.__version__}
    for name in ("bilstm", "gru"):
        out[name] = time_pass(name, a.B, a.T, a.hidden, a.classes, a.full, a.reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
