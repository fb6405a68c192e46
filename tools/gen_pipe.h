/* gen_pipe.h — the pipeline behind `generate`, `chat` and `bench`: the LLM pipeline for a text model,
 * the VLM pipeline for a vision-language model (chosen from config.json), one set of calls for both. */
#ifndef NPG_TOOLS_GEN_PIPE_H
#define NPG_TOOLS_GEN_PIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "gen_options.h"
#include "npugen.h"

enum { GEN_MAX_IMAGES = 16 };

typedef struct gen_pipe {
    npg_llm_pipeline *llm;  /* owned for a text model; the VLM's (borrowed) otherwise */
    npg_vlm_pipeline *vlm;  /* NULL for a text model */
} gen_pipe;

/* Creates the pipeline MODEL_DIR needs with the options' device and properties. */
npg_status gen_pipe_create(const gen_options *o, const char *model_dir, gen_pipe *p);
void gen_pipe_free(gen_pipe *p);
/* The language model's pipeline (for the config and the getters). */
const npg_llm_pipeline *gen_pipe_llm(const gen_pipe *p);
/* images may be given only to a VLM (the caller checks with p->vlm). */
npg_status gen_pipe_generate(gen_pipe *p, const char *prompt, const npg_image *const *images, size_t n_images,
                             const npg_generation_config *cfg, const npg_streamer *streamer,
                             npg_decoded_results **res);
npg_status gen_pipe_start_chat(gen_pipe *p, const char *system);
npg_status gen_pipe_finish_chat(gen_pipe *p);

/* Loads image files (PNG, JPEG); on failure prints one `npugen CMD: ...` line, frees what it loaded and
 * returns false. */
bool gen_load_images(const char *cmd, const char *const *files, size_t n, npg_image **out);
void gen_free_images(npg_image **imgs, size_t n);

#endif
