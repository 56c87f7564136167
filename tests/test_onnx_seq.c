/* Sequences/optionals, recurrent, quantization and Scan operators against
 * hostile input:
 * - SequenceProto/OptionalProto bytes (the test runner's reader): truncated,
 *   elements that contradict elem_type, two values in an optional, nesting
 *   past the limit, sparse elements: each refused with a clear error;
 * - binding malformed sequence values and a sequence where a tensor is declared;
 * - the malformed models of tests/data/make_onnx_op_tests.py (onnx_ops/bad):
 *   each refused at load or at run time with its message, never a crash;
 * - the recurrent tests of onnx_ops give identical bits with 1 and 3 threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx_test_util.h"

/* a float tensor [2] = {v, -v} */
static void tensor(pbw *t, float v) {
    t->n = 0;
    vfield(t, 1, 2);
    vfield(t, 2, 1);
    const float d[2] = {v, -v};
    bfield(t, 9, d, sizeof d);
}

static flintrt_status parse(const pbw *w, int kind, flt_onnx_tinfo *ti, const void **val, flt_err *e) {
    static flt_arena arena;
    flt_arena_free(&arena);
    flt_arena_init(&arena, 0);
    const char *name;
    flt_err_clear(e);
    return flt_onnx_parse_value(w->b, w->n, kind, &arena, ti, val, &name, e);
}

static void test_reader(void) {
    pbw s = {.n = 0}, t, inner = {.n = 0};
    flt_onnx_tinfo ti;
    const void *v;
    flt_err e;
    /* valid: a sequence of two tensors */
    tensor(&t, 1.5f);
    vfield(&s, 2, 1);
    mfield(&s, 3, &t);
    tensor(&t, 2.5f);
    mfield(&s, 3, &t);
    CHECKF(parse(&s, FLT_ONNX_KIND_SEQUENCE, &ti, &v, &e) == FLINTRT_OK, "%s", e.msg);
    const flt_onnx_seq *sq = v;
    CHECK(ti.kind == FLT_ONNX_KIND_SEQUENCE && sq->n == 2 && sq->ti[1].dims[0] == 2);
    CHECK(sq->n == 2 && flt_ld_f32(sq->data[1], 1) == -2.5f);
    CHECK(flt_onnx_value_check(&ti, v, 0, &e) == FLINTRT_OK);
    /* every truncation is refused, never read past the end */
    for (size_t cut = 1; cut < s.n; cut++) {
        pbw c = s;
        c.n = cut;
        flintrt_status st = parse(&c, FLT_ONNX_KIND_SEQUENCE, &ti, &v, &e);
        if (st == FLINTRT_OK) CHECK(flt_onnx_value_check(&ti, v, 0, &e) == FLINTRT_OK); /* a shorter valid prefix */
        else CHECK(e.msg[0] != '\0');
    }
    /* tensors under elem_type SEQUENCE */
    s.b[1] = 3;
    CHECK(parse(&s, FLT_ONNX_KIND_SEQUENCE, &ti, &v, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "elem_type"));
    /* an optional with two values */
    s.b[1] = 1;
    CHECK(parse(&s, FLT_ONNX_KIND_OPTIONAL, &ti, &v, &e) == FLINTRT_ERR_FORMAT && strstr(e.msg, "more than one"));
    /* sparse tensor elements */
    pbw sp = {.n = 0};
    vfield(&sp, 2, 2);
    mfield(&sp, 4, &t);
    CHECK(parse(&sp, FLT_ONNX_KIND_SEQUENCE, &ti, &v, &e) == FLINTRT_ERR_UNSUPPORTED);
    /* optional(optional(optional(optional(optional(tensor))))): deeper than the limit */
    tensor(&t, 1);
    vfield(&inner, 2, 1);
    mfield(&inner, 3, &t);
    for (int d = 0; d < 5; d++) {
        pbw outer = {.n = 0};
        vfield(&outer, 2, 5);
        mfield(&outer, 7, &inner);
        inner = outer;
    }
    CHECK(parse(&inner, FLT_ONNX_KIND_OPTIONAL, &ti, &v, &e) == FLINTRT_ERR_UNSUPPORTED && strstr(e.msg, "deeper"));
    /* an empty optional */
    pbw none = {.n = 0};
    vfield(&none, 2, 0);
    CHECK(parse(&none, FLT_ONNX_KIND_OPTIONAL, &ti, &v, &e) == FLINTRT_OK && ((const flt_onnx_seq *)v)->n == 0);
    /* value_check on values a caller could hand in */
    flt_onnx_tinfo et = {.dtype = FLT_F32, .ndim = 1, .dims = {2}};
    const float data[2] = {1, 2};
    const void *ed[2] = {data, data};
    flt_onnx_tinfo ets[2] = {et, et};
    flt_onnx_seq two = {.n = 2, .elem_kind = FLT_ONNX_KIND_TENSOR, .ti = ets, .data = ed};
    flt_onnx_tinfo opt = {.dtype = FLT_F32, .ndim = 0, .kind = FLT_ONNX_KIND_OPTIONAL};
    CHECK(flt_onnx_value_check(&opt, &two, 0, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    flt_onnx_tinfo seq = {.dtype = FLT_F32, .ndim = 0, .kind = FLT_ONNX_KIND_SEQUENCE};
    CHECK(flt_onnx_value_check(&seq, &two, 0, &e) == FLINTRT_OK);
    ets[1].kind = FLT_ONNX_KIND_SEQUENCE; /* an element that claims another kind */
    CHECK(flt_onnx_value_check(&seq, &two, 0, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    ets[1].kind = FLT_ONNX_KIND_TENSOR;
    ets[1].ndim = 9;
    CHECK(flt_onnx_value_check(&seq, &two, 0, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
    seq.kind = 7;
    CHECK(flt_onnx_value_check(&seq, &two, 0, &e) == FLINTRT_ERR_INVALID_ARGUMENT);
}

static const char *data_path(const char *rel) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", flt_test_data(rel));
    return buf;
}

static void test_bad_models(void) {
    static const struct { const char *file; bool at_load; const char *msg; } cases[] = {
        {"seq_at_oob", false, "position 5 is outside"},
        {"split_bad_sum", false, "split sums to 4"},
        {"concat_mismatch", false, "element 1 has dimension 0 = 3"},
        {"seq_into_add", false, "is a sequence; Add takes tensors"},
        {"erase_empty", false, "erasing from an empty sequence"},
        {"optional_get_empty", false, "the optional is empty"},
        {"rnn_bad_w", false, "W is float[1, 3, 5], expected [1, 3, 4]"},
        {"rnn_bad_lens", false, "sequence_lens[0] = 5 is outside [0, 2]"},
        {"lstm_four_outputs", true, "4 outputs (at most 3)"},
        {"rnn_bad_activation", true, "activation 'Gelu' is not supported"},
        {"quant_axis_len", false, "3 scales for axis 1 of size 4"},
        {"qlmm_bad_zp", false, "a_zero_point must be a scalar or have 3 elements"},
        {"scan_body_inputs", true, "body has 1 inputs and 1 outputs, expected 2 and 2"},
        {"scan_len_mismatch", false, "scan input 1 has 4 steps, input 0 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "onnx_ops/bad/%s.onnx", cases[i].file);
        flt_err e;
        flt_err_clear(&e);
        flt_onnx_model *m = NULL;
        flt_onnx_session *s = NULL;
        flintrt_status st = flt_onnx_load(data_path(rel), &m, &e);
        if (!st) st = flt_onnx_session_new(m, 2, &s, &e);
        bool loaded = st == FLINTRT_OK;
        if (!st) st = flt_onnx_session_run(s, &e);
        CHECKF(st != FLINTRT_OK && loaded == !cases[i].at_load && strstr(e.msg, cases[i].msg), "%s: %d %s",
               cases[i].file, st, e.msg);
        flt_onnx_session_free(s);
        flt_onnx_free(m);
    }
}

/* The recurrent tests of onnx_ops: outputs of 1 and 3 threads are the same bits. */
static void test_threads(void) {
    static const char *const names[] = {"flint_rnn_bidir_layout1_lens", "flint_gru_bidir_lbr_lens",
                                        "flint_lstm_bidir_peep_lens", "flint_lstm_layout1_clip_acts",
                                        "flint_qlinearmatmul_int8_batch"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "onnx_ops/%s/model.onnx", names[k]);
        flt_err e;
        flt_err_clear(&e);
        flt_onnx_model *m = NULL;
        CHECKF(flt_onnx_load(data_path(rel), &m, &e) == FLINTRT_OK, "%s", e.msg);
        if (!m) continue;
        flt_arena arena;
        flt_arena_init(&arena, 0);
        void *bufs[8] = {0};
        flt_onnx_tinfo tis[8];
        int ni = flt_onnx_session_n_inputs(m);
        for (int i = 0; i < ni && i < 8; i++) {
            snprintf(rel, sizeof rel, "onnx_ops/%s/test_data_set_0/input_%d.pb", names[k], i);
            size_t n;
            bufs[i] = flt_test_read_file(data_path(rel), &n);
            flt_onnx_tensor t;
            CHECK(bufs[i] && flt_onnx_parse_tensor(bufs[i], n, &arena, &t, &e) == FLINTRT_OK);
            tis[i] = (flt_onnx_tinfo){.dtype = t.dtype, .ndim = t.ndim};
            memcpy(tis[i].dims, t.dims, sizeof t.dims);
            void *copy = flt_arena_alloc(&arena, t.nbytes, "input", &e);
            if (copy && t.nbytes) memcpy(copy, t.data, t.nbytes);
            free(bufs[i]);
            bufs[i] = copy;
        }
        void *first[4] = {0};
        size_t first_n[4] = {0};
        for (int threads = 1; threads <= 3; threads += 2) {
            flt_onnx_session *s = NULL;
            CHECK(flt_onnx_session_new(m, threads, &s, &e) == FLINTRT_OK);
            if (!s) break;
            flt_onnx_session_set_eager(s, 0);
            for (int i = 0; i < ni && i < 8; i++) CHECK(flt_onnx_session_bind(s, flt_onnx_session_input_id(m, i), &tis[i], bufs[i], &e) == FLINTRT_OK);
            CHECKF(flt_onnx_session_run(s, &e) == FLINTRT_OK, "%s", e.msg);
            for (int o = 0; o < m->graph->n_outputs && o < 4; o++) {
                const flt_onnx_tinfo *ti;
                const void *d;
                flt_onnx_session_output(s, o, &ti, &d);
                size_t b = 0;
                if (!ti || !flt_onnx_tinfo_bytes(ti, &b)) { CHECK(false); continue; }
                if (threads == 1) {
                    first[o] = malloc(b ? b : 1);
                    if (first[o]) memcpy(first[o], d, b);
                    first_n[o] = b;
                } else {
                    CHECKF(first[o] && first_n[o] == b && !memcmp(first[o], d, b), "%s output %d", names[k], o);
                }
            }
            flt_onnx_session_free(s);
        }
        for (int o = 0; o < 4; o++) free(first[o]);
        flt_arena_free(&arena);
        flt_onnx_free(m);
    }
}

int main(void) {
    test_reader();
    test_bad_models();
    test_threads();
    return flt_test_finish();
}
