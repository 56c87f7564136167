/* Model loading and the model-level (thread-safe) calls: facts and tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "trust/digest.h"

FLINTRT_API void flintrt_model_options_init(flintrt_model_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

FLINTRT_API flintrt_status flintrt_model_load(const char *path, const flintrt_model_options *opts,
                                              flintrt_model **out) {
    return flt_model_load_ex(path, opts, NULL, out);
}

flintrt_status flt_model_load_ex(const char *path, const flintrt_model_options *opts,
                                 const flt_load_hooks *hooks, flintrt_model **out) {
    if (!path || !out) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "model_load: path and out are required");
    *out = NULL;
    flintrt_model_options o;
    flintrt_model_options_init(&o);
    if (opts) {
        if (opts->size < offsetof(flintrt_model_options, log))
            return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "model options: size not set (call flintrt_model_options_init)");
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    size_t plen = strlen(path);
    if (plen >= 5 && !strcmp(path + plen - 5, ".onnx"))
        return flt_api_fail(FLINTRT_ERR_UNSUPPORTED, "%s: ONNX models load with flintrt_graph_model_load", path);
    flintrt_model *m = calloc(1, sizeof *m);
    if (!m) return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "model");
    m->log = o.log;
    m->log_user = o.log_user;
    flt_err e;
    flt_err_clear(&e);
    const char *slash = strrchr(path, '/');
    m->file_name = strdup(slash ? slash + 1 : path);
    if (!m->file_name) {
        flt_fail(&e, FLINTRT_ERR_OUT_OF_MEMORY, "model");
        goto fail;
    }
    flt_trust_policy policy;
    flt_trust_policy_from_options(opts, &policy);
    if (policy.require_signed || policy.compute_digest) {
        /* One mapping: hashed (and verified) first, then the same bytes go to the parser. */
        if (flt_map_file(path, &m->map, &e)) goto fail;
        if (flt_trust_check(path, m->map.data, m->map.size, &policy, &m->trust, &e)) goto fail;
        if (m->trust.verified)
            flt_api_log(m, FLINTRT_LOG_INFO, "%s: signature by trusted key %s verified (trusted comment: "
                        "flintrt_model_trusted_comment)", path, m->trust.key_id);
        if (hooks && hooks->on_parse) hooks->on_parse(hooks->user);
        if (flt_gguf_open_memory(m->map.data, m->map.size, &m->gguf, &e)) goto fail;
    } else {
        if (hooks && hooks->on_parse) hooks->on_parse(hooks->user);
        if (flt_gguf_open(path, &m->gguf, &e)) goto fail;
    }
    if (flt_vocab_load_gguf(m->gguf, &m->vocab, &e)) { flt_err_prefix(&e, "tokenizer"); goto fail; }
    if (!o.vocab_only) {
        if (flt_llama_load(m->gguf, &m->llama, &e)) goto fail;
        /* Both loading paths compute from a read-only file mapping, so the
         * plain pages of repacked matrices can be released. */
        if (!o.no_repack && flt_llama_pack(m->llama, flt_kernels_default(), true, &e)) goto fail;
        if (m->llama->hp.n_vocab != flt_vocab_n(m->vocab)) {
            flt_fail(&e, FLINTRT_ERR_FORMAT, "token_embd.weight has %d rows but the tokenizer has %d tokens",
                     m->llama->hp.n_vocab, flt_vocab_n(m->vocab));
            goto fail;
        }
        const flt_llama_hparams *hp = &m->llama->hp;
        flt_api_log(m, FLINTRT_LOG_INFO, "loaded %s: llama, %d layers, n_embd %d, %d heads (%d KV), n_ff %d, vocab %d",
                    path, hp->n_layer, hp->n_embd, hp->n_head, hp->n_head_kv, hp->n_ff, hp->n_vocab);
    }
    *out = m;
    return FLINTRT_OK;
fail:
    flt_err_prefix(&e, "%s", path);
    flintrt_model_free(m);
    return flt_api_report(&e);
}

FLINTRT_API void flintrt_model_free(flintrt_model *model) {
    if (!model) return;
    flt_llama_free(model->llama);
    flt_vocab_free(model->vocab);
    flt_gguf_close(model->gguf);
    flt_unmap_file(&model->map);
    flt_trust_result_free(&model->trust);
    free(model->file_name);
    free(model);
}

FLINTRT_API size_t flintrt_model_n_files(const flintrt_model *model) { return model ? 1 : 0; }

FLINTRT_API flintrt_status flintrt_model_digest(const flintrt_model *model, size_t i, const char **name,
                                                uint8_t sha256[FLINTRT_SHA256_BYTES]) {
    if (!model || !sha256) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "model_digest: model and sha256 are required");
    if (i >= flintrt_model_n_files(model))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "model_digest: file %zu of %zu", i, flintrt_model_n_files(model));
    if (!model->trust.has_digest)
        return flt_api_fail(FLINTRT_ERR_NOT_FOUND, "model_digest: not computed (set compute_digest when loading)");
    if (name) *name = model->file_name;
    memcpy(sha256, model->trust.sha256, FLINTRT_SHA256_BYTES);
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_model_manifest_digest(const flintrt_model *model,
                                                         uint8_t sha256[FLINTRT_SHA256_BYTES]) {
    flt_manifest_item item;
    flintrt_status st = flintrt_model_digest(model, 0, &item.name, item.sha256);
    if (st) return st;
    flt_err e;
    flt_err_clear(&e);
    char *text;
    size_t len;
    st = flt_manifest_build(&item, 1, &text, &len, sha256, &e);
    if (st) return flt_api_report(&e);
    free(text);
    return FLINTRT_OK;
}

FLINTRT_API const char *flintrt_model_trusted_comment(const flintrt_model *model) {
    return model && model->trust.verified ? model->trust.trusted_comment : NULL;
}

FLINTRT_API const char *flintrt_model_signer_key_id(const flintrt_model *model) {
    return model && model->trust.verified ? model->trust.key_id : NULL;
}

FLINTRT_API const char *flintrt_model_arch(const flintrt_model *model) {
    return model && model->llama ? "llama" : "";
}
FLINTRT_API int32_t flintrt_model_n_vocab(const flintrt_model *model) {
    return model ? flt_vocab_n(model->vocab) : 0;
}
FLINTRT_API int32_t flintrt_model_n_ctx_train(const flintrt_model *model) {
    return model && model->llama ? model->llama->hp.n_ctx_train : 0;
}
FLINTRT_API flintrt_token flintrt_model_bos(const flintrt_model *model) {
    return model ? flt_vocab_bos(model->vocab) : -1;
}
FLINTRT_API flintrt_token flintrt_model_eos(const flintrt_model *model) {
    return model ? flt_vocab_eos(model->vocab) : -1;
}
FLINTRT_API uint64_t flintrt_model_n_params(const flintrt_model *model) {
    return model && model->llama ? model->llama->n_params : 0;
}

FLINTRT_API uint64_t flintrt_model_weight_bytes(const flintrt_model *model) {
    return model && model->llama ? model->llama->weight_bytes : 0;
}
FLINTRT_API uint64_t flintrt_model_bytes_per_token(const flintrt_model *model) {
    return model && model->llama ? model->llama->bytes_per_token : 0;
}

FLINTRT_API flintrt_status flintrt_tokenize(const flintrt_model *model, const char *text, size_t len,
                                            uint32_t flags, flintrt_token *out, size_t cap,
                                            size_t *n_out) {
    if (!model || (!text && len) || !n_out || (!out && cap))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "tokenize: model, text and n_out are required");
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st = flt_vocab_tokenize(model->vocab, text ? text : "", len, flags, out, cap, n_out, &e);
    return st ? flt_api_report(&e) : FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_token_to_piece(const flintrt_model *model, flintrt_token token,
                                                  uint32_t flags, char *buf, size_t cap,
                                                  size_t *n_out) {
    if (!model || !n_out || (!buf && cap))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "token_to_piece: model and n_out are required");
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st = flt_vocab_token_to_piece(model->vocab, token, flags, buf, cap, n_out, &e);
    return st ? flt_api_report(&e) : FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_detokenize(const flintrt_model *model, const flintrt_token *tokens,
                                              size_t n_tokens, uint32_t flags, char *buf, size_t cap,
                                              size_t *n_out) {
    if (!model || (!tokens && n_tokens) || !n_out || (!buf && cap))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "detokenize: model, tokens and n_out are required");
    flt_err e;
    flt_err_clear(&e);
    flintrt_status st = flt_vocab_detokenize(model->vocab, tokens, n_tokens, flags, buf, cap, n_out, &e);
    return st ? flt_api_report(&e) : FLINTRT_OK;
}
