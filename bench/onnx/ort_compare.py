#!/usr/bin/python3
"""Compare ONNX Runtime's outputs (written by ort_run.js) with each test's
expected output_*.pb like the ONNX backend runner (onnx 1.12
onnx/backend/test/runner): same number of outputs, same dtype, then
numpy.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-7) (NaN equals
NaN, shapes must match); strings compared exactly. Sequence outputs are compared
element by element the same way.

usage: ort_compare.py WORKDIR PASS_LIST_OUT [FAILURES_OUT]
Prints one line per failing test and "N passed, N failed".
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

RTOL, ATOL = 1e-3, 1e-7
NP = {"float32": np.float32, "float64": np.float64, "int8": np.int8, "uint8": np.uint8,
      "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
      "int64": np.int64, "uint64": np.uint64, "bool": np.bool_, "float16": np.float16}


def load_expected(path, vtype):
    with open(path, "rb") as f:
        data = f.read()
    if vtype is not None and vtype.HasField("sequence_type"):
        s = onnx.SequenceProto()
        s.ParseFromString(data)
        return [numpy_helper.to_array(t) for t in s.tensor_values]
    if vtype is not None and vtype.HasField("optional_type"):
        o = onnx.OptionalProto()
        o.ParseFromString(data)
        if o.elem_type == onnx.OptionalProto.TENSOR:
            return numpy_helper.to_array(o.tensor_value)
        if o.elem_type == onnx.OptionalProto.SEQUENCE:
            return [numpy_helper.to_array(t) for t in o.sequence_value.tensor_values]
        return None
    t = onnx.TensorProto()
    t.ParseFromString(data)
    return numpy_helper.to_array(t)


def load_actual(prefix, i):
    with open("%s_%d.json" % (prefix, i)) as f:
        h = json.load(f)
    if h["type"] == "string":
        return np.array([s.encode("utf-8") for s in h["strings"]], dtype=object).reshape(h["dims"])
    if h["type"] not in NP:
        raise ValueError("output type %s" % h["type"])
    a = np.fromfile("%s_%d.bin" % (prefix, i), dtype=NP[h["type"]])
    return a.reshape(h["dims"])


def compare(exp, act, where):
    if isinstance(exp, list):
        raise AssertionError("%s: expected a sequence, ORT returned a tensor" % where)
    if exp.dtype == object:
        exp = np.array([e if isinstance(e, bytes) else str(e).encode() for e in exp.reshape(-1)],
                       dtype=object).reshape(exp.shape)
    np.testing.assert_equal(act.dtype, exp.dtype, err_msg=where)
    if exp.dtype == object:
        np.testing.assert_array_equal(act, exp, err_msg=where)
    else:
        np.testing.assert_allclose(act, exp, rtol=RTOL, atol=ATOL, err_msg=where)


def first_line(e):
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    # assert_allclose: "Not equal to tolerance ..." then "Mismatched elements: a / b (x%)" then max diffs
    keep = [ln for ln in lines if ln.startswith(("Mismatched", "Max absolute", "x and y", "(shapes", "Items are not equal"))]
    head = lines[0] if lines else type(e).__name__
    return "; ".join([head] + keep[:3])[:300]


def actual_by_name(prefix, n):
    out = {}
    for i in range(n):
        with open("%s_%d.json" % (prefix, i)) as f:
            out[json.load(f)["name"]] = i
    return out


def rebuild(spec, prefix, idx):
    """The value a wrapped output stands for, from its unpacked tensors."""
    if spec["kind"] == "tensor":
        return load_actual(prefix, idx[spec["name"]])
    if spec["kind"] == "sequence":
        n = int(load_actual(prefix, idx[spec["len"]]))
        if n != len(spec["elems"]):
            raise AssertionError("sequence of %d tensors, %d expected" % (n, len(spec["elems"])))
        return [rebuild(e, prefix, idx) for e in spec["elems"]]
    has = bool(load_actual(prefix, idx[spec["has"]]))
    if has != (spec["value"] is not None):
        raise AssertionError("optional %s a value, expected %s" % ("has" if has else "lacks", "one" if not has else "none"))
    return rebuild(spec["value"], prefix, idx) if has else None


def compare_value(exp, act, where):
    if isinstance(exp, list):
        if not isinstance(act, list) or len(act) != len(exp):
            raise AssertionError("%s: sequence length differs" % where)
        for j, (e, a) in enumerate(zip(exp, act)):
            compare(e, a, "%s[%d]" % (where, j))
    elif exp is None:
        if act is not None:
            raise AssertionError("%s: expected an empty optional" % where)
    else:
        compare(exp, act, where)


def check(man, st):
    if not st["ok"]:
        return st["error"]
    model = onnx.load(man["model"], load_external_data=False)
    outs = list(model.graph.output)
    for s in man["sets"]:
        with open(s["out_prefix"] + "_count.json") as f:
            n_act = json.load(f)["n"]
        specs = s.get("out_spec")
        if specs is None and n_act != s["n_outputs"]:
            return "%d outputs, %d expected" % (n_act, s["n_outputs"])
        idx = actual_by_name(s["out_prefix"], n_act) if specs is not None else None
        for i in range(s["n_outputs"]):
            exp = load_expected(os.path.join(s["dir"], "output_%d.pb" % i), outs[i].type if i < len(outs) else None)
            try:
                act = rebuild(specs[i], s["out_prefix"], idx) if specs is not None else load_actual(s["out_prefix"], i)
                compare_value(exp, act, "output %d" % i)
            except AssertionError as e:
                return "output %d: %s" % (i, first_line(e))
            except Exception as e:
                return "output %d: %s" % (i, e)
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    work, pass_out = sys.argv[1], sys.argv[2]
    fail_out = sys.argv[3] if len(sys.argv) > 3 else None
    with open(os.path.join(work, "ort_status.json")) as f:
        status = {(s["group"], s["name"]): s for s in json.load(f)}
    with open(os.path.join(work, "manifests.txt")) as f:
        manifests = [ln.strip() for ln in f if ln.strip()]
    passed, failed = [], []
    for mp in manifests:
        with open(mp) as f:
            man = json.load(f)
        st = status.get((man["group"], man["name"]), {"ok": False, "error": "not run"})
        with np.errstate(all="ignore"):
            why = check(man, st)
        if why is None:
            passed.append(man["name"])
        else:
            failed.append({"name": man["name"], "group": man["group"], "ops": man["ops"], "why": why})
            print("FAIL %s/%s: %s" % (man["group"], man["name"], why))
    with open(pass_out, "w") as f:
        f.write("".join(n + "\n" for n in sorted(passed)))
    if fail_out:
        with open(fail_out, "w") as f:
            json.dump(failed, f, indent=0)
    print("%d passed, %d failed" % (len(passed), len(failed)))


if __name__ == "__main__":
    main()
