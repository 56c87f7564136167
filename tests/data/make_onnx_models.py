#!/usr/bin/python3
"""Writes the small ONNX models Flint's tests and fuzz seeds use (Debian's
python3-onnx and python3-numpy; run with /usr/bin/python3):

    /usr/bin/python3 tests/data/make_onnx_models.py fuzz/corpus/onnx

Each model is tiny and exercises one part of the loader: initializers as
raw_data and as typed fields, symbolic dims, attributes of several types,
If/Loop subgraphs with outer-scope reads, Constant folding, shape arithmetic."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, folder, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, name))


def main(folder):
    os.makedirs(folder, exist_ok=True)
    # add + mul with a raw_data initializer and a typed-field (float_data) one
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    b = helper.make_tensor("b", TensorProto.FLOAT, [3], [0.5, -1.0, 2.0])  # float_data
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["s"]), helper.make_node("Mul", ["s", "b"], ["y"])],
        "addmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], [w, b])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), folder, "addmul.onnx")

    # shape arithmetic: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Constant, Cast
    nodes = [
        helper.make_node("Shape", ["x"], ["sh"]),
        helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.INT64, [], [0])),
        helper.make_node("Gather", ["sh", "zero"], ["n"], axis=0),
        helper.make_node("Constant", [], ["ax"], value_ints=[0]),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        helper.make_node("Constant", [], ["m1"], value_ints=[-1]),
        helper.make_node("Concat", ["n1", "m1"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["x", "newshape"], ["r"]),
        helper.make_node("Cast", ["r"], ["y"], to=TensorProto.DOUBLE),
    ]
    g = helper.make_graph(nodes, "shapes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["n", 6])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), folder, "shapes.onnx")

    # If reading an outer value in both branches
    then_g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])])
    g = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)], "iff",
                          [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                           helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), folder, "if.onnx")

    # Loop: carried sum plus a scan output
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["acc_in", "x"], ["acc_out"]),
         helper.make_node("Identity", ["acc_out"], ["scan"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("scan", TensorProto.FLOAT, [2])])
    g = helper.make_graph([helper.make_node("Loop", ["m", "", "a0"], ["acc", "scans"], body=body)], "loop",
                          [helper.make_tensor_value_info("m", TensorProto.INT64, []),
                           helper.make_tensor_value_info("a0", TensorProto.FLOAT, [2]),
                           helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("acc", TensorProto.FLOAT, [2]),
                           helper.make_tensor_value_info("scans", TensorProto.FLOAT, ["m", 2])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), folder, "loop.onnx")

    # integer and bool dtypes, reductions, softmax, matmul, attributes of several types
    nodes = [
        helper.make_node("MatMul", ["a", "b"], ["p"]),
        helper.make_node("Softmax", ["p"], ["sm"], axis=-1),
        helper.make_node("ReduceSum", ["sm", "axes"], ["rs"], keepdims=0),
        helper.make_node("ArgMax", ["p"], ["am"], axis=1, keepdims=1),
        helper.make_node("Greater", ["p", "zero"], ["pos"]),
        helper.make_node("Where", ["pos", "p", "zero"], ["relu"]),
        helper.make_node("Transpose", ["relu"], ["y"], perm=[1, 0]),
    ]
    g = helper.make_graph(nodes, "misc",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 2]),
                           helper.make_tensor_value_info("rs", TensorProto.FLOAT, [2]),
                           helper.make_tensor_value_info("am", TensorProto.INT64, [2, 1])],
                          [numpy_helper.from_array(np.array([1], np.int64), "axes"),
                           numpy_helper.from_array(np.array(0, np.float32), "zero")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), folder, "misc.onnx")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/onnx")
