/* Perplexity and KL divergence (see perplexity.h). Probabilities are computed in
 * double precision from the float logits. */
#include "llm/perplexity.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "formats/reader.h"

/* ---- the KL base file ---- */

static float load_f32(const uint8_t *p) {
    uint32_t u = flt_load_le32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int32_t flt_kldbase_token(const flt_kldbase *b, size_t i) {
    uint32_t u = flt_load_le32(b->tokens + 4 * i);
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

void flt_kldbase_row(const flt_kldbase *b, size_t c, size_t k, float *out) {
    const uint8_t *p = b->logp + ((c * b->n_scored + k) * b->n_vocab) * 4;
    for (uint32_t i = 0; i < b->n_vocab; i++) out[i] = load_f32(p + 4 * (size_t)i);
}

flintrt_status flt_kldbase_parse(const void *data, size_t size, flt_kldbase *out, flt_err *e) {
    const uint8_t *d = data;
    memset(out, 0, sizeof *out);
    if (!d && size) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "KL base: NULL buffer");
    if (size < FLT_KLD_HEADER_BYTES)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: %zu bytes, shorter than the %u-byte header", size,
                        FLT_KLD_HEADER_BYTES);
    if (memcmp(d, FLT_KLD_MAGIC, 8) != 0)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: bad magic at offset 0 (not a Flint logits file)");
    uint32_t version = flt_load_le32(d + 8), n_vocab = flt_load_le32(d + 12), n_ctx = flt_load_le32(d + 16),
             n_chunks = flt_load_le32(d + 20), n_scored = flt_load_le32(d + 24), reserved = flt_load_le32(d + 28);
    if (version != FLT_KLD_VERSION)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: version %" PRIu32 " at offset 8, expected %u", version,
                        FLT_KLD_VERSION);
    if (n_vocab < 1 || n_vocab > FLT_KLD_MAX_VOCAB)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: n_vocab %" PRIu32 " at offset 12 outside [1, %u]", n_vocab,
                        FLT_KLD_MAX_VOCAB);
    if (n_ctx < 4 || n_ctx > FLT_KLD_MAX_CTX)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: n_ctx %" PRIu32 " at offset 16 outside [4, %u]", n_ctx,
                        FLT_KLD_MAX_CTX);
    if (n_chunks < 1 || n_chunks > FLT_KLD_MAX_CHUNKS)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: n_chunks %" PRIu32 " at offset 20 outside [1, %u]",
                        n_chunks, FLT_KLD_MAX_CHUNKS);
    if (n_scored != n_ctx - 1 - n_ctx / 2)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: n_scored %" PRIu32 " at offset 24, expected %" PRIu32,
                        n_scored, n_ctx - 1 - n_ctx / 2);
    if (reserved != 0)
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: reserved field at offset 28 is %" PRIu32 ", not 0", reserved);
    uint64_t n_tok, tok_bytes, n_rows, logp_bytes, total;
    if (!flt_mul_u64(n_chunks, n_ctx, &n_tok) || !flt_mul_u64(n_tok, 4, &tok_bytes) ||
        !flt_mul_u64(n_chunks, n_scored, &n_rows) || !flt_mul_u64(n_rows, n_vocab, &logp_bytes) ||
        !flt_mul_u64(logp_bytes, 4, &logp_bytes) || !flt_add_u64(FLT_KLD_HEADER_BYTES, tok_bytes, &total) ||
        !flt_add_u64(total, logp_bytes, &total))
        return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: sizes in the header overflow");
    if (total != (uint64_t)size)
        return flt_fail(e, FLINTRT_ERR_FORMAT,
                        "KL base: file is %zu bytes, the header (n_vocab %" PRIu32 ", n_ctx %" PRIu32
                        ", n_chunks %" PRIu32 ") says %" PRIu64,
                        size, n_vocab, n_ctx, n_chunks, total);
    out->n_vocab = n_vocab;
    out->n_ctx = n_ctx;
    out->n_chunks = n_chunks;
    out->n_scored = n_scored;
    out->tokens = d + FLT_KLD_HEADER_BYTES;
    out->logp = d + FLT_KLD_HEADER_BYTES + tok_bytes;
    for (uint64_t i = 0; i < n_tok; i++) {
        int32_t t = flt_kldbase_token(out, (size_t)i);
        if (t < 0 || (uint32_t)t >= n_vocab) {
            memset(out, 0, sizeof *out);
            return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: token %" PRIu64 " (offset %" PRIu64 ") is %" PRId32
                            ", outside [0, %" PRIu32 ")", i, FLT_KLD_HEADER_BYTES + 4 * i, t, n_vocab);
        }
    }
    for (uint64_t r = 0; r < n_rows; r++) {
        const uint8_t *row = out->logp + (size_t)(r * n_vocab * 4);
        double sum = 0;
        for (uint32_t i = 0; i < n_vocab; i++) {
            float v = load_f32(row + 4 * (size_t)i);
            if (!isfinite(v) || v > 1e-3f) {
                uint64_t off = (uint64_t)(row - d) + 4 * (uint64_t)i;
                memset(out, 0, sizeof *out);
                return flt_fail(e, FLINTRT_ERR_FORMAT, "KL base: log-probability at offset %" PRIu64
                                " is not a finite value <= 0", off);
            }
            sum += exp((double)v);
        }
        if (fabs(sum - 1.0) > 1e-3) {
            memset(out, 0, sizeof *out);
            return flt_fail(e, FLINTRT_ERR_FORMAT,
                            "KL base: row %" PRIu64 " (offset %" PRIu64 ") has probabilities summing to %g, not 1", r,
                            (uint64_t)(row - d), sum);
        }
    }
    return FLINTRT_OK;
}

/* ---- measuring ---- */

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static bool write_u32s(FILE *f, const uint32_t *v, size_t n) {
    uint8_t buf[4 * 256];
    while (n) {
        size_t k = n < 256 ? n : 256;
        for (size_t i = 0; i < k; i++) put_u32(buf + 4 * i, v[i]);
        if (fwrite(buf, 4, k, f) != k) return false;
        v += k;
        n -= k;
    }
    return true;
}

static bool write_f32s(FILE *f, const float *v, size_t n) {
    uint8_t buf[4 * 256];
    while (n) {
        size_t k = n < 256 ? n : 256;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            put_u32(buf + 4 * i, u);
        }
        if (fwrite(buf, 4, k, f) != k) return false;
        v += k;
        n -= k;
    }
    return true;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* llama-perplexity's interpolated percentile of sorted values. */
static double percentile(const double *v, size_t n, double fraction) {
    if (fraction <= 0) return v[0];
    if (fraction >= 1) return v[n - 1];
    double p = fraction * (double)(n - 1);
    size_t ip = (size_t)p;
    p -= (double)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

/* Mean and standard error as llama-perplexity reports them. */
static void mean_err(double sum, double sum2, int64_t count, double *mean, double *err) {
    *mean = *err = 0;
    if (count < 1) return;
    double f = sum / (double)count, df = sum2 / (double)count - f * f;
    *mean = f;
    *err = df > 0 && count > 10 ? sqrt(df / (double)(count - 1)) : 0.0;
}

typedef struct acc {
    double nll, nll2, nll_base, nll_base2;
    double kld, kld2;
    int64_t same_top, count;
    double *klds; /* per position */
} acc;

flintrt_status flt_ppl_run(const flintrt_model *model, flintrt_session *session, const flintrt_token *tokens,
                           size_t n_tokens, const flt_ppl_params *p, flt_ppl_result *r, flt_err *e) {
    if (!model || !session || (!tokens && n_tokens) || !p || !r)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "flt_ppl_run: NULL argument");
    memset(r, 0, sizeof *r);
    const flt_kldbase *base = p->base;
    int32_t n_vocab = flintrt_model_n_vocab(model);
    int64_t n_ctx = base ? (int64_t)base->n_ctx : p->n_ctx;
    if (n_vocab < 1) return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "the model has no vocabulary");
    if (n_ctx < 4 || n_ctx > FLT_KLD_MAX_CTX)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "context %" PRId64 " outside [4, %u]", n_ctx, FLT_KLD_MAX_CTX);
    if (flintrt_session_n_ctx(session) < n_ctx)
        return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "the session holds %" PRId32 " tokens, chunks need %" PRId64,
                        flintrt_session_n_ctx(session), n_ctx);
    int64_t n_chunks;
    if (base) {
        if ((uint32_t)n_vocab != base->n_vocab)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "the KL base has n_vocab %" PRIu32 ", the model %" PRId32,
                            base->n_vocab, n_vocab);
        n_chunks = base->n_chunks;
        if ((uint64_t)n_tokens < (uint64_t)n_chunks * (uint64_t)n_ctx)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "%zu tokens, the KL base scored %" PRId64, n_tokens,
                            n_chunks * n_ctx);
        for (int64_t i = 0; i < n_chunks * n_ctx; i++)
            if (flt_kldbase_token(base, (size_t)i) != tokens[i])
                return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                                "token %" PRId64 " is %" PRId32 " here but %" PRId32
                                " in the KL base: it was made from another text or tokenizer",
                                i, tokens[i], flt_kldbase_token(base, (size_t)i));
    } else {
        if ((uint64_t)n_tokens < 2 * (uint64_t)n_ctx)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT,
                            "the text has %zu tokens; a context of %" PRId64 " needs at least %" PRId64, n_tokens,
                            n_ctx, 2 * n_ctx);
        n_chunks = (int64_t)(n_tokens / (uint64_t)n_ctx);
        if (p->n_chunks > 0 && p->n_chunks < n_chunks) n_chunks = p->n_chunks;
    }
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return flt_fail(e, FLINTRT_ERR_INVALID_ARGUMENT, "token %zu (%" PRId32 ") is outside the vocabulary", i,
                            tokens[i]);
    const int64_t first = n_ctx / 2, n_scored = n_ctx - 1 - first, n_out = n_ctx - first;
    flintrt_token bos = flintrt_model_bos(model);
    bool add_bos = bos >= 0 && n_tokens > 0 && tokens[0] == bos;

    size_t nlog;
    if (!flt_mul_size((size_t)n_out, (size_t)n_vocab, &nlog))
        return flt_fail(e, FLINTRT_ERR_LIMIT, "logits buffer too large");
    float *logits = flt_malloc_array(nlog, sizeof *logits);
    float *row = flt_malloc_array((size_t)n_vocab, sizeof *row);
    flintrt_token *chunk = flt_malloc_array((size_t)n_ctx, sizeof *chunk);
    acc a = {0};
    a.klds = base ? flt_malloc_array((size_t)(n_chunks * n_scored), sizeof *a.klds) : NULL;
    flintrt_status st = FLINTRT_OK;
    if (!logits || !row || !chunk || (base && !a.klds)) {
        st = flt_fail(e, FLINTRT_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    if (p->save) {
        uint8_t h[FLT_KLD_HEADER_BYTES];
        memcpy(h, FLT_KLD_MAGIC, 8);
        put_u32(h + 8, FLT_KLD_VERSION);
        put_u32(h + 12, (uint32_t)n_vocab);
        put_u32(h + 16, (uint32_t)n_ctx);
        put_u32(h + 20, (uint32_t)n_chunks);
        put_u32(h + 24, (uint32_t)n_scored);
        put_u32(h + 28, 0);
        if (fwrite(h, 1, sizeof h, p->save) != sizeof h ||
            !write_u32s(p->save, (const uint32_t *)tokens, (size_t)(n_chunks * n_ctx))) {
            st = flt_fail(e, FLINTRT_ERR_IO, "writing the logits file failed");
            goto done;
        }
    }
    for (int64_t c = 0; c < n_chunks; c++) {
        memcpy(chunk, tokens + c * n_ctx, (size_t)n_ctx * sizeof *chunk);
        if (add_bos) chunk[0] = bos;
        flintrt_session_reset(session, 0);
        if ((st = flintrt_session_eval(session, chunk, (size_t)first, NULL, 0)) ||
            (st = flintrt_session_eval(session, chunk + first, (size_t)n_out, logits, nlog))) {
            st = flt_fail(e, st, "evaluating chunk %" PRId64 ": %s", c + 1, flintrt_last_error());
            goto done;
        }
        for (int64_t k = 0; k < n_scored; k++) {
            const float *l = logits + (size_t)k * (size_t)n_vocab;
            int32_t tok = chunk[first + k + 1];
            int32_t imax = 0;
            for (int32_t i = 1; i < n_vocab; i++)
                if (l[i] > l[imax]) imax = i;
            double mx = l[imax], sum = 0;
            for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)l[i] - mx);
            double lse = mx + log(sum);
            double nll = lse - (double)l[tok];
            a.nll += nll;
            a.nll2 += nll * nll;
            if (p->save) {
                for (int32_t i = 0; i < n_vocab; i++) row[i] = (float)((double)l[i] - lse);
                if (!write_f32s(p->save, row, (size_t)n_vocab)) {
                    st = flt_fail(e, FLINTRT_ERR_IO, "writing the logits file failed");
                    goto done;
                }
            }
            if (base) {
                flt_kldbase_row(base, (size_t)c, (size_t)k, row);
                double kld = 0;
                int32_t bmax = 0;
                for (int32_t i = 0; i < n_vocab; i++) {
                    double lb = row[i];
                    kld += exp(lb) * (lb - ((double)l[i] - lse));
                    if (row[i] > row[bmax]) bmax = i;
                }
                double nb = -(double)row[tok];
                a.nll_base += nb;
                a.nll_base2 += nb * nb;
                a.kld += kld;
                a.kld2 += kld * kld;
                a.klds[a.count] = kld;
                a.same_top += bmax == imax;
            }
            a.count++;
        }
        if (p->progress) p->progress(p->progress_user, (int32_t)(c + 1), (int32_t)n_chunks, exp(a.nll / (double)a.count));
    }
    r->n_ctx = (int32_t)n_ctx;
    r->n_chunks = (int32_t)n_chunks;
    r->count = a.count;
    {
        /* llama-perplexity: ± = PPL * sqrt(var(NLL) / (count - 1)) */
        double m = a.nll / (double)a.count, v = a.nll2 / (double)a.count - m * m;
        r->nll = m;
        r->ppl = exp(m);
        r->ppl_err = v > 0 && a.count > 1 ? sqrt(v / (double)(a.count - 1)) * r->ppl : 0;
    }
    if (base) {
        double m, err;
        r->has_kld = true;
        mean_err(a.nll_base, a.nll_base2, a.count, &m, &err);
        r->ppl_base = exp(m);
        r->ppl_base_err = r->ppl_base * err;
        mean_err(a.kld, a.kld2, a.count, &r->kld_mean, &r->kld_err);
        qsort(a.klds, (size_t)a.count, sizeof *a.klds, cmp_double);
        size_t n = (size_t)a.count;
        r->kld_median = n % 2 ? a.klds[n / 2] : 0.5 * (a.klds[n / 2] + a.klds[n / 2 - 1]);
        r->kld_p99 = percentile(a.klds, n, 0.99);
        r->kld_max = a.klds[n - 1];
        r->kld_min = a.klds[0];
        r->same_top = (double)a.same_top / (double)a.count;
        r->same_top_err = a.count > 1 ? sqrt(r->same_top * (1 - r->same_top) / (double)(a.count - 1)) : 0;
    }
done:
    free(logits);
    free(row);
    free(chunk);
    free(a.klds);
    return st;
}
