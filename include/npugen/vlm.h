/* npugen/vlm.h — the public C API, part: the VLM pipeline.
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_VLM_H
#define NPUGEN_VLM_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/vlm.h"
#endif

/* ---------------------------------------------------------------------------------------------- */
/* VLM pipeline (vision-language models: Gemma3ForConditionalGeneration, LlavaForConditionalGeneration) */
/* ---------------------------------------------------------------------------------------------- */

/* OpenVINO GenAI's VLMPipeline: images (npg_image, above) and a text prompt in, text out. The vision
 * tower and projector run on the CPU; the language model on `device` (CPU, or NPU's static plan).
 * docs/vlm.md describes the whole path. */
typedef struct npg_vlm_pipeline npg_vlm_pipeline;

/* Whether models_path (a folder or cached Hub repo id) holds a vision-language model (config.json's
 * architecture has a vision tower). NPG_ERR_* when config.json cannot be read. */
NPG_API npg_status npg_model_is_vlm(const char *models_path, bool *is_vlm);

/* As npg_llm_pipeline_create (KEY, VALUE string pairs after `pipe`). The language model's device
 * options go under DEVICE_PROPERTIES as the guide writes them — "DEVICE_PROPERTIES",
 * "{\"NPU\": {\"MAX_PROMPT_LEN\": 2048, \"MIN_RESPONSE_LEN\": 512}}" — NUM_THREADS, INFERENCE_NUM_THREADS and
 * KERNEL_ISA may stay flat (they also size the vision tower's threads); a flat NPU option
 * (MAX_PROMPT_LEN, CACHE_DIR, ...) is NPG_ERR_INVALID_ARGUMENT saying it belongs under
 * DEVICE_PROPERTIES. A text-only model is NPG_ERR_UNSUPPORTED (use the LLM pipeline). */
NPG_API npg_status npg_vlm_pipeline_create(const char *models_path, const char *device,
                                           size_t property_args_size, npg_vlm_pipeline **pipe, ...);
NPG_API npg_status npg_vlm_pipeline_create_with_properties(const char *models_path, const char *device,
                                                           const npg_properties *properties,
                                                           npg_vlm_pipeline **pipe);
NPG_API void npg_vlm_pipeline_free(npg_vlm_pipeline *pipe);

/* Generates from `prompt` and images[0..n_images) (borrowed for the call). Where the images go: the
 * model's own tag (`<image>` for LLaVA, `<start_of_image>` for Gemma-3: each takes the next image) or
 * OpenVINO GenAI's `<ov_genai_image_N>` (image N, numbered from 0 over the chat's images); a prompt
 * without any tag gets the images before its text, as the model's processor does. Each image is
 * expanded to the model's image tokens exactly as Gemma3Processor / LlavaProcessor do, and its
 * features replace those tokens' embeddings. Outside chat mode the prompt is used as given (no chat
 * template), as npg_llm_pipeline_generate. In chat mode (start_chat) the prompt is the next user turn;
 * the images stay in the conversation: each is encoded once (a later turn's reference, or the same
 * pixels given again, reuses its features) and the KV cache is reused across turns.
 * Statuses as npg_llm_pipeline_generate, plus NPG_ERR_INVALID_ARGUMENT for tags that do not match the
 * images (more tags than images, an image no tag places, N out of range) and NPG_ERR_LIMIT when the
 * prompt with its image tokens exceeds MAX_PROMPT_LEN on NPU (the message counts the image tokens). */
NPG_API npg_status npg_vlm_pipeline_generate(npg_vlm_pipeline *pipe, const char *prompt,
                                             const npg_image *const *images, size_t n_images,
                                             const npg_generation_config *config, const npg_streamer *streamer,
                                             npg_decoded_results **results);
NPG_API npg_status npg_vlm_pipeline_start_chat(npg_vlm_pipeline *pipe, const char *system_message);
/* Ends the conversation: history, cached image features and the KV cache's reuse are dropped. */
NPG_API npg_status npg_vlm_pipeline_finish_chat(npg_vlm_pipeline *pipe);
NPG_API npg_status npg_vlm_pipeline_get_generation_config(const npg_vlm_pipeline *pipe,
                                                          npg_generation_config **config);
NPG_API npg_status npg_vlm_pipeline_set_generation_config(npg_vlm_pipeline *pipe,
                                                          const npg_generation_config *config);
/* The language model's pipeline, borrowed for its read-only getters (tokenizer, architecture, vocab
 * size, weight bytes, context length); generating through it bypasses the images. */
NPG_API npg_status npg_vlm_pipeline_get_llm(const npg_vlm_pipeline *pipe, const npg_llm_pipeline **llm);
/* Image tokens one image takes in the prompt (Gemma-3 mm_tokens_per_image; LLaVA the patch count). */
NPG_API npg_status npg_vlm_pipeline_get_image_tokens(const npg_vlm_pipeline *pipe, size_t *n);
/* Floating-point operations (2 per multiply-add) of one image through the vision tower and projector:
 * with vision_ms, the tower's achieved GFLOP/s (npugen bench --image). */
NPG_API npg_status npg_vlm_pipeline_get_vision_flops(const npg_vlm_pipeline *pipe, double *flops);

#endif /* NPUGEN_VLM_H */
