#!/usr/bin/python3
"""Build two small real-world-shaped models with PyTorch (fixed seeds, random
weights, nothing downloaded), export them to ONNX, and write their inputs and
PyTorch's outputs as .npy, for tests/cli_real_models.sh.

  cnn/          Conv+BatchNorm+ReLU, MaxPool, residual block with Add, a
                BatchNormalization that stays a node (after the Add), depthwise +
                pointwise conv, strided conv, GlobalAveragePool, Flatten, Gemm.
  transformer/  Linear input projection + learned positions, nn.TransformerEncoder
                (2 layers, d_model 64, 4 heads, pre-LN, GELU) with a causal float
                attention mask, final LayerNorm, mean-pool + Linear head.

Each folder gets model.onnx, input_<name>.npy per graph input and
expected_<name>.npy per graph output, plus ops.txt (the op histogram).

usage: make_real_models.py OUTDIR [--opset N]   (default opset 17)
"""
import argparse
import collections
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(c)
        self.post = nn.BatchNorm2d(c)  # after the Add: not foldable into a Conv

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return torch.relu(self.post(x + y))


class SmallCNN(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.res = ResBlock(32)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)  # depthwise
        self.pw = nn.Conv2d(32, 64, 1)                         # pointwise
        self.bn = nn.BatchNorm2d(64)
        self.down = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = self.res(x)
        x = torch.relu(self.bn(self.pw(self.dw(x))))
        x = torch.relu(self.down(x))
        return self.fc(torch.flatten(self.gap(x), 1))


class SmallEncoder(nn.Module):
    def __init__(self, feat=32, d=64, heads=4, layers=2, seq=16, out=8):
        super().__init__()
        self.proj = nn.Linear(feat, d)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.head = nn.Linear(d, out)
        self.register_buffer("mask", torch.triu(torch.full((seq, seq), float("-inf")), diagonal=1))

    def forward(self, x):
        h = self.enc(self.proj(x) + self.pos, mask=self.mask)
        return h, self.head(h.mean(dim=1))


def randomize_norm_stats(model, gen):
    # eval-mode BatchNorm with the default stats (mean 0, var 1, weight 1) would
    # hide errors in its arithmetic: give every norm layer non-trivial values
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)
        elif isinstance(m, nn.LayerNorm):
            c = m.normalized_shape[0]
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


def export(model, inputs, in_names, out_names, out_dir, opset):
    import onnx  # Debian's python3-onnx, for the op histogram only

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    model.eval()
    with torch.no_grad():
        outs = model(*inputs)
        if isinstance(outs, torch.Tensor):
            outs = (outs,)
        torch.onnx.export(model, tuple(inputs), path, input_names=in_names, output_names=out_names,
                          opset_version=opset, do_constant_folding=True)
    for n, t in zip(in_names, inputs):
        np.save(os.path.join(out_dir, "input_%s.npy" % n), t.numpy())
    for n, t in zip(out_names, outs):
        np.save(os.path.join(out_dir, "expected_%s.npy" % n), t.numpy())
    m = onnx.load(path)
    hist = collections.Counter(n.op_type for n in m.graph.node)
    with open(os.path.join(out_dir, "ops.txt"), "w") as f:
        f.write("".join("%s %d\n" % kv for kv in sorted(hist.items())))
    print("%s: %d bytes, opset %d, ops %s" % (path, os.path.getsize(path), opset,
                                               " ".join("%s:%d" % kv for kv in sorted(hist.items()))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args()
    if a.opset > 17:
        sys.exit("opset must be <= 17 (ONNX 1.12)")
    torch.set_num_threads(1)
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(99)

    cnn = SmallCNN()
    randomize_norm_stats(cnn, gen)
    x = torch.randn(2, 3, 32, 32, generator=gen)
    export(cnn, [x], ["image"], ["logits"], os.path.join(a.outdir, "cnn"), a.opset)

    torch.manual_seed(5678)
    enc = SmallEncoder()
    randomize_norm_stats(enc, gen)
    t = torch.randn(2, 16, 32, generator=gen)
    export(enc, [t], ["tokens"], ["hidden", "pooled"], os.path.join(a.outdir, "transformer"), a.opset)


if __name__ == "__main__":
    main()
