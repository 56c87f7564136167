/* One function per `flint` subcommand; argv[0] is the subcommand name.
 * Each returns the process exit status (0 ok, 1 runtime error, 2 usage error). */
#ifndef FLINT_TOOL_COMMANDS_H
#define FLINT_TOOL_COMMANDS_H

int flint_cmd_run(int argc, char **argv);
int flint_cmd_inspect(int argc, char **argv);
int flint_cmd_tokenize(int argc, char **argv);
int flint_cmd_eval(int argc, char **argv);
int flint_cmd_synth(int argc, char **argv);

#endif
