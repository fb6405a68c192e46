/* test_tensor_names.c — the per-architecture tensor-name tables (src/models/tensor_names.c).
 *
 * For every LLM fixture: each tensor the config requires is in the checkpoint under the table's name,
 * and every name the table produces parses back to its role and layer (what the NPU blob relies on to
 * read its tensors back). Names of other families and malformed layer numbers do not parse. */
#include <string.h>

#include "models/model.h"
#include "test_npu_util.h"

static void check_model(const char *name) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir(name), &m));
    const npg_model_config *c = &m->cfg;
    int required = 0, named = 0;
    for (int64_t l = -1; l < c->n_layers; l++) {
        for (int i = 0; i < NPG_TENSOR_ROLE_COUNT; i++) {
            npg_tensor_role r = (npg_tensor_role)i;
            if ((l >= 0) != npg_tensor_role_per_layer(r))
                continue;
            char buf[256];
            if (r != NPG_TENSOR_LM_HEAD && !npg_tensor_pattern(c->arch, r)) {
                CHECK(npg_tensor_name(c, r, l, buf, sizeof buf) == NPG_ERR_UNSUPPORTED);
                CHECK(npg_tensor_needed(c, r) == NPG_TENSOR_ABSENT);
                continue;
            }
            REQUIRE_OK(npg_tensor_name(c, r, l, buf, sizeof buf));
            named++;
            npg_tensor_role back = NPG_TENSOR_ROLE_COUNT;
            int64_t back_layer = -2;
            bool parsed = npg_tensor_name_parse(c, buf, &back, &back_layer);
            if (!parsed || back != r || back_layer != l)
                fprintf(stderr, "  %s: '%s' parses to %d/%lld\n", name, buf, (int)back, (long long)back_layer);
            CHECK(parsed && back == r && back_layer == l);
            if (npg_tensor_needed(c, r) == NPG_TENSOR_REQUIRED) {
                required++;
                bool has = m->source.has(m->source.ctx, buf);
                if (!has)
                    fprintf(stderr, "  %s: required tensor '%s' not in the checkpoint\n", name, buf);
                CHECK(has);
            }
        }
    }
    fprintf(stderr, "  %s (%s): %d names round-trip, %d required tensors found\n", name, c->arch_name, named, required);
    CHECK(required >= 3 + 5 * c->n_layers);
    int64_t r_layer;
    npg_tensor_role r_role;
    char buf[256];
    snprintf(buf, sizeof buf, "%slayers.01.mlp.down_proj.weight", c->tensor_prefix);
    CHECK(!npg_tensor_name_parse(c, buf, &r_role, &r_layer));
    snprintf(buf, sizeof buf, "%slayers.x.mlp.down_proj.weight", c->tensor_prefix);
    CHECK(!npg_tensor_name_parse(c, buf, &r_role, &r_layer));
    CHECK(!npg_tensor_name_parse(c, "transformer.h.0.attn.c_attn.weight", &r_role, &r_layer));
    npg_model_free(m);
}

static void test_every_fixture(void) {
    for (const char *const *n = npu_test_models; *n; n++)
        check_model(*n);
}

/* The families spell the same role differently: the tables say so. */
static void test_family_spellings(void) {
    CHECK(strcmp(npg_tensor_pattern(NPG_ARCH_LLAMA, NPG_TENSOR_FFN_NORM),
                 "layers.%d.post_attention_layernorm.weight") == 0);
    CHECK(strcmp(npg_tensor_pattern(NPG_ARCH_GEMMA3, NPG_TENSOR_FFN_NORM),
                 "layers.%d.pre_feedforward_layernorm.weight") == 0);
    CHECK(strcmp(npg_tensor_pattern(NPG_ARCH_GEMMA3, NPG_TENSOR_POST_ATTN_NORM),
                 "layers.%d.post_attention_layernorm.weight") == 0);
    CHECK(npg_tensor_pattern(NPG_ARCH_PHI3, NPG_TENSOR_WQ) == NULL);
    CHECK(strcmp(npg_tensor_pattern(NPG_ARCH_PHI3, NPG_TENSOR_WQKV), "layers.%d.self_attn.qkv_proj.weight") == 0);
    CHECK(strcmp(npg_tensor_role_id(NPG_TENSOR_W_DOWN), "ffn_down") == 0);
}

int main(void) {
    RUN(test_every_fixture);
    RUN(test_family_spellings);
    return npg_test_summary();
}
