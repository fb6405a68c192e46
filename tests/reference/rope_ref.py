#!/usr/bin/env python3
"""rope_ref.py -- expected RoPE inverse frequencies and attention factors for tests/test_rope.c.

A pure-Python transcription (no torch) of transformers' modeling_rope_utils.py:
_compute_default_rope_parameters, _compute_linear_scaling_rope_parameters, _compute_llama3_parameters,
_compute_longrope_parameters. f32() rounds to float32 where torch computes in float32.
Run: python3 tests/reference/rope_ref.py   (prints the C initialisers pasted into test_rope.c)
"""
import math
import struct


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def default_inv(base, dim):
    # 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    return [f32(1.0 / f32(base ** f32(f32(i) / dim))) for i in range(0, dim, 2)]


def linear_inv(base, dim, factor):
    return [f32(v / factor) for v in default_inv(base, dim)]


def llama3_inv(base, dim, factor, low, high, old):
    out = []
    low_wl, high_wl = old / low, old / high
    for v in default_inv(base, dim):
        wl = 2 * math.pi / v
        s = v / factor if wl > low_wl else v
        if not (wl < high_wl) and not (wl > low_wl):
            smooth = (old / wl - low) / (high - low)
            s = (1 - smooth) * s / factor + smooth * s
        out.append(f32(s))
    return out


def longrope(base, dim, short, long_, max_pos, orig=None, factor=None, use_long=False):
    # with a config-level original_max_position_embeddings the scale is max_pos / orig, else factor
    if orig is not None:
        factor = max_pos / orig
    else:
        orig = max_pos
    att = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
    ext = long_ if use_long else short
    inv = [f32(1.0 / f32(f32(ext[i // 2]) * f32(base ** f32(f32(i) / dim)))) for i in range(0, dim, 2)]
    return inv, att


def c_list(name, xs):
    return "static const double %s[] = {%s};" % (name, ", ".join("%.9g" % x for x in xs))


if __name__ == "__main__":
    print(c_list("linear_inv", linear_inv(10000.0, 16, 4.0)))
    print(c_list("llama3_inv", llama3_inv(500000.0, 16, 8.0, 1.0, 4.0, 8192)))
    short = [1.0, 1.05, 1.1, 1.2, 1.4, 1.7, 2.1, 2.6]
    long_ = [1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 13.0, 18.0]
    inv_s, att = longrope(10000.0, 16, short, long_, 64, orig=16)
    inv_l, _ = longrope(10000.0, 16, short, long_, 64, orig=16, use_long=True)
    print(c_list("longrope_short_inv", inv_s))
    print(c_list("longrope_long_inv", inv_l))
    print("static const double longrope_mscale = %.9g; /* max 64 / original 16 */" % att)
    _, att2 = longrope(10000.0, 16, short, long_, 64, factor=4.0)
    print("static const double longrope_mscale_factor4 = %.9g; /* no original_max_position_embeddings, factor 4 */" % att2)
