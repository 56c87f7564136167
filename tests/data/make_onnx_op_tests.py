#!/usr/bin/python3
"""Writes backend-style ONNX tests (model.onnx + test_data_set_0/{input,output}_N.pb)
for cases libonnx-testdata leaves out, with expected outputs from the numpy
references below (written from the ONNX operator spec, independent of Flint's
C code). Run with Debian's python3 (numpy, onnx):

    /usr/bin/python3 tests/data/make_onnx_op_tests.py tests/data/onnx_ops

tests/cli_onnx_ops.sh runs them (1 and 3 threads, eager and --segments).
Covered: RNN/GRU/LSTM directions, layouts, sequence_lens, initial states,
activations with alpha/beta, clip, linear_before_reset, peepholes; Quantize/
DequantizeLinear per axis (int8, negative axis, ties, saturation),
DynamicQuantizeLinear, MatMulInteger with per-row/column zero points,
QLinearMatMul int8 with batch broadcasting; Scan (opset 11) with axes and
directions; sequence ops (split, erase, insert, at, length, concat)."""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1234)


def write_case(root, name, model, inputs, outputs):
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, v in enumerate(inputs):
        proto = numpy_helper.from_list(v) if isinstance(v, list) else numpy_helper.from_array(v)
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "wb") as f:
            f.write(proto.SerializeToString())
    for i, v in enumerate(outputs):
        proto = numpy_helper.from_list(v) if isinstance(v, list) else numpy_helper.from_array(v)
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % i), "wb") as f:
            f.write(proto.SerializeToString())


def tinfo(name, arr):
    return helper.make_tensor_value_info(name, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(arr.dtype)], arr.shape)


def model_of(nodes, ins, outs, opset, name):
    g = helper.make_graph(nodes, name, ins, outs)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


# ---- recurrent layers ----

def act(name, x, alpha, beta):
    if name == "Tanh":
        return np.tanh(x)
    if name == "Sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "Relu":
        return np.maximum(x, 0)
    if name == "LeakyRelu":
        return np.where(x >= 0, x, alpha * x)
    if name == "HardSigmoid":
        return np.clip(alpha * x + beta, 0, 1)
    if name == "Softsign":
        return x / (1 + np.abs(x))
    if name == "Elu":
        return np.where(x >= 0, x, alpha * (np.exp(x) - 1))
    raise ValueError(name)


def recurrent(cell, X, W, R, B, lens, h0, c0, P, hidden, direction, layout, acts, clip, lbr):
    """acts: per direction, a list of (name, alpha, beta)."""
    X = X.astype(np.float64)
    if layout:
        X = X.transpose(1, 0, 2)
    S, Bn, _ = X.shape
    D = 2 if direction == "bidirectional" else 1
    H = hidden
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[cell]
    Y = np.zeros((S, D, Bn, H))
    Yh = np.zeros((D, Bn, H))
    Yc = np.zeros((D, Bn, H))
    cl = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)
    for d in range(D):
        rev = direction == "reverse" or d == 1
        w, r = W[d].astype(np.float64), R[d].astype(np.float64)
        wb = B[d, :G * H].astype(np.float64) if B is not None else np.zeros(G * H)
        rb = B[d, G * H:].astype(np.float64) if B is not None else np.zeros(G * H)
        f = lambda v, k=0: act(acts[d][k][0], v, acts[d][k][1], acts[d][k][2])
        for b in range(Bn):
            n = lens[b] if lens is not None else S
            h = h0[d, b].astype(np.float64) if h0 is not None else np.zeros(H)
            c = c0[d, b].astype(np.float64) if c0 is not None else np.zeros(H)
            for step in range(n):
                t = n - 1 - step if rev else step
                x = X[t, b]
                if cell == "RNN":
                    h = f(cl(w @ x + wb + r @ h + rb))
                elif cell == "GRU":
                    z = f(cl(w[:H] @ x + wb[:H] + r[:H] @ h + rb[:H]))
                    rr = f(cl(w[H:2 * H] @ x + wb[H:2 * H] + r[H:2 * H] @ h + rb[H:2 * H]))
                    if lbr:
                        hh = f(cl(w[2 * H:] @ x + wb[2 * H:] + rr * (r[2 * H:] @ h + rb[2 * H:])), 1)
                    else:
                        hh = f(cl(w[2 * H:] @ x + wb[2 * H:] + r[2 * H:] @ (rr * h) + rb[2 * H:]), 1)
                    h = (1 - z) * hh + z * h
                else:
                    g = w @ x + wb + r @ h + rb
                    p = P[d].astype(np.float64) if P is not None else np.zeros(3 * H)
                    i = f(cl(g[:H] + p[:H] * c))
                    fg = f(cl(g[2 * H:3 * H] + p[2 * H:] * c))
                    cc = f(cl(g[3 * H:]), 1)
                    c = fg * c + i * cc
                    o = f(cl(g[H:2 * H] + p[H:2 * H] * c))
                    h = o * f(c, 2)
                Y[t, d, b] = h
            Yh[d, b] = h
            Yc[d, b] = c
    if layout:
        Y = Y.transpose(2, 0, 1, 3)
        Yh = Yh.transpose(1, 0, 2)
        Yc = Yc.transpose(1, 0, 2)
    return Y.astype(np.float32), Yh.astype(np.float32), Yc.astype(np.float32)


def rnn_case(root, name, cell, S, Bn, I, H, direction="forward", layout=0, lens=None, init=False, bias=True,
             peep=False, acts=None, alphas=None, betas=None, clip=None, lbr=0):
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[cell]
    D = 2 if direction == "bidirectional" else 1
    f = lambda *s: RNG.uniform(-1, 1, s).astype(np.float32)
    X = f(Bn, S, I) if layout else f(S, Bn, I)
    W, R = f(D, G * H, I), f(D, G * H, H)
    B = f(D, 2 * G * H) if bias else None
    hs = (Bn, D, H) if layout else (D, Bn, H)
    h0 = f(*hs) if init else None
    c0 = f(*hs) if init and cell == "LSTM" else None
    P = f(D, 3 * H) if peep else None
    L = np.array(lens, dtype=np.int32) if lens is not None else None
    names = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    vals = [X, W, R, B, L, h0, c0, P]
    if cell != "LSTM":
        names, vals = names[:6], vals[:6]
    while vals[-1] is None:
        names.pop(); vals.pop()
    node_in = [n if v is not None else "" for n, v in zip(names, vals)]
    attrs = dict(hidden_size=H, direction=direction)
    if layout:
        attrs["layout"] = 1
    if acts:
        attrs["activations"] = acts
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    if clip:
        attrs["clip"] = clip
    if lbr:
        attrs["linear_before_reset"] = 1
    outs = ["Y", "Y_h"] + (["Y_c"] if cell == "LSTM" else [])
    node = helper.make_node(cell, node_in, outs, **attrs)
    # per direction (name, alpha, beta), alphas/betas consumed by the activations that take them
    per = {"RNN": 1, "GRU": 2, "LSTM": 3}[cell]
    defaults = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[cell]
    lst = acts or defaults * D
    takes = {"LeakyRelu": (True, False, 0.01, 0), "HardSigmoid": (True, True, 0.2, 0.5), "Elu": (True, False, 1.0, 0)}
    ia = ib = 0
    resolved = []
    for a in lst:
        ta, tb, da, db = takes.get(a, (False, False, 0, 0))
        al, be = da, db
        if ta and alphas and ia < len(alphas):
            al = alphas[ia]; ia += 1
        if tb and betas and ib < len(betas):
            be = betas[ib]; ib += 1
        resolved.append((a, al, be))
    per_dir = [resolved[d * per:(d + 1) * per] for d in range(D)]
    h0n = h0.transpose(1, 0, 2) if (init and layout) else h0
    c0n = c0.transpose(1, 0, 2) if (c0 is not None and layout) else c0
    Y, Yh, Yc = recurrent(cell, X, W, R, B, lens, h0n, c0n, P, H, direction, layout, per_dir, clip, lbr)
    res = [Y, Yh] + ([Yc] if cell == "LSTM" else [])
    ins = [tinfo(n, v) for n, v in zip(names, vals) if v is not None]
    model = model_of([node], ins, [tinfo(n, v) for n, v in zip(outs, res)], 14, name)
    write_case(root, name, model, [v for v in vals if v is not None], res)


# ---- quantization ----

def q_ref(x, scale, zp, lo, hi):
    q = np.rint(np.float32(x) / np.float32(scale)).astype(np.float32)
    return np.clip(q + zp.astype(np.float32), lo, hi)


def quant_cases(root):
    # int8 per axis (negative axis), exact ties and saturation
    x = np.array([[[2.5, -2.5, 3.5, 1000.0], [-1000.0, 0.5, -0.5, 7.0]]], dtype=np.float32).reshape(1, 2, 4)
    x = np.concatenate([x, x * 0.5], axis=0)  # [2, 2, 4]
    scale = np.array([1.0, 0.5, 2.0, 0.25], dtype=np.float32)
    zp = np.array([0, -3, 5, 100], dtype=np.int8)
    y = q_ref(x, scale.reshape(1, 1, 4), zp.reshape(1, 1, 4), -128, 127).astype(np.int8)
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=-1)
    write_case(root, "flint_quantize_int8_axis", model_of([node], [tinfo("x", x), tinfo("s", scale), tinfo("z", zp)],
                                                          [tinfo("y", y)], 13, "q"), [x, scale, zp], [y])
    # uint8 per tensor, no zero point (default uint8 0): negative values saturate at 0
    x2 = np.array([0.5, 1.5, 2.5, -3.0, 300.0, 254.5, 255.5], dtype=np.float32)
    s2 = np.array(1.0, dtype=np.float32)
    y2 = q_ref(x2, s2, np.uint8(0), 0, 255).astype(np.uint8)
    node = helper.make_node("QuantizeLinear", ["x", "s"], ["y"])
    write_case(root, "flint_quantize_uint8_nozp", model_of([node], [tinfo("x", x2), tinfo("s", s2)], [tinfo("y", y2)],
                                                           13, "q"), [x2, s2], [y2])
    # dequantize int8 per axis 0
    xq = RNG.integers(-128, 128, (3, 4), dtype=np.int8)
    ds = np.array([0.1, 2.0, 0.5], dtype=np.float32)
    dz = np.array([-5, 0, 7], dtype=np.int8)
    yd = ((xq.astype(np.float32) - dz.reshape(3, 1).astype(np.float32)) * ds.reshape(3, 1)).astype(np.float32)
    node = helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=0)
    write_case(root, "flint_dequantize_int8_axis0", model_of([node], [tinfo("x", xq), tinfo("s", ds), tinfo("z", dz)],
                                                             [tinfo("y", yd)], 13, "dq"), [xq, ds, dz], [yd])
    # dynamic quantization of all-negative data
    xd = np.array([[-1.0, -2.5], [-0.25, -7.0]], dtype=np.float32)
    mn, mx = np.float32(min(0.0, xd.min())), np.float32(max(0.0, xd.max()))
    sc = np.float32((mx - mn) / np.float32(255))
    zpd = np.uint8(np.clip(np.rint(np.float32(0) - mn / sc), 0, 255))
    yq = np.clip(np.rint(xd / sc) + np.float32(zpd), 0, 255).astype(np.uint8)
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    write_case(root, "flint_dynamicquantize_negative",
               model_of([node], [tinfo("x", xd)], [tinfo("y", yq), tinfo("s", np.array(sc)), tinfo("z", np.array(zpd))],
                        11, "dyn"), [xd], [yq, np.array(sc), np.array(zpd)])
    # MatMulInteger: int8 x uint8, per-row a zero points, per-column b zero points, batch broadcast
    A = RNG.integers(-128, 128, (2, 3, 5), dtype=np.int8)
    Bm = RNG.integers(0, 256, (5, 4), dtype=np.uint8)
    az = np.array([1, -2, 3], dtype=np.int8)
    bz = np.array([0, 10, 200, 255], dtype=np.uint8)
    Y = np.matmul(A.astype(np.int64) - az.reshape(3, 1), Bm.astype(np.int64) - bz.reshape(1, 4)).astype(np.int32)
    node = helper.make_node("MatMulInteger", ["A", "B", "az", "bz"], ["Y"])
    write_case(root, "flint_matmulinteger_rowcol",
               model_of([node], [tinfo("A", A), tinfo("B", Bm), tinfo("az", az), tinfo("bz", bz)], [tinfo("Y", Y)],
                        10, "mmi"), [A, Bm, az, bz], [Y])
    # QLinearMatMul int8, B batched [2, 4, 3] against A [3, 4]
    A = RNG.integers(-128, 128, (3, 4), dtype=np.int8)
    Bm = RNG.integers(-128, 128, (2, 4, 3), dtype=np.int8)
    a_s, b_s, y_s = np.float32(0.05), np.float32(0.02), np.float32(0.07)
    a_z, b_z, y_z = np.int8(-3), np.int8(4), np.int8(-10)
    acc = np.matmul(A.astype(np.int64) - a_z, Bm.astype(np.int64) - b_z).astype(np.float32)
    Y = np.clip(np.rint(acc * np.float32(a_s * b_s / y_s)) + np.float32(y_z), -128, 127).astype(np.int8)
    names = ["a", "as", "az", "b", "bs", "bz", "ys", "yz"]
    vals = [A, np.array(a_s), np.array(a_z), Bm, np.array(b_s), np.array(b_z), np.array(y_s), np.array(y_z)]
    node = helper.make_node("QLinearMatMul", names, ["y"])
    write_case(root, "flint_qlinearmatmul_int8_batch",
               model_of([node], [tinfo(n, v) for n, v in zip(names, vals)], [tinfo("y", Y)], 10, "qlmm"), vals, [Y])


# ---- Scan ----

def scan_case(root):
    # state s: running sum of a (scanned along axis 1, forward) times b (along axis 0, reversed);
    # outputs: final s, and the per-step s stacked on axis 1 in reverse order
    T = 4
    a = RNG.uniform(-1, 1, (2, T)).astype(np.float32)   # slices a[:, t] -> [2]
    b = RNG.uniform(-1, 1, (T, 2)).astype(np.float32)   # slices b[T-1-t] -> [2]
    s0 = np.array([0.5, -0.5], dtype=np.float32)
    body = helper.make_graph(
        [helper.make_node("Mul", ["ai", "bi"], ["p"]), helper.make_node("Add", ["s_in", "p"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["scan_out"])],
        "body", [helper.make_tensor_value_info("s_in", TensorProto.FLOAT, [2]),
                 helper.make_tensor_value_info("ai", TensorProto.FLOAT, [2]),
                 helper.make_tensor_value_info("bi", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("scan_out", TensorProto.FLOAT, [2])])
    node = helper.make_node("Scan", ["s0", "a", "b"], ["s", "ys"], body=body, num_scan_inputs=2,
                            scan_input_axes=[1, 0], scan_input_directions=[0, 1], scan_output_axes=[-1],
                            scan_output_directions=[1])
    s = s0.astype(np.float32).copy()
    ys = np.zeros((2, T), dtype=np.float32)
    for t in range(T):
        s = (s + a[:, t] * b[T - 1 - t]).astype(np.float32)
        ys[:, T - 1 - t] = s
    write_case(root, "flint_scan11_axes_directions",
               model_of([node], [tinfo("s0", s0), tinfo("a", a), tinfo("b", b)], [tinfo("s", s), tinfo("ys", ys)], 11,
                        "scan"), [s0, a, b], [s, ys])


# ---- sequences ----

def seq_case(root):
    x = RNG.uniform(-1, 1, (2, 5)).astype(np.float32)
    t = RNG.uniform(-1, 1, (2, 3)).astype(np.float32)
    two = np.array(2, dtype=np.int64)
    m1 = np.array(-1, dtype=np.int64)
    zero = np.array(0, dtype=np.int64)
    nodes = [
        helper.make_node("SplitToSequence", ["x", "two"], ["parts"], axis=1),       # [2,2], [2,2], [2,1]
        helper.make_node("SequenceErase", ["parts", "m1"], ["erased"]),             # [2,2], [2,2]
        helper.make_node("SequenceInsert", ["erased", "t", "zero"], ["ins"]),       # [2,3], [2,2], [2,2]
        helper.make_node("ConcatFromSequence", ["ins"], ["cat"], axis=-1),          # [2, 7]
        helper.make_node("SequenceLength", ["ins"], ["len"]),
        helper.make_node("SequenceAt", ["ins", "m1"], ["last"]),
        helper.make_node("SplitToSequence", ["x"], ["cols"], axis=1, keepdims=0),   # 5 x [2]
        helper.make_node("ConcatFromSequence", ["cols"], ["stacked"], axis=0, new_axis=1),  # [5, 2]
    ]
    cat = np.concatenate([t, x[:, 0:2], x[:, 2:4]], axis=1)
    outs = [cat, np.array(3, dtype=np.int64), x[:, 2:4].copy(), x.T.copy()]
    onames = ["cat", "len", "last", "stacked"]
    ins = [tinfo("x", x), tinfo("t", t)]
    inits = [numpy_helper.from_array(two, "two"), numpy_helper.from_array(m1, "m1"),
             numpy_helper.from_array(zero, "zero")]
    g = helper.make_graph(nodes, "seq", ins, [tinfo(n, v) for n, v in zip(onames, outs)], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    write_case(root, "flint_sequence_ops", model, [x, t], outs)
    # a sequence output: SplitToSequence with a 1-D split
    sp = np.array([1, 3, 1], dtype=np.int64)
    node = helper.make_node("SplitToSequence", ["x", "sp"], ["parts"], axis=-1)
    out = helper.make_tensor_sequence_value_info("parts", TensorProto.FLOAT, None)
    g = helper.make_graph([node], "split", [tinfo("x", x)], [out], [numpy_helper.from_array(sp, "sp")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    write_case(root, "flint_split_to_sequence_lengths", model, [x], [[x[:, 0:1], x[:, 1:4], x[:, 4:5]]])


# ---- malformed models (no inputs: everything is an initializer) ----
# Each is refused with a clear error, at load or at run time; tests/test_onnx_seq.c
# lists the expected message of each.

def bad_cases(root):
    d = os.path.join(root, "bad")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    f32 = lambda name, *shape: numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    out = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)

    def save(name, nodes, inits, outs, opset=13):
        g = helper.make_graph(nodes, name, [], outs, inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        onnx.save(m, os.path.join(d, name + ".onnx"))

    save("seq_at_oob", [helper.make_node("SequenceConstruct", ["a", "a"], ["s"]),
                        helper.make_node("SequenceAt", ["s", "p"], ["y"])], [f32("a", 2), i64("p", 5)], [out("y")])
    save("split_bad_sum", [helper.make_node("SplitToSequence", ["x", "sp"], ["s"], axis=1),
                           helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=1)],
         [f32("x", 2, 5), i64("sp", [2, 2])], [out("y")])
    save("concat_mismatch", [helper.make_node("SequenceConstruct", ["a", "b"], ["s"]),
                             helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=1)],
         [f32("a", 2, 3), f32("b", 3, 3)], [out("y")])
    save("seq_into_add", [helper.make_node("SequenceConstruct", ["a"], ["s"]),
                          helper.make_node("Add", ["s", "a"], ["y"])], [f32("a", 2)], [out("y")])
    save("erase_empty", [helper.make_node("SequenceEmpty", [], ["s"]),
                         helper.make_node("SequenceErase", ["s"], ["t"]),
                         helper.make_node("ConcatFromSequence", ["t"], ["y"], axis=0)], [], [out("y")])
    save("optional_get_empty", [helper.make_node("Optional", [], ["o"], type=helper.make_tensor_type_proto(
        TensorProto.FLOAT, [2])), helper.make_node("OptionalGetElement", ["o"], ["y"])], [], [out("y")], 15)
    save("rnn_bad_w", [helper.make_node("RNN", ["x", "w", "r"], ["y"], hidden_size=3)],
         [f32("x", 2, 1, 4), f32("w", 1, 3, 5), f32("r", 1, 3, 3)], [out("y")], 14)
    save("rnn_bad_lens", [helper.make_node("RNN", ["x", "w", "r", "", "l"], ["y"], hidden_size=3)],
         [f32("x", 2, 1, 4), f32("w", 1, 3, 4), f32("r", 1, 3, 3),
          numpy_helper.from_array(np.array([5], dtype=np.int32), "l")], [out("y")], 14)
    save("lstm_four_outputs", [helper.make_node("LSTM", ["x", "w", "r"], ["y", "h", "c", "z"], hidden_size=1)],
         [f32("x", 1, 1, 1), f32("w", 1, 4, 1), f32("r", 1, 4, 1)], [out("y")], 14)
    save("rnn_bad_activation", [helper.make_node("RNN", ["x", "w", "r"], ["y"], hidden_size=3, activations=["Gelu"])],
         [f32("x", 2, 1, 4), f32("w", 1, 3, 4), f32("r", 1, 3, 3)], [out("y")], 14)
    save("quant_axis_len", [helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1)],
         [f32("x", 2, 4), f32("s", 3)], [out("y")])
    save("qlmm_bad_zp", [helper.make_node("QLinearMatMul", ["a", "s", "z2", "b", "s", "z", "s", "z"], ["y"])],
         [numpy_helper.from_array(np.zeros((3, 2), np.uint8), "a"), numpy_helper.from_array(np.zeros((2, 2), np.uint8), "b"),
          f32("s"), numpy_helper.from_array(np.array(0, np.uint8), "z"),
          numpy_helper.from_array(np.zeros(2, np.uint8), "z2")], [out("y")], 10)
    body = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "body",
                             [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    save("scan_body_inputs", [helper.make_node("Scan", ["s0", "a"], ["s", "ys"], body=body, num_scan_inputs=1)],
         [f32("s0", 2), f32("a", 3, 2)], [out("s")], 11)
    body2 = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "body",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    save("scan_len_mismatch", [helper.make_node("Scan", ["a", "b"], ["ys"], body=body2, num_scan_inputs=2)],
         [f32("a", 3, 2), f32("b", 4, 2)], [out("ys")], 11)


def main(root):
    os.makedirs(root, exist_ok=True)
    bad_cases(root)
    rnn_case(root, "flint_rnn_bidir_layout1_lens", "RNN", 4, 3, 2, 3, direction="bidirectional", layout=1,
             lens=[4, 1, 0], init=True, acts=["Tanh", "LeakyRelu"], alphas=[0.2])
    rnn_case(root, "flint_rnn_reverse_clip", "RNN", 3, 2, 3, 2, direction="reverse", clip=0.4, acts=["Relu"])
    rnn_case(root, "flint_gru_bidir_lbr_lens", "GRU", 4, 2, 3, 3, direction="bidirectional", lens=[2, 4], init=True,
             lbr=1)
    rnn_case(root, "flint_gru_reverse_layout1_acts", "GRU", 3, 2, 2, 2, direction="reverse", layout=1, init=True,
             acts=["HardSigmoid", "Softsign"], alphas=[0.3], betas=[0.4])
    rnn_case(root, "flint_lstm_bidir_peep_lens", "LSTM", 3, 2, 2, 3, direction="bidirectional", lens=[3, 2],
             init=True, peep=True)
    rnn_case(root, "flint_lstm_layout1_clip_acts", "LSTM", 4, 2, 3, 2, layout=1, init=True, clip=0.5,
             acts=["HardSigmoid", "Elu", "Tanh"], alphas=[0.25, 0.5], betas=[0.45])
    quant_cases(root)
    scan_case(root)
    seq_case(root)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/onnx_ops")
