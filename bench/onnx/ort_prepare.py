#!/usr/bin/python3
"""Convert ONNX backend test folders into files a Node.js ONNX Runtime runner can
feed: for every test, a manifest.json (model path, input names/dtypes/dims per
data set) and one raw little-endian buffer per input tensor.

Input i of a data set goes to the i-th graph input that is not an initializer
(what onnxruntime's backend does with a list of inputs); the proto kind
(tensor, sequence, optional) is taken from that input's declared type, as the
ONNX backend runner does.

onnxruntime-node feeds and returns tensors only, while the Python backend runner
feeds and compares sequences and optionals. A model with such inputs or outputs
is therefore wrapped (a copy in OUTDIR, per data set): every sequence/optional
input becomes tensor inputs plus SequenceConstruct/SequenceEmpty/Optional nodes
in front, and every sequence/optional output is unpacked behind the graph with
SequenceLength/SequenceAt and OptionalHasElement/OptionalGetElement (the element
count taken from the expected output), so the same values are compared.

usage: ort_prepare.py OUTDIR TESTDIR...   (TESTDIR: a test or a folder of tests)
"""
import glob
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# ONNX TensorProto.DataType -> onnxruntime-node Tensor type name
ORT_TYPE = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
}


def tests_under(d):
    if os.path.isfile(os.path.join(d, "model.onnx")):
        return [d]
    return sorted(os.path.join(d, e) for e in os.listdir(d)
                  if os.path.isfile(os.path.join(d, e, "model.onnx")))


def tensor_entry(t, path_noext):
    """Write one TensorProto; return its manifest entry."""
    dt = t.data_type
    dims = [int(x) for x in t.dims]
    if dt == 8:
        arr = numpy_helper.to_array(t)
        vals = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.reshape(-1)]
        return {"kind": "tensor", "type": "string", "dims": dims, "strings": vals}
    if dt not in ORT_TYPE:
        return {"kind": "unsupported", "why": "tensor data type %d (%s) has no onnxruntime-node type" %
                (dt, onnx.TensorProto.DataType.Name(dt))}
    arr = numpy_helper.to_array(t)
    if dt == 10:
        arr = arr.astype(np.float16).view(np.uint16)
    elif dt == 9:
        arr = arr.astype(np.uint8)
    buf = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
    with open(path_noext + ".bin", "wb") as f:
        f.write(buf)
    return {"kind": "tensor", "type": ORT_TYPE[dt], "dims": dims, "file": path_noext + ".bin"}


def read_proto(path, cls):
    with open(path, "rb") as f:
        p = cls()
        p.ParseFromString(f.read())
    return p


def is_plain(vtype):
    return vtype is None or vtype.HasField("tensor_type")


class Wrapper:
    """Builds the wrapped copy of a model with non-tensor inputs/outputs."""

    def __init__(self):
        self.inputs, self.pre, self.post, self.outputs, self.k = [], [], [], [], 0

    def const(self, v):
        self.k += 1
        name = "__ort_k%d" % self.k
        self.pre.append(onnx.helper.make_node("Constant", [], [name],
                                              value=onnx.helper.make_tensor(name, onnx.TensorProto.INT64, [], [v])))
        return name

    def feed(self, vtype, proto, target, out_noext, entries):
        """Make `target` hold proto's value; append tensor feeds to entries."""
        if isinstance(proto, onnx.TensorProto):
            e = tensor_entry(proto, out_noext)
            e["feed"] = target
            entries.append(e)
            self.inputs.append(onnx.helper.make_tensor_value_info(target, proto.data_type, list(proto.dims)))
            return
        if isinstance(proto, onnx.SequenceProto):
            elems = []
            for j, t in enumerate(proto.tensor_values):
                n = "%s__el%d" % (target, j)
                self.feed(None, t, n, "%s_el%d" % (out_noext, j), entries)
                elems.append(n)
            if elems:
                self.pre.append(onnx.helper.make_node("SequenceConstruct", elems, [target]))
            else:
                et = vtype.sequence_type.elem_type.tensor_type.elem_type if vtype is not None else 1
                self.pre.append(onnx.helper.make_node("SequenceEmpty", [], [target], dtype=et or 1))
            return
        # OptionalProto
        if proto.elem_type == onnx.OptionalProto.TENSOR:
            self.feed(None, proto.tensor_value, target + "__val", out_noext + "_val", entries)
            self.pre.append(onnx.helper.make_node("Optional", [target + "__val"], [target]))
        elif proto.elem_type == onnx.OptionalProto.SEQUENCE:
            inner = vtype.optional_type.elem_type if vtype is not None else None
            self.feed(inner, proto.sequence_value, target + "__val", out_noext + "_val", entries)
            self.pre.append(onnx.helper.make_node("Optional", [target + "__val"], [target]))
        else:
            self.pre.append(onnx.helper.make_node("Optional", [], [target], type=vtype.optional_type.elem_type))

    def unpack(self, name, proto):
        """Expose the value `name` (expected: proto) as tensor outputs; return its spec."""
        if isinstance(proto, onnx.TensorProto):
            self.outputs.append(onnx.helper.make_tensor_value_info(name, proto.data_type, None))
            return {"kind": "tensor", "name": name}
        if isinstance(proto, onnx.SequenceProto):
            ln = name + "__len"
            self.post.append(onnx.helper.make_node("SequenceLength", [name], [ln]))
            self.outputs.append(onnx.helper.make_tensor_value_info(ln, onnx.TensorProto.INT64, []))
            elems = []
            for j, t in enumerate(proto.tensor_values):
                n = "%s__el%d" % (name, j)
                self.post.append(onnx.helper.make_node("SequenceAt", [name, self.const(j)], [n]))
                elems.append(self.unpack(n, t))
            return {"kind": "sequence", "len": ln, "elems": elems}
        has = name + "__has"
        self.post.append(onnx.helper.make_node("OptionalHasElement", [name], [has]))
        self.outputs.append(onnx.helper.make_tensor_value_info(has, onnx.TensorProto.BOOL, []))
        spec = {"kind": "optional", "has": has, "value": None}
        if proto.elem_type in (onnx.OptionalProto.TENSOR, onnx.OptionalProto.SEQUENCE):
            v = name + "__val"
            self.post.append(onnx.helper.make_node("OptionalGetElement", [name], [v]))
            spec["value"] = self.unpack(v, proto.tensor_value if proto.elem_type == onnx.OptionalProto.TENSOR
                                        else proto.sequence_value)
        return spec


def expected_proto(path, vtype):
    if vtype is not None and vtype.HasField("sequence_type"):
        return read_proto(path, onnx.SequenceProto)
    if vtype is not None and vtype.HasField("optional_type"):
        return read_proto(path, onnx.OptionalProto)
    return read_proto(path, onnx.TensorProto)


def prepare(test_dir, out_root, group):
    name = os.path.basename(test_dir.rstrip("/"))
    out_dir = os.path.join(out_root, group, name)
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.abspath(os.path.join(test_dir, "model.onnx"))
    model = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    real_inputs = [i for i in model.graph.input if i.name not in inits]
    wrap = not all(is_plain(v.type) for v in list(real_inputs) + list(model.graph.output))
    ops = sorted({("%s." % n.domain if n.domain and n.domain != "ai.onnx" else "") + n.op_type
                  for n in model.graph.node})
    sets = []
    for sd in sorted(glob.glob(os.path.join(test_dir, "test_data_set_*"))):
        sname = os.path.basename(sd)
        n_in = len(glob.glob(os.path.join(sd, "input_*.pb")))
        n_out = len(glob.glob(os.path.join(sd, "output_*.pb")))
        entry = {"dir": sd, "n_outputs": n_out, "model": model_path,
                 "out_prefix": os.path.join(out_dir, "%s_output" % sname)}
        if not wrap:
            inputs = []
            for i in range(n_in):
                vi = real_inputs[i] if i < len(real_inputs) else None
                e = tensor_entry(read_proto(os.path.join(sd, "input_%d.pb" % i), onnx.TensorProto),
                                 os.path.join(out_dir, "%s_input_%d" % (sname, i)))
                e["name"] = vi.name if vi else None
                inputs.append(e)
            entry["inputs"] = inputs
        else:
            w = Wrapper()
            inputs = []
            for i in range(n_in):
                vi = real_inputs[i]
                p = expected_proto(os.path.join(sd, "input_%d.pb" % i), vi.type)
                w.feed(vi.type, p, vi.name, os.path.join(out_dir, "%s_input_%d" % (sname, i)), inputs)
            specs = []
            for i, vo in enumerate(model.graph.output[:n_out]):
                specs.append(w.unpack(vo.name, expected_proto(os.path.join(sd, "output_%d.pb" % i), vo.type)))
            m2 = onnx.ModelProto()
            m2.CopyFrom(model)
            g = m2.graph
            nodes = w.pre + list(g.node) + w.post
            del g.node[:]
            g.node.extend(nodes)
            keep = [v for v in g.input if v.name in inits]
            del g.input[:]
            g.input.extend(w.inputs + keep)
            del g.output[:]
            g.output.extend(w.outputs)
            entry["model"] = os.path.join(out_dir, "%s_wrapped.onnx" % sname)
            onnx.save(m2, entry["model"])
            entry["inputs"] = inputs
            entry["out_spec"] = specs
        sets.append(entry)
    man = {"name": name, "group": group, "model": model_path, "ops": ops, "sets": sets}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(man, f)
    return os.path.join(out_dir, "manifest.json")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_root = sys.argv[1]
    manifests = []
    for d in sys.argv[2:]:
        group = os.path.basename(os.path.normpath(d))
        for t in tests_under(d):
            g = group if t != d else os.path.basename(os.path.dirname(os.path.normpath(t)))
            try:
                manifests.append(prepare(t, out_root, g))
            except Exception as e:  # a test the converter cannot read is reported, not fatal
                print("prepare %s: %s" % (t, e), file=sys.stderr)
    with open(os.path.join(out_root, "manifests.txt"), "w") as f:
        f.write("\n".join(manifests) + "\n")
    print("%d tests prepared under %s" % (len(manifests), out_root))


if __name__ == "__main__":
    main()
