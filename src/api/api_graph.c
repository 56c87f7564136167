/* The public graph-model (ONNX) calls: load, declared inputs/outputs,
 * sessions, binding, running, outputs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_graph_trust.h"
#include "api/api_internal.h"
#include "core/checked.h"
#include "onnx/exec.h"
#include "onnx/model.h"

struct flintrt_graph_model {
    flt_onnx_model *m;
    flt_graph_trust *trust;  /* digests / signature result when a policy was given, else NULL */
};

struct flintrt_graph_session {
    const flintrt_graph_model *model;
    flt_onnx_session *s;
    flt_onnx_tinfo *ti;  /* per bindable input */
};

FLINTRT_API flintrt_status flintrt_graph_model_load(const char *path, const flintrt_model_options *opts,
                                                    flintrt_graph_model **out) {
    return flt_graph_model_load_ex(path, opts, NULL, out);
}

flintrt_status flt_graph_model_load_ex(const char *path, const flintrt_model_options *opts,
                                       const flt_load_hooks *hooks, flintrt_graph_model **out) {
    if (!path || !out) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_model_load: path and out are required");
    *out = NULL;
    if (opts && opts->size < offsetof(flintrt_model_options, log))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "model options: size not set (call flintrt_model_options_init)");
    flintrt_graph_model *gm = calloc(1, sizeof *gm);
    if (!gm) return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "model");
    flt_err e;
    flt_err_clear(&e);
    flt_trust_policy policy;
    flt_trust_policy_from_options(opts, &policy);
    flintrt_status st;
    if (policy.require_signed || policy.compute_digest) {
        /* One mapping: digested (and verified) first, then the same bytes go to the parser. */
        flt_mapped_file map = {0};
        flt_onnx_load_opts lo;
        char *dir = NULL;
        st = flt_map_file(path, &map, &e);
        if (!st) st = flt_graph_trust_begin(path, map.data, map.size, &policy, &gm->trust, &lo, &e);
        if (!st && !(dir = flt_onnx_folder_of(path))) st = flt_fail(&e, FLINTRT_ERR_OUT_OF_MEMORY, "path");
        if (!st) {
            if (hooks) { lo.on_parse = hooks->on_parse; lo.parse_user = hooks->user; }
            st = flt_onnx_load_ex(map.data, map.size, dir, &lo, &gm->m, &e);
        }
        free(dir);
        if (!st) gm->m->map = map; /* the model owns the mapping now */
        else flt_unmap_file(&map);
    } else {
        if (hooks && hooks->on_parse) hooks->on_parse(hooks->user);
        st = flt_onnx_load(path, &gm->m, &e);
    }
    if (!st) st = flt_onnx_check_ops(gm->m, &e);
    if (st) {
        flintrt_graph_model_free(gm);
        flt_err_prefix(&e, "%s", path);
        return flt_api_report(&e);
    }
    *out = gm;
    return FLINTRT_OK;
}

FLINTRT_API void flintrt_graph_model_free(flintrt_graph_model *model) {
    if (!model) return;
    flt_onnx_free(model->m);
    flt_graph_trust_free(model->trust);
    free(model);
}

FLINTRT_API size_t flintrt_graph_model_n_files(const flintrt_graph_model *model) {
    if (!model) return 0;
    if (model->trust && model->trust->has_digest) return model->trust->n_files;
    return 1 + (size_t)model->m->n_ext_maps;
}

FLINTRT_API flintrt_status flintrt_graph_model_digest(const flintrt_graph_model *model, size_t i, const char **name,
                                                      uint8_t sha256[FLINTRT_SHA256_BYTES]) {
    if (!model || !sha256)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_model_digest: model and sha256 are required");
    if (i >= flintrt_graph_model_n_files(model))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_model_digest: file %zu of %zu", i,
                            flintrt_graph_model_n_files(model));
    if (!model->trust || !model->trust->has_digest)
        return flt_api_fail(FLINTRT_ERR_NOT_FOUND, "graph_model_digest: not computed (set compute_digest when loading)");
    if (name) *name = model->trust->files[i].name;
    memcpy(sha256, model->trust->files[i].sha256, FLINTRT_SHA256_BYTES);
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_graph_model_manifest_digest(const flintrt_graph_model *model,
                                                               uint8_t sha256[FLINTRT_SHA256_BYTES]) {
    if (!model || !sha256)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_model_manifest_digest: model and sha256 are required");
    if (!model->trust || !model->trust->has_digest)
        return flt_api_fail(FLINTRT_ERR_NOT_FOUND, "graph_model_manifest_digest: not computed (set compute_digest when loading)");
    size_t n = model->trust->n_files;
    flt_manifest_item *items = flt_malloc_array(n, sizeof *items);
    if (!items) return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "manifest");
    memcpy(items, model->trust->files, n * sizeof *items);
    flt_err e;
    flt_err_clear(&e);
    char *text = NULL;
    size_t len;
    flintrt_status st = flt_manifest_build(items, n, &text, &len, sha256, &e);
    free(items);
    free(text);
    return st ? flt_api_report(&e) : FLINTRT_OK;
}

FLINTRT_API const char *flintrt_graph_model_trusted_comment(const flintrt_graph_model *model) {
    return model && model->trust && model->trust->res.verified ? model->trust->res.trusted_comment : NULL;
}

FLINTRT_API const char *flintrt_graph_model_signer_key_id(const flintrt_graph_model *model) {
    return model && model->trust && model->trust->res.verified ? model->trust->res.key_id : NULL;
}

FLINTRT_API int32_t flintrt_graph_model_n_inputs(const flintrt_graph_model *model) {
    return model ? flt_onnx_session_n_inputs(model->m) : 0;
}

FLINTRT_API int32_t flintrt_graph_model_n_outputs(const flintrt_graph_model *model) {
    return model ? model->m->graph->n_outputs : 0;
}

FLINTRT_API int32_t flintrt_graph_model_find_input(const flintrt_graph_model *model, const char *name) {
    if (!model || !name) return -1;
    for (int i = 0; i < flt_onnx_session_n_inputs(model->m); i++)
        if (!strcmp(model->m->graph->values[flt_onnx_session_input_id(model->m, i)].name, name)) return i;
    return -1;
}

FLINTRT_API int32_t flintrt_graph_model_find_output(const flintrt_graph_model *model, const char *name) {
    if (!model || !name) return -1;
    const flt_onnx_graph *g = model->m->graph;
    for (int i = 0; i < g->n_outputs; i++)
        if (!strcmp(g->values[g->outputs[i]].name, name)) return i;
    return -1;
}

static flintrt_status fill_info(const flt_onnx_value *v, flintrt_tensor_info *info) {
    if (!info || info->size < sizeof *info)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "tensor info: size not set");
    info->name = v->name;
    flt_dtype d;
    info->dtype = v->has_type && flt_onnx_dtype(v->elem_type, &d) ? v->elem_type : 0;
    info->ndim = v->has_type ? v->ndim : -1;
    for (int i = 0; i < FLINTRT_MAX_DIMS; i++) {
        bool in = i < info->ndim;
        info->dims[i] = in ? v->dims[i].value : 0;
        info->dim_names[i] = in ? v->dims[i].param : NULL;
    }
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_graph_model_input(const flintrt_graph_model *model, int32_t index,
                                                     flintrt_tensor_info *info) {
    if (!model || index < 0 || index >= flt_onnx_session_n_inputs(model->m))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_model_input: no input %d", (int)index);
    return fill_info(&model->m->graph->values[flt_onnx_session_input_id(model->m, index)], info);
}

FLINTRT_API flintrt_status flintrt_graph_model_output(const flintrt_graph_model *model, int32_t index,
                                                      flintrt_tensor_info *info) {
    if (!model || index < 0 || index >= model->m->graph->n_outputs)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_model_output: no output %d", (int)index);
    return fill_info(&model->m->graph->values[model->m->graph->outputs[index]], info);
}

FLINTRT_API void flintrt_graph_session_options_init(flintrt_graph_session_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->size = sizeof *opts;
}

FLINTRT_API flintrt_status flintrt_graph_session_create(const flintrt_graph_model *model,
                                                        const flintrt_graph_session_options *opts,
                                                        flintrt_graph_session **out) {
    if (!model || !out) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph_session_create: model and out are required");
    *out = NULL;
    flintrt_graph_session_options o;
    flintrt_graph_session_options_init(&o);
    if (opts) {
        if (opts->size < sizeof(size_t) + sizeof(int32_t))
            return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph session options: size not set (call _init)");
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    if (o.n_threads < 0 || o.n_threads > 1024)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "graph session options: n_threads %d", (int)o.n_threads);
    int nt = o.n_threads;
    if (!nt) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nt = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
    flintrt_graph_session *s = calloc(1, sizeof *s);
    int ni = flt_onnx_session_n_inputs(model->m);
    if (s) s->ti = calloc((size_t)(ni ? ni : 1), sizeof *s->ti);
    if (!s || !s->ti) {
        if (s) free(s);
        return flt_api_fail(FLINTRT_ERR_OUT_OF_MEMORY, "graph session");
    }
    s->model = model;
    flt_err e;
    flt_err_clear(&e);
    if (flt_onnx_session_new(model->m, nt, &s->s, &e)) {
        free(s->ti);
        free(s);
        return flt_api_report(&e);
    }
    *out = s;
    return FLINTRT_OK;
}

FLINTRT_API void flintrt_graph_session_free(flintrt_graph_session *session) {
    if (!session) return;
    flt_onnx_session_free(session->s);
    free(session->ti);
    free(session);
}

FLINTRT_API flintrt_status flintrt_graph_session_set_input(flintrt_graph_session *session, int32_t index,
                                                           flintrt_dtype dtype, int32_t ndim, const int64_t *dims,
                                                           const void *data, size_t nbytes) {
    if (!session) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "set_input: no session");
    const flt_onnx_model *m = session->model->m;
    if (index < 0 || index >= flt_onnx_session_n_inputs(m))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "set_input: no input %d", (int)index);
    flt_onnx_tinfo t = {.ndim = ndim};
    if (!flt_onnx_dtype((int32_t)dtype, &t.dtype))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "set_input: unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > FLINTRT_MAX_DIMS || (ndim && !dims))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "set_input: ndim %d", (int)ndim);
    for (int i = 0; i < ndim; i++) t.dims[i] = dims[i];
    size_t need;
    if (!flt_onnx_tinfo_bytes(&t, &need))
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "set_input: bad dimensions");
    if (need != nbytes)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "set_input: %zu bytes given, the shape needs %zu", nbytes, need);
    flt_err e;
    flt_err_clear(&e);
    if (flt_onnx_session_bind(session->s, flt_onnx_session_input_id(m, index), &t, data, &e)) return flt_api_report(&e);
    session->ti[index] = t;
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_graph_session_run(flintrt_graph_session *session) {
    if (!session) return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "run: no session");
    flt_err e;
    flt_err_clear(&e);
    if (flt_onnx_session_run(session->s, &e)) return flt_api_report(&e);
    return FLINTRT_OK;
}

FLINTRT_API flintrt_status flintrt_graph_session_output(const flintrt_graph_session *session, int32_t index,
                                                        flintrt_tensor_view *out) {
    if (!session || !out || out->size < sizeof *out)
        return flt_api_fail(FLINTRT_ERR_INVALID_ARGUMENT, "output: session and a sized view are required");
    const flt_onnx_tinfo *t;
    const void *d;
    flt_onnx_session_output(session->s, index, &t, &d);
    if (!t) return flt_api_fail(FLINTRT_ERR_NOT_FOUND, "output %d: no successful run yet, or no such output", (int)index);
    if (t->kind != FLT_ONNX_KIND_TENSOR)
        return flt_api_fail(FLINTRT_ERR_UNSUPPORTED, "output %d is a %s; the API returns tensors only", (int)index,
                            flt_onnx_kind_name(t->kind));
    out->dtype = flt_onnx_type_of(t->dtype);
    out->ndim = t->ndim;
    for (int i = 0; i < FLINTRT_MAX_DIMS; i++) out->dims[i] = i < t->ndim ? t->dims[i] : 0;
    out->data = d;
    flt_onnx_tinfo_bytes(t, &out->nbytes);
    return FLINTRT_OK;
}
