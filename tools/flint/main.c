/* flint: the command-line tool. main() only dispatches to one function per
 * subcommand (commands.h); each prints its own usage with -h. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "flintrt.h"

static const char usage[] =
    "usage: flint <command> [options]\n"
    "\n"
    "commands:\n"
    "  run       generate text from a prompt         flint run -m MODEL -p TEXT [-n N]\n"
    "  inspect   describe a GGUF file                flint inspect FILE\n"
    "  tokenize  print the token ids of a text       flint tokenize -m MODEL -p TEXT\n"
    "  eval      write the logits of given token ids flint eval -m MODEL --ids \"1 2 3\" -o OUT.f32\n"
    "  bench     prompt and generation speed          flint bench -m MODEL [-p 512] [-n 128] [--json]\n"
    "  synth     write a random-weight Llama model   flint synth -o OUT.gguf [--shape tiny|135m|1b]\n"
    "  quantize  convert a model to a quant type     flint quantize IN.gguf OUT.gguf Q4_K_M\n"
    "  perplexity  perplexity / KL divergence      flint perplexity -m MODEL -f TEXT\n"
    "  keygen    make a minisign-compatible key pair flint keygen -W [-p PUB] [-s SEC]\n"
    "  sign      sign a model (writes MODEL.minisig) flint sign MODEL [-s SEC] [-t COMMENT]\n"
    "  verify    check a model's minisign signature  flint verify MODEL -p PUB | -P BASE64\n"
    "  onnx-test run ONNX backend test folders      flint onnx-test DIR...\n"
    "  version   print the version\n"
    "  help      this text, or `flint help <command>` for a command's options\n";

typedef int (*cmd_fn)(int argc, char **argv);

static const struct {
    const char *name;
    cmd_fn fn;
} commands[] = {
    {"run", flint_cmd_run},
    {"inspect", flint_cmd_inspect},
    {"tokenize", flint_cmd_tokenize},
    {"eval", flint_cmd_eval},
    {"bench", flint_cmd_bench},
    {"synth", flint_cmd_synth},
    {"onnx-test", flint_cmd_onnx_test},
    {"keygen", flint_cmd_keygen},
    {"sign", flint_cmd_sign},
    {"verify", flint_cmd_verify},
    {"quantize", flint_cmd_quantize},
    {"perplexity", flint_cmd_perplexity},
};

static cmd_fn find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name)) return commands[i].fn;
    return NULL;
}

static int print_version(void) {
    printf("flint %s (libflintrt %s)\n", FLINTRT_VERSION_STRING, flintrt_version_string());
    if (flintrt_version_number() != FLINTRT_VERSION_NUMBER) {
        fprintf(stderr, "flint: warning: built with flintrt.h %s but running libflintrt %s\n",
                FLINTRT_VERSION_STRING, flintrt_version_string());
    }
    return FLINT_EXIT_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return FLINT_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "version") || !strcmp(name, "--version") || !strcmp(name, "-V")) {
        if (argc > 2) {
            fprintf(stderr, "flint version: unexpected argument '%s'\n", argv[2]);
            return FLINT_EXIT_USAGE;
        }
        return print_version();
    }
    if (!strcmp(name, "help") || flint_is_help(name)) {
        if (argc == 2) {
            fputs(usage, stdout);
            return FLINT_EXIT_OK;
        }
        cmd_fn fn = find_command(argv[2]);
        if (!fn || argc > 3) {
            fprintf(stderr, "flint help: unknown command '%s'\n", argv[2]);
            fputs(usage, stderr);
            return FLINT_EXIT_USAGE;
        }
        char help[] = "--help";
        char *sub_argv[] = {argv[2], help, NULL};
        return fn(2, sub_argv);
    }
    cmd_fn fn = find_command(name);
    if (!fn) {
        fprintf(stderr, "flint: unknown command '%s'\n", name);
        fputs(usage, stderr);
        return FLINT_EXIT_USAGE;
    }
    return fn(argc - 1, argv + 1);
}
