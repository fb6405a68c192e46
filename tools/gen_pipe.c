/* gen_pipe.c — one interface over the LLM and VLM pipelines for the commands (see gen_pipe.h). */
#include "gen_pipe.h"

#include <string.h>

#include "cli_util.h"

npg_status gen_pipe_create(const gen_options *o, const char *model_dir, gen_pipe *p) {
    memset(p, 0, sizeof *p);
    bool vlm = false;
    npg_status st = npg_model_is_vlm(model_dir, &vlm);
    if (st != NPG_OK || !vlm) /* a text model, or the LLM pipeline's own message about the folder */
        return gen_options_pipeline(o, model_dir, &p->llm);
    st = npg_properties_set_log_callback(o->props, cli_log_warnings, NULL);
    if (st != NPG_OK)
        return st;
    st = npg_vlm_pipeline_create_with_properties(model_dir, o->device, o->props, &p->vlm);
    if (st == NPG_OK)
        st = npg_vlm_pipeline_get_llm(p->vlm, (const npg_llm_pipeline **)&p->llm);
    return st;
}

void gen_pipe_free(gen_pipe *p) {
    if (p->vlm)
        npg_vlm_pipeline_free(p->vlm);
    else
        npg_llm_pipeline_free(p->llm);
    memset(p, 0, sizeof *p);
}

const npg_llm_pipeline *gen_pipe_llm(const gen_pipe *p) { return p->llm; }

npg_status gen_pipe_generate(gen_pipe *p, const char *prompt, const npg_image *const *images, size_t n_images,
                             const npg_generation_config *cfg, const npg_streamer *streamer,
                             npg_decoded_results **res) {
    if (p->vlm)
        return npg_vlm_pipeline_generate(p->vlm, prompt, images, n_images, cfg, streamer, res);
    return npg_llm_pipeline_generate(p->llm, prompt, cfg, streamer, res);
}

npg_status gen_pipe_start_chat(gen_pipe *p, const char *system) {
    return p->vlm ? npg_vlm_pipeline_start_chat(p->vlm, system) : npg_llm_pipeline_start_chat(p->llm, system);
}

npg_status gen_pipe_finish_chat(gen_pipe *p) {
    return p->vlm ? npg_vlm_pipeline_finish_chat(p->vlm) : npg_llm_pipeline_finish_chat(p->llm);
}

bool gen_load_images(const char *cmd, const char *const *files, size_t n, npg_image **out) {
    for (size_t i = 0; i < n; i++) {
        npg_status st = npg_image_load(files[i], &out[i]);
        if (st != NPG_OK) {
            cli_fail(cmd, st);
            gen_free_images(out, i);
            return false;
        }
    }
    return true;
}

void gen_free_images(npg_image **imgs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        npg_image_free(imgs[i]);
        imgs[i] = NULL;
    }
}
