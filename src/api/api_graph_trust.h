/* The trust policy on the ONNX load path (see api_graph_trust.c and
 * docs/SECURITY.md "ONNX models"). */
#ifndef FLT_API_GRAPH_TRUST_H
#define FLT_API_GRAPH_TRUST_H

#include "onnx/model.h"
#include "trust/digest.h"
#include "trust/policy.h"

#define FLT_ONNX_TRY_API(expr) do { flintrt_status t_st_ = (expr); if (t_st_) return t_st_; } while (0)

typedef struct flt_graph_trust {
    flt_trust_result res;       /* of the .onnx file, or of the manifest in manifest mode */
    bool has_digest;            /* files[] hold SHA-256s */
    flt_manifest_item *files;   /* [0] the .onnx file (digest mode) / the manifest's entries; names malloc'd */
    size_t n_files, cap_files;
    char *manifest;             /* the signed manifest text, or NULL */
    char *model_name;           /* the .onnx file's name in its folder (malloc'd) */
} flt_graph_trust;

/* Apply policy p to the mapped .onnx bytes at path, before any parsing: on
 * success *out holds the result and lo the hooks flt_onnx_load_ex must run
 * with (lo->user = *out). Refusals are FLINTRT_ERR_SIGNATURE as for GGUF. */
flintrt_status flt_graph_trust_begin(const char *path, const void *data, size_t n, const flt_trust_policy *p,
                                     flt_graph_trust **out, flt_onnx_load_opts *lo, flt_err *e);
void flt_graph_trust_free(flt_graph_trust *t);

#endif
