/* The smallest complete Flint program: load a GGUF model, stream a greedy or
 * sampled continuation of a prompt, print the speed. Linked against the shared
 * library (libflintrt.so) in the build, so it also proves the exported API.
 *
 *     generate MODEL.gguf "Once upon a time" [N_TOKENS] [TEMPERATURE]
 */
#include <stdio.h>
#include <stdlib.h>

#include "flintrt.h"

static int print_piece(flintrt_token token, const char *piece, size_t len, void *user) {
    (void)token;
    (void)user;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop the generation */
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_TOKENS] [TEMPERATURE]\n", argv[0]);
        return 2;
    }
    if (flintrt_version_number() != FLINTRT_VERSION_NUMBER)
        fprintf(stderr, "warning: header %s, library %s\n", FLINTRT_VERSION_STRING, flintrt_version_string());

    flintrt_model *model;
    if (flintrt_model_load(argv[1], NULL, &model) != FLINTRT_OK) {
        fprintf(stderr, "error: %s\n", flintrt_last_error());
        return 1;
    }
    flintrt_session_options so;
    flintrt_session_options_init(&so);
    so.seed = 42;
    flintrt_session *session;
    if (flintrt_session_create(model, &so, &session) != FLINTRT_OK) {
        fprintf(stderr, "error: %s\n", flintrt_last_error());
        flintrt_model_free(model);
        return 1;
    }
    flintrt_sampler_params sp;
    flintrt_sampler_params_init(&sp);
    if (argc > 4) sp.temperature = (float)atof(argv[4]);

    flintrt_generate_params gp;
    flintrt_generate_params_init(&gp);
    gp.max_tokens = argc > 3 ? atoi(argv[3]) : 64;
    gp.sampling = &sp;
    gp.on_token = print_piece;

    flintrt_generate_stats stats = {.size = sizeof stats};
    flintrt_status st = flintrt_generate(session, argv[2], &gp, &stats);
    if (st != FLINTRT_OK)
        fprintf(stderr, "\nerror: %s: %s\n", flintrt_status_string(st), flintrt_last_error());
    else
        fprintf(stderr, "\n[%d prompt tokens, %d generated, %.1f tokens/s]\n", stats.n_prompt_tokens,
                stats.n_generated, stats.n_generated / (stats.generate_seconds > 0 ? stats.generate_seconds : 1));
    flintrt_session_free(session);
    flintrt_model_free(model);
    return st == FLINTRT_OK ? 0 : 1;
}
