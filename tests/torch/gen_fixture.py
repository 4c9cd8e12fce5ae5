#!/usr/bin/python3
"""Generate the GRU4Rec + attention + focal loss cross-check fixture for the C unit tests.

Runs the PyTorch reference's own modules (shared/anchors/torch_ref: models.py,
data.py) on a tiny float64 case and writes every input, parameter, output and
gradient as plain text, so a C reimplementation can be compared value by value.

    /usr/bin/python3 tests/torch/gen_fixture.py              > tests/fixtures/gru_attn_focal.txt
    /usr/bin/python3 tests/torch/gen_fixture.py --layers 2   > tests/fixtures/gru2_attn_focal.txt
    /usr/bin/python3 tests/torch/gen_fixture.py --check      # finite-difference check, report on stderr

The reference is found at ../../../shared/anchors/torch_ref relative to this
script (repo /work/main, shared /work/shared), or at $TORCH_REF if set.

File format: '#' lines are comments; then, per array, a line '<name> <n>' and a
line with the n values space-separated, flattened row-major (C order); floats
as '%.17g' (round-trip exact for float64), integers as integers.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_REF = os.environ.get("TORCH_REF") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "anchors", "torch_ref"))
sys.path.insert(0, TORCH_REF)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import data  # noqa: E402
import models  # noqa: E402

# ---------------------------------------------------------------- the case
C = 6                  # classes
FEATURE_SIZES = [4]    # one categorical feature with 4 known values
N_NUMERIC = 2
HIDDEN = 8
ATTN_DIM = 0           # 0 = hidden
EMB_SCALE = 1.0
DROPOUT = 0.0
GAMMA = 2.0
MODEL_SEED = 7         # torch.manual_seed before building the model
INPUT_SEED = 20240607  # torch.Generator seed of the random inputs
B, T = 3, 6
LENGTHS = [6, 4, 2]
ALPHA_COUNTS = [50, 20, 10, 5, 3, 1]   # made-up class counts for alpha


def focal_alpha64(counts):
    """train.focal_alpha in float64: alpha_c = n_c^-1/2, normalised to mean 1 over classes with n_c > 0."""
    counts = np.asarray(counts, dtype=np.float64)
    alpha = np.zeros(len(counts))
    seen = counts > 0
    alpha[seen] = counts[seen] ** -0.5
    alpha[seen] /= alpha[seen].mean()
    return torch.tensor(alpha, dtype=torch.float64)


def make_inputs():
    g = torch.Generator().manual_seed(INPUT_SEED)
    lengths = torch.tensor(LENGTHS, dtype=torch.long)
    mask = torch.arange(T)[None, :] < lengths[:, None]                     # (B,T) bool
    n_feat = len(FEATURE_SIZES)
    cats = torch.randint(2, C + 2, (B, T), generator=g)                     # class + 2
    feats = torch.randint(1, FEATURE_SIZES[0] + 2, (B, T, n_feat), generator=g)  # 1 = UNK, 2..5 known
    nums = torch.randn(B, T, N_NUMERIC, generator=g, dtype=torch.float64)
    targets = torch.randint(0, C, (B, T), generator=g)
    # guaranteed special cases: UNK feature values, targets without loss
    feats[0, 1, 0] = 1
    feats[2, 0, 0] = 1
    targets[0, 2] = -1
    targets[1, 0] = -1
    targets[2, 1] = -1      # last valid position of sequence 2
    # padding: PAD ids, zero numerics, no targets
    cats[~mask] = 0
    feats[~mask] = 0
    nums[~mask] = 0.0
    targets[~mask] = -1
    last_target = targets[torch.arange(B), lengths - 1].clone()
    batch = data.Batch(cats=cats, feats=feats, nums=nums, lengths=lengths, mask=mask,
                       targets=targets, last_target=last_target)
    return batch


def build_model(layers):
    torch.manual_seed(MODEL_SEED)
    model = models.GRU4RecAttention(C, FEATURE_SIZES, N_NUMERIC, hidden=HIDDEN, layers=layers,
                                    dropout=DROPOUT, emb_scale=EMB_SCALE, attn_dim=ATTN_DIM or None)
    return model.double()


def named_params(model, layers):
    """(fixture name, parameter tensor) in fixture order."""
    rnn = model.rnn
    out = [("cat_emb", model.encoder.cat_emb.weight),
           ("feat_emb0", model.encoder.feat_embs[0].weight)]
    for k in range(layers):
        sfx = "" if k == 0 else f"_l{k}"
        out += [("w_ih" + sfx, getattr(rnn, f"weight_ih_l{k}")),
                ("w_hh" + sfx, getattr(rnn, f"weight_hh_l{k}")),
                ("b_ih" + sfx, getattr(rnn, f"bias_ih_l{k}")),
                ("b_hh" + sfx, getattr(rnn, f"bias_hh_l{k}"))]
    out += [("w_k", model.attn.w_k.weight), ("b_k", model.attn.w_k.bias),
            ("w_q", model.attn.w_q.weight), ("v", model.attn.v.weight),
            ("w_o", model.out.weight), ("b_o", model.out.bias)]
    return out


def loss_of(model, batch, alpha):
    logits = model(batch, all_positions=True)
    return logits, models.focal_loss(logits.reshape(-1, C), batch.targets.reshape(-1), alpha, GAMMA)


def fmt_values(t):
    t = torch.as_tensor(t).detach().reshape(-1)
    if t.dtype.is_floating_point:
        return " ".join("%.17g" % float(x) for x in t.tolist())
    return " ".join(str(int(x)) for x in t.tolist())


def generate(layers):
    torch.set_num_threads(1)      # fixed reduction order
    batch = make_inputs()
    alpha = focal_alpha64(ALPHA_COUNTS)
    model = build_model(layers)
    model.train()                 # dropout is 0: train and eval modes compute the same
    logits_all, loss = loss_of(model, batch, alpha)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        logits_last = model(batch, all_positions=False)
    params = named_params(model, layers)

    enc = model.encoder
    A = model.attn.w_k.out_features
    arrays = [("C", C), ("F", len(FEATURE_SIZES)), ("N", N_NUMERIC), ("H", HIDDEN), ("A", A),
              ("L", layers), ("E0", enc.cat_emb.embedding_dim), ("E1", enc.feat_embs[0].embedding_dim),
              ("V1", enc.feat_embs[0].num_embeddings), ("B", B), ("T", T), ("gamma", torch.tensor([GAMMA])),
              ("lengths", batch.lengths), ("cats", batch.cats), ("feats", batch.feats), ("nums", batch.nums),
              ("targets", batch.targets), ("alpha", alpha)]
    arrays += [(n, p) for n, p in params]
    arrays += [("logits_all", logits_all), ("loss", loss), ("logits_last", logits_last)]
    arrays += [("grad_" + n, p.grad) for n, p in params]
    return model, batch, alpha, params, arrays, float(loss)


def header(layers, loss):
    cmd = "/usr/bin/python3 tests/torch/gen_fixture.py" + (f" --layers {layers}" if layers != 1 else "")
    out = "gru_attn_focal.txt" if layers == 1 else f"gru{layers}_attn_focal.txt"
    lines = [
        f"seqsales cross-check fixture: torch_ref GRU4RecAttention ({layers} GRU layer{'s' if layers > 1 else ''})"
        " + causal additive attention + focal loss, float64.",
        f"Generated by: {cmd} > tests/fixtures/{out}",
        f"Reference modules: shared/anchors/torch_ref (models.GRU4RecAttention, models.focal_loss, data.Batch);"
        f" torch {torch.__version__}.",
        f"Case: C={C} classes, feature_sizes={FEATURE_SIZES}, n_numeric={N_NUMERIC}, hidden={HIDDEN},"
        f" layers={layers}, attn_dim=0 (=hidden), emb_scale={EMB_SCALE}, dropout={DROPOUT}, gamma={GAMMA}.",
        f"torch.manual_seed({MODEL_SEED}); model built then model.double(). Inputs from"
        f" torch.Generator().manual_seed({INPUT_SEED}); B={B}, T={T}, lengths={LENGTHS} (right padding).",
        "cats: class+2 on valid positions, 0 = PAD; feats: 1 = UNK, 2..5 known, 0 = PAD;"
        " nums: N(0,1), 0 on padding; targets: class 0..C-1, -1 = no loss (incl. padding).",
        "mask = arange(T) < lengths. alpha = focal_alpha(counts "
        f"{ALPHA_COUNTS}) in float64 (n_c^-1/2, mean 1).",
        "logits_all = model(batch, all_positions=True) (B,T,C), padding positions included as torch"
        " computes them (query t attends s <= t with s < length).",
        "loss = focal_loss(logits_all.reshape(-1,C), targets.reshape(-1), alpha, gamma) ="
        " mean over targets >= 0 of -alpha_y * max(1-p_y, 1e-6)^gamma * log p_y; grads from loss.backward().",
        "logits_last = model(batch, all_positions=False) (B,C): query = h at position length-1, keys = all valid s.",
        "Parameters (torch shapes): cat_emb (C+2,E0), feat_emb0 (V1,E1) [row 0 = padding_idx: zero, zero grad],",
        " w_ih (3H,D) D=E0+E1+N, w_hh (3H,H), b_ih (3H), b_hh (3H) [gate order r,z,n as in torch.nn.GRU];"
        + (" w_ih_l1 (3H,H), w_hh_l1, b_ih_l1, b_hh_l1 = layer 2;" if layers > 1 else ""),
        " w_k (A,H), b_k (A), w_q (A,H) no bias, v (A) = attn.v.weight, w_o (C,2H) on [context; h], b_o (C).",
        "GRU: r=sig(W_ir x+b_ir+W_hr h+b_hr), z=sig(W_iz x+b_iz+W_hz h+b_hz),"
        " n=tanh(W_in x+b_in+r*(W_hn h+b_hn)), h'=(1-z)*n+z*h, h_0 = 0.",
        "Format: per array a line '<name> <n>' then n values, row-major; floats '%.17g', ints as ints.",
        f"loss = {loss!r}",
    ]
    return "".join("# " + s + "\n" for s in lines)


def write(arrays, layers, loss, fh):
    fh.write(header(layers, loss))
    for name, value in arrays:
        t = torch.as_tensor(value)
        fh.write(f"{name} {t.numel()}\n{fmt_values(t)}\n")


def check(layers, n_per_param=3, eps=1e-6):
    """Central finite differences of the loss w.r.t. a few entries of every parameter (exit 1 if off)."""
    model, batch, alpha, params, arrays, loss = generate(layers)
    g = torch.Generator().manual_seed(1)
    worst = 0.0
    for name, p in params:
        flat = p.detach().view(-1)
        grad = p.grad.view(-1)
        nz = torch.nonzero(grad.abs() > 0).view(-1)
        pool = nz if len(nz) else torch.arange(flat.numel())
        idx = pool[torch.randperm(len(pool), generator=g)[:n_per_param]].tolist()
        for i in idx:
            old = float(flat[i])
            with torch.no_grad():
                flat[i] = old + eps
                lp = float(loss_of(model, batch, alpha)[1])
                flat[i] = old - eps
                lm = float(loss_of(model, batch, alpha)[1])
                flat[i] = old
            fd = (lp - lm) / (2 * eps)
            an = float(grad[i])
            # central differences in float64 with eps 1e-6: round-off ~1e-10 absolute, truncation ~eps^2
            err = abs(fd - an) / (1e-4 + abs(an))
            worst = max(worst, err)
            print(f"{name}[{i}]  analytic {an:+.10e}  finite-diff {fd:+.10e}  |diff| {abs(fd - an):.1e}"
                  f"  err {err:.1e}", file=sys.stderr)
    print(f"layers={layers} loss={loss!r} worst |fd - analytic| / (1e-4 + |analytic|) = {worst:.2e}",
          file=sys.stderr)
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=1, choices=[1, 2])
    ap.add_argument("--out", default=None, help="output file (default: stdout)")
    ap.add_argument("--check", action="store_true",
                    help="finite-difference check of the gradients instead of writing the fixture")
    args = ap.parse_args(argv)
    if args.check:
        sys.exit(0 if check(args.layers) < 1e-5 else 1)
    _, _, _, _, arrays, loss = generate(args.layers)
    if args.out:
        with open(args.out, "w") as fh:
            write(arrays, args.layers, loss, fh)
    else:
        write(arrays, args.layers, loss, sys.stdout)


if __name__ == "__main__":
    main()
