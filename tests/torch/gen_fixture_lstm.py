#!/usr/bin/python3
"""Generate the bidirectional LSTM + attention + focal loss cross-check fixture for the C unit tests.

Runs the PyTorch reference's own modules (shared/anchors/torch_ref: models.BiLSTMAttention,
models.focal_loss, data.Batch) on a tiny float64 case and writes every input, parameter, output
and gradient as plain text, in the format of gen_fixture.py (the GRU's), whose helpers it uses.

    /usr/bin/python3 tests/torch/gen_fixture_lstm.py              > tests/fixtures/bilstm_attn_focal.txt
    /usr/bin/python3 tests/torch/gen_fixture_lstm.py --layers 2   > tests/fixtures/bilstm2_attn_focal.txt
    /usr/bin/python3 tests/torch/gen_fixture_lstm.py --check      # finite-difference check, report on stderr

The case has windows of unsorted lengths (the reference packs with enforce_sorted=False), one of
length 1, one whose target is unknown (-1: no loss), and an attention size different from the
hidden size.
"""
import argparse
import sys

import torch

import gen_fixture as gf   # sys.path set up there: torch_ref's data and models
import models

# ---------------------------------------------------------------- the case
C = 6                  # classes
FEATURE_SIZES = [4]    # one categorical feature with 4 known values
N_NUMERIC = 2
HIDDEN = 4
ATTN_DIM = 3
EMB_SCALE = 1.0
DROPOUT = 0.0
GAMMA = 2.0
MODEL_SEED = 11        # torch.manual_seed before building the model
INPUT_SEED = 20240611  # torch.Generator seed of the random inputs
B, T = 4, 6
LENGTHS = [4, 6, 1, 5]
NO_TARGET = 0          # this window's target is unknown (-1)
ALPHA_COUNTS = [50, 20, 10, 5, 3, 1]
ATTN_SCALE = 4.0       # attention parameters scaled after the seeded init (see build_model)


def make_inputs():
    g = torch.Generator().manual_seed(INPUT_SEED)
    lengths = torch.tensor(LENGTHS, dtype=torch.long)
    mask = torch.arange(T)[None, :] < lengths[:, None]
    n_feat = len(FEATURE_SIZES)
    cats = torch.randint(2, C + 2, (B, T), generator=g)
    feats = torch.randint(1, FEATURE_SIZES[0] + 2, (B, T, n_feat), generator=g)
    nums = torch.randn(B, T, N_NUMERIC, generator=g, dtype=torch.float64)
    targets = torch.randint(0, C, (B, T), generator=g)
    feats[1, 2, 0] = 1      # UNK feature values
    feats[3, 0, 0] = 1
    cats[~mask] = 0
    feats[~mask] = 0
    nums[~mask] = 0.0
    targets[~mask] = -1
    targets[NO_TARGET, LENGTHS[NO_TARGET] - 1] = -1
    last_target = targets[torch.arange(B), lengths - 1].clone()
    return gf.data.Batch(cats=cats, feats=feats, nums=nums, lengths=lengths, mask=mask,
                         targets=targets, last_target=last_target)


def build_model(layers):
    torch.manual_seed(MODEL_SEED)
    model = models.BiLSTMAttention(C, FEATURE_SIZES, N_NUMERIC, hidden=HIDDEN, layers=layers,
                                   dropout=DROPOUT, emb_scale=EMB_SCALE, attn_dim=ATTN_DIM).double()
    # At the default initialisation the LSTM's states are small and the attention nearly uniform:
    # its parameters' gradients are sums that almost cancel (the softmax's gradient sums to 0),
    # which float32 cannot reproduce to 1e-4. Sharper attention makes them well-conditioned.
    with torch.no_grad():
        for w in (model.attn.w_k.weight, model.attn.w_k.bias, model.attn.w_q.weight, model.attn.v.weight):
            w.mul_(ATTN_SCALE)
    return model


def named_params(model, layers):
    """(fixture name, parameter tensor) in fixture order = the C layout (ss_lstm_params)."""
    rnn = model.rnn
    out = [("cat_emb", model.encoder.cat_emb.weight),
           ("feat_emb0", model.encoder.feat_embs[0].weight)]
    for k in range(layers):
        for sfx in ("", "_reverse"):
            out += [(f"w_ih_l{k}{sfx}", getattr(rnn, f"weight_ih_l{k}{sfx}")),
                    (f"w_hh_l{k}{sfx}", getattr(rnn, f"weight_hh_l{k}{sfx}")),
                    (f"b_ih_l{k}{sfx}", getattr(rnn, f"bias_ih_l{k}{sfx}")),
                    (f"b_hh_l{k}{sfx}", getattr(rnn, f"bias_hh_l{k}{sfx}"))]
    out += [("w_k", model.attn.w_k.weight), ("b_k", model.attn.w_k.bias),
            ("w_q", model.attn.w_q.weight), ("v", model.attn.v.weight),
            ("w_o", model.out.weight), ("b_o", model.out.bias)]
    # every parameter of the module is in the list, once
    assert sorted(id(p) for _, p in out) == sorted(id(p) for p in model.parameters())
    return out


def loss_of(model, batch, alpha):
    logits = model(batch)
    return logits, models.focal_loss(logits, batch.last_target, alpha, GAMMA)


def generate(layers):
    torch.set_num_threads(1)      # fixed reduction order
    batch = make_inputs()
    alpha = gf.focal_alpha64(ALPHA_COUNTS)
    model = build_model(layers)
    model.train()                 # dropout is 0: train and eval modes compute the same
    logits, loss = loss_of(model, batch, alpha)
    model.zero_grad()
    loss.backward()
    params = named_params(model, layers)

    enc = model.encoder
    A = model.attn.w_k.out_features
    arrays = [("C", C), ("F", len(FEATURE_SIZES)), ("N", N_NUMERIC), ("H", HIDDEN), ("A", A),
              ("L", layers), ("E0", enc.cat_emb.embedding_dim), ("E1", enc.feat_embs[0].embedding_dim),
              ("V1", enc.feat_embs[0].num_embeddings), ("B", B), ("T", T), ("gamma", torch.tensor([GAMMA])),
              ("lengths", batch.lengths), ("cats", batch.cats), ("feats", batch.feats), ("nums", batch.nums),
              ("targets", batch.targets), ("last_target", batch.last_target), ("alpha", alpha)]
    arrays += [(n, p) for n, p in params]
    arrays += [("logits", logits), ("loss", loss)]
    arrays += [("grad_" + n, p.grad) for n, p in params]
    return model, batch, alpha, params, arrays, float(loss)


def header(layers, loss):
    cmd = "/usr/bin/python3 tests/torch/gen_fixture_lstm.py" + (f" --layers {layers}" if layers != 1 else "")
    out = "bilstm_attn_focal.txt" if layers == 1 else f"bilstm{layers}_attn_focal.txt"
    lines = [
        f"seqsales cross-check fixture: torch_ref BiLSTMAttention ({layers} bidirectional LSTM layer"
        f"{'s' if layers > 1 else ''}) + additive attention + focal loss, float64.",
        f"Generated by: {cmd} > tests/fixtures/{out}",
        "Reference modules: shared/anchors/torch_ref (models.BiLSTMAttention, models.focal_loss, data.Batch);"
        f" torch {torch.__version__}.",
        f"Case: C={C} classes, feature_sizes={FEATURE_SIZES}, n_numeric={N_NUMERIC}, hidden={HIDDEN},"
        f" layers={layers}, attn_dim={ATTN_DIM}, emb_scale={EMB_SCALE}, dropout={DROPOUT}, gamma={GAMMA}.",
        f"torch.manual_seed({MODEL_SEED}); model built then model.double(); then attn.w_k (weight, bias),"
        f" attn.w_q and attn.v multiplied by {ATTN_SCALE} (sharper attention: its gradients well-conditioned"
        " in float32). Inputs from"
        f" torch.Generator().manual_seed({INPUT_SEED}); B={B} windows, T={T}, lengths={LENGTHS}"
        " (right padding, unsorted: packed with enforce_sorted=False).",
        "cats: class+2 on valid positions, 0 = PAD; feats: 1 = UNK, 2..5 known, 0 = PAD;"
        " nums: N(0,1), 0 on padding; targets: class 0..C-1 per position, -1 = none (incl. padding);"
        f" last_target = targets at position length-1 (window {NO_TARGET}: -1, no loss).",
        f"alpha = focal_alpha(counts {ALPHA_COUNTS}) in float64 (n_c^-1/2, mean 1).",
        "logits = model(batch) (B,C): one prediction per window, the event after it;"
        " query q = [h_n[-2]; h_n[-1]] (forward state after the last event; backward state after the first),"
        " keys = the (B,T,2H) outputs, all valid positions.",
        "loss = focal_loss(logits, last_target, alpha, gamma) = mean over windows with last_target >= 0 of"
        " -alpha_y * max(1-p_y, 1e-6)^gamma * log p_y; grads from loss.backward().",
        "Parameters, in the order of the C layout (src/core/lstm.h, ss_lstm_params), torch shapes:",
        " cat_emb (C+2,E0) = encoder.cat_emb.weight, feat_emb0 (V1,E1) = encoder.feat_embs[0].weight"
        " [row 0 = padding_idx: zero, zero grad];",
        " per layer k, forward then backward direction (sfx '' then '_reverse'): w_ih_l{k}{sfx} (4H, k=0 ? D : 2H)"
        " = rnn.weight_ih_l{k}{sfx}, w_hh_l{k}{sfx} (4H,H) = rnn.weight_hh_l{k}{sfx}, b_ih_l{k}{sfx} (4H),"
        " b_hh_l{k}{sfx} (4H) [gate order i,f,g,o as in torch.nn.LSTM; D=E0+E1+N];",
        " w_k (A,2H) = attn.w_k.weight, b_k (A), w_q (A,2H) no bias, v (A) = attn.v.weight,"
        " w_o (C,4H) = out.weight on [context; q], b_o (C).",
        "LSTM: i=sig(W_ii x+b_ii+W_hi h+b_hi), f=sig(..), g=tanh(..), o=sig(..), c'=f*c+i*g, h'=o*tanh(c'),"
        " h_0 = c_0 = 0; the backward direction runs from position length-1 down to 0.",
        "Format: per array a line '<name> <n>' then n values, row-major; floats '%.17g', ints as ints.",
        f"loss = {loss!r}",
    ]
    return "".join("# " + s + "\n" for s in lines)


def write(arrays, layers, loss, fh):
    fh.write(header(layers, loss))
    for name, value in arrays:
        t = torch.as_tensor(value)
        fh.write(f"{name} {t.numel()}\n{gf.fmt_values(t)}\n")


def check(layers, n_per_param=3, eps=1e-6):
    """Central finite differences of the loss w.r.t. a few entries of every parameter."""
    model, batch, alpha, params, arrays, loss = generate(layers)
    g = torch.Generator().manual_seed(1)
    worst = 0.0
    for name, p in params:
        flat = p.detach().view(-1)
        grad = p.grad.view(-1)
        nz = torch.nonzero(grad.abs() > 0).view(-1)
        pool = nz if len(nz) else torch.arange(flat.numel())
        for i in pool[torch.randperm(len(pool), generator=g)[:n_per_param]].tolist():
            old = float(flat[i])
            with torch.no_grad():
                flat[i] = old + eps
                lp = float(loss_of(model, batch, alpha)[1])
                flat[i] = old - eps
                lm = float(loss_of(model, batch, alpha)[1])
                flat[i] = old
            fd = (lp - lm) / (2 * eps)
            an = float(grad[i])
            err = abs(fd - an) / (1e-4 + abs(an))
            worst = max(worst, err)
            print(f"{name}[{i}]  analytic {an:+.10e}  finite-diff {fd:+.10e}  err {err:.1e}", file=sys.stderr)
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
