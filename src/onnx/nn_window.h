/* Sliding-window geometry shared by the ONNX convolution and pooling families
 * (ops_conv.c, ops_pool.c): the auto_pad / pads / strides / dilations /
 * kernel_shape attributes, validated at load, and the output sizes they give,
 * computed with overflow checks at run time.
 *
 * Also the f32 convolution kernels (the fast one and the plain oracle), which
 * tests/test_onnx_nn.c checks against an independent reference. */
#ifndef FLT_ONNX_NN_WINDOW_H
#define FLT_ONNX_NN_WINDOW_H

#include "onnx/op.h"

#define FLT_NN_MAXSP (FLT_ONNX_MAX_DIMS - 2) /* spatial dims after N and C */
/* Attribute values above this are refused at load (keeps all window arithmetic far from int64 overflow). */
#define FLT_NN_ATTR_MAX ((int64_t)1 << 30)

typedef enum flt_nn_autopad { FLT_NN_NOTSET, FLT_NN_SAME_UPPER, FLT_NN_SAME_LOWER, FLT_NN_VALID } flt_nn_autopad;

typedef struct flt_nn_win {
    flt_nn_autopad auto_pad;
    const int64_t *kernel, *pads, *strides, *dils, *out_pad, *out_shape; /* NULL: absent */
    int64_t n_kernel, n_pads, n_strides, n_dils, n_out_pad, n_out_shape;
    int64_t ceil_mode;
} flt_nn_win;

/* Convolution / pooling geometry over nsp spatial dims. X is [N, C, in...];
 * for Conv W is [M, C/G, k...]; for ConvTranspose W is [C, M/G, k...]. */
typedef struct flt_conv_geom {
    int nsp;
    int64_t N, C, M, G;
    int64_t in[FLT_NN_MAXSP], k[FLT_NN_MAXSP], out[FLT_NN_MAXSP];
    int64_t s[FLT_NN_MAXSP], d[FLT_NN_MAXSP], pb[FLT_NN_MAXSP], pe[FLT_NN_MAXSP];
} flt_conv_geom;

/* Parse auto_pad, kernel_shape, pads, strides, dilations (+ ceil_mode,
 * output_padding, output_shape when asked): types, signs, limits. */
flintrt_status flt_nn_parse_win(const flt_onnx_node *n, flt_nn_win *w, bool transpose, flt_err *e);

/* Fill g->k/s/d/pb/pe/out from the attributes for input sizes g->in (g->nsp
 * set). kernel: from W (conv) or NULL (pools: kernel_shape required).
 * pool: ceil_mode applies. Fails on inconsistent counts or an empty window. */
flintrt_status flt_nn_geom(flt_onnx_infer *x, const flt_nn_win *w, const int64_t *kernel, bool pool, flt_conv_geom *g);
/* The same for ConvTranspose (output_padding, output_shape). */
flintrt_status flt_nn_geom_transpose(flt_onnx_infer *x, const flt_nn_win *w, const int64_t *kernel, flt_conv_geom *g);

/* Output [N, M, out...] f32 of Conv with f32 X, W and optional bias B (inputs
 * may be unaligned), thread ith of nth. Each output element is summed in float
 * over (c, kernel position) in row-major order, then the bias is added: the
 * bits do not depend on nth. The fast kernel takes nsp <= 3; the oracle any.
 * avx2: use the AVX2 build of the fast kernel (the caller checked the CPU);
 * the bits are the same either way. */
void flt_conv_f32_fast(const flt_conv_geom *g, const void *X, const void *W, const void *B, float *Y, int ith,
                       int nth, bool avx2);
void flt_conv_f32_ref(const flt_conv_geom *g, const void *X, const void *W, const void *B, float *Y, int ith,
                      int nth);

/* Conv (not ConvTranspose): the offset in one [in...] plane of kernel tap kp
 * (row-major over k...) seen from output position opos[nsp]; false where the tap
 * falls in the padding. Inline: it runs once per tap in the reference loops. */
static inline bool flt_conv_tap(const flt_conv_geom *g, const int64_t *opos, int64_t kp, int64_t *off) {
    int64_t r = kp, o = 0, mul = 1;
    for (int i = g->nsp - 1; i >= 0; i--) {
        int64_t ki = r % g->k[i];
        r /= g->k[i];
        int64_t ii = opos[i] * g->s[i] + ki * g->d[i] - g->pb[i];
        if (ii < 0 || ii >= g->in[i]) return false;
        o += ii * mul;
        mul *= g->in[i];
    }
    *off = o;
    return true;
}

#endif
