/* One function per `flint` subcommand; argv[0] is the subcommand name.
 * Each returns the process exit status (0 ok, 1 runtime error, 2 usage error). */
#ifndef FLINT_TOOL_COMMANDS_H
#define FLINT_TOOL_COMMANDS_H

int flint_cmd_run(int argc, char **argv);
int flint_cmd_inspect(int argc, char **argv);
int flint_cmd_tokenize(int argc, char **argv);
int flint_cmd_eval(int argc, char **argv);
int flint_cmd_bench(int argc, char **argv);
int flint_cmd_synth(int argc, char **argv);
int flint_cmd_onnx_test(int argc, char **argv);

/* ONNX models in `run` and `inspect` (cmd_onnx_run.c): true when the model
 * argument (-m/--model's value if model_opt, else a positional) names an .onnx file. */
#include <stdbool.h>
bool flint_onnx_in_args(int argc, char **argv, bool model_opt);
int flint_cmd_run_onnx(int argc, char **argv);
int flint_cmd_inspect_onnx(int argc, char **argv);
int flint_cmd_keygen(int argc, char **argv);
int flint_cmd_sign(int argc, char **argv);
int flint_cmd_verify(int argc, char **argv);
int flint_cmd_quantize(int argc, char **argv);
int flint_cmd_perplexity(int argc, char **argv);

#endif
