#!/usr/bin/env python3
"""llama_ref.py -- an independent pure-Python forward pass for Llama / Mistral folders (no numpy, no torch).

Follows transformers' modeling_llama.py / modeling_mistral.py in float64 (the stored BF16/F16/F32 weights
upcast exactly):
  x = embed[ids]
  per layer:  h = rmsnorm(x) * w_in;  q, k, v = h Wq^T, h Wk^T, h Wv^T
              RoPE, rotate_half convention: inv[i] = theta^(-2i/d), (q[i], q[i+d/2]) rotated by p * inv[i]
              scores = q k^T / sqrt(d), grouped-query (head h reads kv head h // (n_heads / n_kv_heads))
              mask: causal, and with sliding_window W (transformers masking_utils.sliding_window_overlay):
                    key kv is visible from query q iff q - W < kv <= q, i.e. the last W positions incl. itself
              x += softmax(scores) v Wo^T
              h = rmsnorm(x) * w_post;  x += (silu(h Wg^T) * (h Wu^T)) Wd^T
  logits = (rmsnorm(x) * w_norm) lm_head^T
rmsnorm(x) = x / sqrt(mean(x^2) + eps). Only the plain RoPE (rope_scaling null) is supported.

Usage:
  python3 tests/reference/llama_ref.py MODEL_DIR IDS [--sliding-window W] [--out FILE]
IDS is comma-separated. Writes one line per position: the 'vocab' logits, '%.8e' separated by spaces,
after one '#' line naming the inputs (the model folder as given) so a test can check what it reads.
"""
import argparse
import json
import math
import os
import struct


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        dt = info["dtype"]
        if dt == "F32":
            vals = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        elif dt == "BF16":
            # bf16 = the high half of an f32
            halves = struct.unpack("<%dH" % (len(raw) // 2), raw)
            vals = list(struct.unpack("<%df" % len(halves), struct.pack("<%dI" % len(halves), *[h << 16 for h in halves])))
        elif dt == "F16":
            vals = list(struct.unpack("<%de" % (len(raw) // 2), raw))
        else:
            raise SystemExit("unsupported dtype %s for %s" % (dt, name))
        shape = info["shape"]
        if len(shape) == 2:
            rows, cols = shape
            vals = [vals[r * cols:(r + 1) * cols] for r in range(rows)]
        tensors[name] = vals
    return tensors


def matvec(w, x):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def rmsnorm(x, w, eps):
    s = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [v * s * wi for v, wi in zip(x, w)]


def rope(vec, pos, d, theta):
    half = d // 2
    out = list(vec)
    for i in range(half):
        ang = pos * theta ** (-2.0 * i / d)
        c, s = math.cos(ang), math.sin(ang)
        a, b = vec[i], vec[i + half]
        out[i] = a * c - b * s
        out[i + half] = b * c + a * s
    return out


def forward(model_dir, ids, sliding_window):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    if cfg.get("rope_scaling"):
        raise SystemExit("llama_ref.py: rope_scaling is not supported")
    t = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    d = cfg.get("head_dim") or H // nh
    eps, theta = cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    group = nh // nkv
    xs = [list(t["model.embed_tokens.weight"][i]) for i in ids]
    n = len(ids)
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        ks, vs, qs = [], [], []
        for pos, x in enumerate(xs):
            h = rmsnorm(x, t[p + "input_layernorm.weight"], eps)
            q, k, v = matvec(t[p + "self_attn.q_proj.weight"], h), matvec(t[p + "self_attn.k_proj.weight"], h), \
                matvec(t[p + "self_attn.v_proj.weight"], h)
            qs.append([rope(q[hh * d:(hh + 1) * d], pos, d, theta) for hh in range(nh)])
            ks.append([rope(k[hh * d:(hh + 1) * d], pos, d, theta) for hh in range(nkv)])
            vs.append([v[hh * d:(hh + 1) * d] for hh in range(nkv)])
        new_xs = []
        for qi in range(n):
            lo = 0 if not sliding_window else max(0, qi - sliding_window + 1)
            att_out = []
            for hh in range(nh):
                kvh = hh // group
                sc = [sum(a * b for a, b in zip(qs[qi][hh], ks[kj][kvh])) / math.sqrt(d) for kj in range(lo, qi + 1)]
                m = max(sc)
                e = [math.exp(s - m) for s in sc]
                z = sum(e)
                o = [0.0] * d
                for wgt, kj in zip(e, range(lo, qi + 1)):
                    for j in range(d):
                        o[j] += wgt / z * vs[kj][kvh][j]
                att_out.extend(o)
            x = [a + b for a, b in zip(xs[qi], matvec(t[p + "self_attn.o_proj.weight"], att_out))]
            h = rmsnorm(x, t[p + "post_attention_layernorm.weight"], eps)
            g, u = matvec(t[p + "mlp.gate_proj.weight"], h), matvec(t[p + "mlp.up_proj.weight"], h)
            f = [gi / (1.0 + math.exp(-gi)) * ui for gi, ui in zip(g, u)]
            new_xs.append([a + b for a, b in zip(x, matvec(t[p + "mlp.down_proj.weight"], f))])
        xs = new_xs
    head = t.get("lm_head.weight") or t["model.embed_tokens.weight"]
    return [matvec(head, rmsnorm(x, t["model.norm.weight"], eps)) for x in xs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("ids")
    ap.add_argument("--sliding-window", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    logits = forward(a.model_dir, [int(s) for s in a.ids.split(",")], a.sliding_window)
    text = "# llama_ref.py %s ids=%s sliding_window=%d rows=%d vocab=%d\n" % (
        os.path.basename(os.path.normpath(a.model_dir)), a.ids, a.sliding_window, len(logits), len(logits[0]))
    text += "".join(" ".join("%.8e" % v for v in row) + "\n" for row in logits)
    if a.out:
        open(a.out, "w").write(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
