#!/usr/bin/python3
"""Compare ONNX Runtime's results on the backend suite (ort_compare.py) with
Flint's (`flint onnx-test --pass-list`), and write a markdown report: counts per
folder, the tests ORT passes and Flint does not grouped by operator (with
Flint's reason), Flint's failures and skips by reason, ORT's failures by reason.

usage: gap.py ORT_PASS ORT_FAILURES.json FLINT_PASS FLINT_OUTPUT TESTDIR... > report.md
  FLINT_OUTPUT is the stdout of `flint onnx-test` (FAIL/SKIP lines).
"""
import collections
import json
import os
import re
import sys

import onnx.defs

# test-name stems that are not an operator's name
ALIAS = {"sce": "SoftmaxCrossEntropyLoss", "nllloss": "NegativeLogLikelihoodLoss", "avgpool": "AveragePool",
         "batchnorm": "BatchNormalization", "instancenorm": "InstanceNormalization", "layernormalization":
         "LayerNormalization", "strnorm": "StringNormalizer", "strnormalizer": "StringNormalizer",
         "lrn": "LRN", "mvn": "MeanVarianceNormalization", "top_k": "TopK", "topk": "TopK",
         "convtranspose": "ConvTranspose", "prelu": "PRelu", "glu": "GLU (Split+Sigmoid+Mul)",
         "logsoftmax": "LogSoftmax", "softmaxcrossentropy": "SoftmaxCrossEntropyLoss",
         "training_dropout": "Dropout", "simple_rnn": "RNN", "rnn_seq": "RNN", "repeat": "Tile",
         "bitshift": "BitShift", "castlike": "CastLike", "gathernd": "GatherND", "scatternd": "ScatterND",
         "dynamicquantizelinear": "DynamicQuantizeLinear", "reversesequence": "ReverseSequence",
         "nonmaxsuppression": "NonMaxSuppression", "globalaveragepool": "GlobalAveragePool",
         "maxunpool": "MaxUnpool", "roialign": "RoiAlign", "spacetodepth": "SpaceToDepth",
         "depthtospace": "DepthToSpace", "eyelike": "EyeLike", "onehot": "OneHot", "gridsample": "GridSample",
         "nesterov_momentum": "ai.onnx.preview.training.Momentum", "momentum": "ai.onnx.preview.training.Momentum",
         "adagrad": "ai.onnx.preview.training.Adagrad", "adam": "ai.onnx.preview.training.Adam",
         "gradient": "ai.onnx.preview.training.Gradient", "sequence_model": "sequence ops",
         "sequence_map": "SequenceMap", "sequence_insert": "SequenceInsert", "optional": "Optional*",
         "basic_conv": "Conv", "basic_convinteger": "ConvInteger", "convinteger": "ConvInteger",
         "zeropad": "Pad", "constantpad": "Pad", "reflectionpad": "Pad", "replicationpad": "Pad",
         "edge_pad": "Pad", "reflect_pad": "Pad", "constant_pad": "Pad", "pixelshuffle": "DepthToSpace",
         "poissonnllloss": "PoissonNLLLoss (Exp+Mul+Sub)", "crossentropy": "SoftmaxCrossEntropyLoss"}


def op_names():
    names = {}
    for s in onnx.defs.get_all_schemas_with_history():
        names[s.name.lower()] = s.name
    return names


OPS = op_names()


def operator_of(test, model_ops):
    stem = test[len("test_"):] if test.startswith("test_") else test
    stem = re.sub(r"^operator_", "", stem).lower()
    best = None
    for k, v in ALIAS.items():  # longest alias prefix first
        if stem.startswith(k) and (best is None or len(k) > len(best[0])):
            best = (k, v)
    flat = stem.replace("_", "")
    for k, v in OPS.items():
        if flat.startswith(k) and (best is None or len(k) > len(best[0].replace("_", ""))):
            best = (k, v)
    if best:
        return best[1]
    core = [o for o in model_ops if o not in ("Constant", "Identity")]
    if len(core) == 1:
        return core[0]
    return "other (" + "+".join(core[:4]) + ("+..." if len(core) > 4 else "") + ")"


def tests_of(dirs):
    out = {}
    for d in dirs:
        g = os.path.basename(os.path.normpath(d))
        for t in sorted(os.listdir(d)):
            p = os.path.join(d, t, "model.onnx")
            if os.path.isfile(p):
                m = onnx.load(p, load_external_data=False)
                ops = sorted({n.op_type for n in m.graph.node})
                out[t] = (g, ops)
    return out


def read_list(p):
    with open(p) as f:
        return {ln.strip() for ln in f if ln.strip()}


def flint_reasons(p):
    r = {}
    with open(p) as f:
        for ln in f:
            m = re.match(r"^(FAIL|SKIP) (\S+): (.*)$", ln.rstrip("\n"))
            if m:
                r[m.group(2)] = (m.group(1), m.group(3))
    return r


def generalize(why):
    # numbers in mismatch messages differ per test: group on the message's shape
    why = re.sub(r"test_data_set_\d+: ", "", why)
    why = re.sub(r"\d+ of \d+ elements differ.*", "elements differ beyond rtol 1e-3/atol 1e-7", why)
    why = re.sub(r"Not equal to tolerance.*", "elements differ beyond rtol 1e-3/atol 1e-7", why)
    why = re.sub(r"Arrays are not equal.*", "strings differ", why)
    why = re.sub(r"/usr/share/libonnx-testdata/data/[^ ]*model.onnx", "model.onnx", why)
    why = re.sub(r"Exception during initialization: /onnxruntime_src/\S+ ", "", why)
    return why[:200]


def md_list(names):
    return ", ".join("`%s`" % n for n in sorted(names, key=str.lower))


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    ort_pass, ort_fail_p, fl_pass_p, fl_out_p = sys.argv[1:5]
    tests = tests_of(sys.argv[5:])
    ort = read_list(ort_pass)
    with open(ort_fail_p) as f:
        ort_fail = {x["name"]: x["why"] for x in json.load(f)}
    fl = read_list(fl_pass_p)
    fr = flint_reasons(fl_out_p)
    groups = sorted({g for g, _ in tests.values()})
    w = sys.stdout.write

    w("| folder | tests | ORT 1.30 passes | Flint passes | Flint fails | Flint skips | ORT passes, Flint not | Flint passes, ORT not |\n")
    w("|---|---|---|---|---|---|---|---|\n")
    tot = collections.Counter()
    for g in groups + ["**all**"]:
        names = [t for t, (gg, _) in tests.items() if g == "**all**" or gg == g]
        row = collections.Counter()
        row["n"] = len(names)
        row["ort"] = sum(t in ort for t in names)
        row["fl"] = sum(t in fl for t in names)
        row["ff"] = sum(t not in fl and fr.get(t, ("FAIL",))[0] == "FAIL" for t in names)
        row["fs"] = sum(t not in fl and fr.get(t, ("",))[0] == "SKIP" for t in names)
        row["gap"] = sum(t in ort and t not in fl for t in names)
        row["rev"] = sum(t in fl and t not in ort for t in names)
        w("| %s | %d | %d | %d | %d | %d | %d | %d |\n" % (g, row["n"], row["ort"], row["fl"], row["ff"], row["fs"],
                                                         row["gap"], row["rev"]))
        tot = row
    w("\n")

    gap = [t for t in tests if t in ort and t not in fl]
    by_op = collections.defaultdict(list)
    for t in gap:
        by_op[operator_of(t, tests[t][1])].append(t)
    w("### Tests ONNX Runtime passes and Flint does not (%d), by operator\n\n" % len(gap))
    w("| operator | tests | Flint's reason(s) |\n|---|---|---|\n")
    for op, ts in sorted(by_op.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        reasons = collections.defaultdict(list)
        for t in ts:
            kind, why = fr.get(t, ("FAIL", "not run"))
            reasons["%s %s" % (kind, generalize(why))].append(t)
        cell = "<br>".join("%s: %s" % (r.replace("|", "\\|"), md_list(v)) for r, v in
                           sorted(reasons.items(), key=lambda kv: -len(kv[1])))
        w("| %s | %d | %s |\n" % (op, len(ts), cell))
    w("\n")

    rev = [t for t in tests if t in fl and t not in ort]
    w("### Tests Flint passes and ONNX Runtime does not (%d)\n\n%s\n\n" % (len(rev), md_list(rev) or "none"))

    w("### Every test Flint fails or skips, by reason (%d)\n\n" % (len(tests) - len(fl & set(tests))))
    reasons = collections.defaultdict(list)
    for t in tests:
        if t in fl:
            continue
        kind, why = fr.get(t, ("FAIL", "no result line (crash?)"))
        reasons[("SKIP" if kind == "SKIP" else "FAIL", generalize(why))].append(t)
    for (kind, why), ts in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        w("- **%s — %s** (%d): %s\n" % (kind, why, len(ts), md_list(ts)))
    w("\n")

    w("### ONNX Runtime 1.30's failures on this machine, by reason (%d)\n\n" % len(ort_fail))
    oreasons = collections.defaultdict(list)
    for t, why in ort_fail.items():
        oreasons[generalize(why)].append(t)
    for why, ts in sorted(oreasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        w("- %s (%d): %s\n" % (why.replace("|", "\\|"), len(ts), md_list(ts)))


if __name__ == "__main__":
    main()
