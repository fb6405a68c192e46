/* export.c — `npugen export` from options to a finished folder: option checks, the temporary
 * folder and its rename, the side files (tokenizer, configs) and the recorded settings. The tensor
 * decisions are in export_plan.c, the streaming in export_write.c, GPTQ in gptq.c. */
#define _XOPEN_SOURCE 700
#include "compress/export.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "format/npgw.h"
#include "format/npgw_writer.h"
#include "hub/hub.h"
#include "models/model.h"
#include "compress/calib.h"
#include "compress/dataaware.h"
#include "compress/gptq.h"
#include "tokenizer/tokenizer.h"

static const char *const format_names[] = {"fp32", "fp16", "int8", "int4", "nf4"};
static const char *const backup_names[] = {"int8_asym", "int8_sym", "none"};
static const char *const sensitivity_names[] = {"default",
                                                "weight_quantization_error",
                                                "hessian_input_activation",
                                                "mean_activation_variance",
                                                "max_activation_variance",
                                                "mean_activation_magnitude"};

void npg_export_options_init(npg_export_options *o) {
    memset(o, 0, sizeof *o);
    o->format = NPG_EXPORT_INT4;
    o->group_size = NPG_EXPORT_GROUP_DEFAULT;
    o->ratio = 1.0f;
    o->backup = NPG_BACKUP_INT8_ASYM;
    o->vision_format = NPG_EXPORT_FP16;
}

const char *npg_export_format_name(npg_export_format f) {
    return (unsigned)f < sizeof format_names / sizeof *format_names ? format_names[f] : "?";
}
const char *npg_export_backup_name(npg_export_backup b) {
    return (unsigned)b < sizeof backup_names / sizeof *backup_names ? backup_names[b] : "?";
}

npg_status npg_export_format_parse(const char *s, npg_export_format *out) {
    for (size_t i = 0; s && i < sizeof format_names / sizeof *format_names; i++)
        if (strcmp(s, format_names[i]) == 0) {
            *out = (npg_export_format)i;
            return NPG_OK;
        }
    return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--weight-format: '%s' is not one of fp32, fp16, int8, int4, nf4",
                    s ? s : "(null)");
}

npg_status npg_export_backup_parse(const char *s, npg_export_backup *out) {
    for (size_t i = 0; s && i < sizeof backup_names / sizeof *backup_names; i++)
        if (strcmp(s, backup_names[i]) == 0) {
            *out = (npg_export_backup)i;
            return NPG_OK;
        }
    return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--backup-precision: '%s' is not one of int8_sym, int8_asym, none",
                    s ? s : "(null)");
}

const char *npg_export_sensitivity_name(npg_export_sensitivity m) {
    return (unsigned)m < sizeof sensitivity_names / sizeof *sensitivity_names ? sensitivity_names[m] : "?";
}

npg_status npg_export_sensitivity_parse(const char *s, npg_export_sensitivity *out) {
    for (size_t i = 1; s && i < sizeof sensitivity_names / sizeof *sensitivity_names; i++)
        if (strcmp(s, sensitivity_names[i]) == 0) {
            *out = (npg_export_sensitivity)i;
            return NPG_OK;
        }
    return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                    "--sensitivity-metric: '%s' is not one of weight_quantization_error, hessian_input_activation, "
                    "mean_activation_variance, max_activation_variance, mean_activation_magnitude",
                    s ? s : "(null)");
}

void npg_export_log(const npg_export_options *o, npg_log_level level, const char *fmt, ...) {
    if (!o || !o->log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->log(o->log_user, level, msg);
}

npg_status npg_export_options_check(const npg_export_options *o) {
    if (!o)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "export options are NULL");
    if ((unsigned)o->format > NPG_EXPORT_NF4)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--weight-format: unknown format %d", (int)o->format);
    if ((unsigned)o->backup > NPG_BACKUP_NONE)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--backup-precision: unknown value %d", (int)o->backup);
    int64_t g = o->group_size;
    if (g != NPG_EXPORT_GROUP_DEFAULT) {
        if (g == 1)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "--group-size 1 is refused: channel-wise quantization is --group-size -1 (minus one), not 1");
        if (g == 0 || g < -1)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "--group-size %lld is refused: use -1 (channel-wise) or a group size >= 2 such as 128",
                            (long long)g);
    }
    if (!(o->ratio >= 0.0f && o->ratio <= 1.0f)) /* also catches NaN */
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--ratio %g is outside [0, 1]", (double)o->ratio);
    if ((unsigned)o->sensitivity > NPG_SENS_MEAN_ACTIVATION_MAGNITUDE)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--sensitivity-metric: unknown value %d", (int)o->sensitivity);
    const char *needs = o->awq                ? "--awq"
                        : o->scale_estimation ? "--scale-estimation"
                        : o->gptq             ? "--gptq"
                        : o->gptq_act_order   ? "--gptq-act-order"
                        : o->sensitivity > NPG_SENS_WEIGHT_QUANTIZATION_ERROR ? "--sensitivity-metric (activation-based)"
                                                                               : NULL;
    if (needs && !o->dataset)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s needs calibration data: add --dataset FILE (a UTF-8 text)", needs);
    if (o->gptq_act_order && !o->gptq)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--gptq-act-order applies to --gptq only");
    if (o->gptq_natural_order && (!o->gptq || o->gptq_act_order))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, o->gptq ? "--no-gptq-act-order contradicts --gptq-act-order"
                                                          : "--no-gptq-act-order applies to --gptq only");
    if (o->num_samples < 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--num-samples %d: must be >= 1", o->num_samples);
    bool four = o->format == NPG_EXPORT_INT4 || o->format == NPG_EXPORT_NF4;
    if ((o->awq || o->scale_estimation || o->gptq) && !four)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "--awq, --scale-estimation and --gptq apply to --weight-format int4 "
                                                  "and nf4 only (not %s)",
                        npg_export_format_name(o->format));
    return NPG_OK;
}

npg_status npg_export_options_check_sym(const npg_export_options *o) {
    if (o->format == NPG_EXPORT_INT4 && !o->sym)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "--weight-format int4 without --sym means asymmetric INT4 (NNCF's default), which npugen's "
                        "kernels and the NPU do not support; add --sym");
    return NPG_OK;
}

/* Notes on options that are accepted but mean less than they say here. */
static void option_notes(const npg_export_options *o, bool gptq) {
    bool four = o->format == NPG_EXPORT_INT4 || o->format == NPG_EXPORT_NF4;
    if (gptq) {
        npg_export_log(o, NPG_LOG_WARNING,
                       "the source is a GPTQ checkpoint: it is exported as-is and --weight-format, --group-size, "
                       "--ratio, --all-layers and --backup-precision do not apply");
        return;
    }
    if (o->format == NPG_EXPORT_NF4 && o->group_size != NPG_EXPORT_GROUP_DEFAULT && o->group_size != -1)
        npg_export_log(o, NPG_LOG_WARNING,
                       "NF4 with --group-size %lld: the NPU needs channel-wise NF4 (--group-size -1); npugen stores "
                       "NF4 channel-wise",
                       (long long)o->group_size);
    if (!four && (o->group_size != NPG_EXPORT_GROUP_DEFAULT || o->ratio != 1.0f || o->all_layers))
        npg_export_log(o, NPG_LOG_WARNING, "--group-size, --ratio and --all-layers apply to int4 and nf4 only; ignored for %s",
                       npg_export_format_name(o->format));
    if (o->format == NPG_EXPORT_INT8 && !o->sym)
        npg_export_log(o, NPG_LOG_INFO, "int8 is stored symmetric per output channel (npugen has no asymmetric int8)");
    if (four && o->backup == NPG_BACKUP_INT8_ASYM)
        npg_export_log(o, NPG_LOG_INFO, "backup precision int8_asym is stored as symmetric int8 per output channel");
}

/* ---- folders ------------------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path) {
    if (path && npg_path_exists(path))
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Files of the source folder that are not weights are copied (tokenizer, configs, templates...). */
static bool is_side_file(const char *name) {
    static const char *const skip_suffix[] = {".safetensors", ".safetensors.index.json", ".bin", ".pt", ".pth",
                                              ".gguf", ".npgw", ".tmp"};
    if (name[0] == '.' || strcmp(name, "npugen_export.json") == 0 || strcmp(name, "quantize_config.json") == 0)
        return false;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof skip_suffix / sizeof *skip_suffix; i++) {
        size_t m = strlen(skip_suffix[i]);
        if (n >= m && strcmp(name + n - m, skip_suffix[i]) == 0)
            return false;
    }
    return true;
}

static npg_status write_whole(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return npg_fail(NPG_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    bool ok = (len == 0 || fwrite(data, 1, len, fp) == len);
    ok = (fclose(fp) == 0) && ok;
    return ok ? NPG_OK : npg_fail(NPG_ERR_IO, "%s: write failed: %s", path, strerror(errno));
}

/* config.json of a GPTQ source loses its quantization_config: the output's weights are npugen's. */
static npg_status copy_config(const char *src, const char *dst, bool gptq) {
    char *text = NULL;
    size_t len = 0;
    NPG_TRY(npg_read_file(src, &text, &len));
    npg_status st = NPG_OK;
    if (gptq) {
        cJSON *root = NULL;
        st = npg_json_parse(text, len, src, &root);
        if (st == NPG_OK) {
            cJSON_DeleteItemFromObjectCaseSensitive(root, "quantization_config");
            char *out = cJSON_Print(root);
            st = out ? write_whole(dst, out, strlen(out)) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
            free(out);
        }
        cJSON_Delete(root);
    } else {
        st = write_whole(dst, text, len);
    }
    free(text);
    return st;
}

static npg_status copy_side_files(const char *src_dir, const char *dst_dir, bool gptq) {
    DIR *d = opendir(src_dir);
    if (!d)
        return npg_fail(NPG_ERR_IO, "%s: cannot list: %s", src_dir, strerror(errno));
    npg_status st = NPG_OK;
    struct dirent *e;
    while (st == NPG_OK && (e = readdir(d)) != NULL) {
        if (!is_side_file(e->d_name))
            continue;
        char *s = NULL, *t = npg_path_join(dst_dir, e->d_name);
        struct stat sb;
        st = npg_tokenizer_file(src_dir, e->d_name, &s); /* a link stored as text: its target's bytes */
        if (st == NPG_OK && (!s || !t))
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        else if (st == NPG_OK && stat(s, &sb) == 0 && S_ISREG(sb.st_mode)) /* follows links: copies the bytes */
            st = copy_config(s, t, gptq && strcmp(e->d_name, "config.json") == 0);
        free(s);
        free(t);
    }
    closedir(d);
    return st;
}

/* ---- metadata ----------------------------------------------------------------------------------- */

static npg_status settings_json(const npg_export_options *o, const npg_gptq_config *gq, const npg_export_plan *p,
                                const char *src_dir, char **out) {
    cJSON *j = cJSON_CreateObject();
    NPG_CHECK_ALLOC(j);
    cJSON_AddStringToObject(j, "exporter", "npugen export");
    cJSON_AddStringToObject(j, "npugen_version", npg_version());
    cJSON_AddNumberToObject(j, "container_version", NPGW_VERSION);
    cJSON_AddNumberToObject(j, "quant_version", NPG_QUANT_VERSION);
    cJSON_AddStringToObject(j, "source", src_dir);
    if (gq->present) {
        cJSON *g = cJSON_AddObjectToObject(j, "gptq");
        cJSON_AddNumberToObject(g, "bits", (double)gq->bits);
        cJSON_AddNumberToObject(g, "group_size", (double)gq->group_size);
        cJSON_AddBoolToObject(g, "desc_act", gq->desc_act);
        cJSON_AddStringToObject(g, "checkpoint_format", gq->v2 ? "gptq_v2" : "gptq");
        cJSON_AddStringToObject(g, "config", gq->source);
        cJSON_AddStringToObject(j, "weight_format", "int4");
        cJSON_AddBoolToObject(j, "sym", true);
    } else {
        cJSON_AddStringToObject(j, "weight_format", npg_export_format_name(o->format));
        cJSON_AddBoolToObject(j, "sym", o->sym || o->format != NPG_EXPORT_INT4);
        int64_t g = o->group_size == NPG_EXPORT_GROUP_DEFAULT ? (o->format == NPG_EXPORT_INT4 ? 128 : -1) : o->group_size;
        if (o->format == NPG_EXPORT_NF4)
            g = -1;
        cJSON_AddNumberToObject(j, "group_size", (double)g);
        cJSON_AddNumberToObject(j, "ratio", (double)o->ratio);
        cJSON_AddBoolToObject(j, "all_layers", o->all_layers);
        cJSON_AddStringToObject(j, "backup_precision", npg_export_backup_name(o->backup));
        cJSON_AddStringToObject(j, "backup_stored_as", o->backup == NPG_BACKUP_NONE ? "source float type" : "Q8_CW");
        npg_export_sensitivity m = o->sensitivity;
        if (m == NPG_SENS_DEFAULT)
            m = o->dataset ? NPG_SENS_MAX_ACTIVATION_VARIANCE : NPG_SENS_WEIGHT_QUANTIZATION_ERROR;
        cJSON_AddStringToObject(j, "sensitivity_metric", npg_export_sensitivity_name(m));
        if (o->dataset) {
            cJSON *d = cJSON_AddObjectToObject(j, "data_aware");
            cJSON_AddStringToObject(d, "dataset", o->dataset);
            cJSON_AddNumberToObject(d, "num_samples", o->num_samples > 0 ? o->num_samples : 128);
            cJSON_AddBoolToObject(d, "awq", o->awq);
            cJSON_AddBoolToObject(d, "scale_estimation", o->scale_estimation);
            cJSON_AddBoolToObject(d, "gptq", o->gptq);
            cJSON_AddBoolToObject(d, "gptq_act_order", o->gptq && !o->gptq_natural_order);
        }
        cJSON_AddStringToObject(j, "group_size_fallback", "adjust");
    }
    cJSON *c = cJSON_AddObjectToObject(j, "counts");
    cJSON_AddNumberToObject(c, "tensors", (double)p->n);
    cJSON_AddNumberToObject(c, "matrices_4bit", (double)p->n_4bit);
    cJSON_AddNumberToObject(c, "matrices_backup", (double)p->n_backup);
    cJSON_AddNumberToObject(c, "gptq_layers", (double)p->n_gptq);
    cJSON_AddNumberToObject(c, "group_size_fallbacks", (double)p->n_fallback);
    cJSON_AddNumberToObject(c, "weights_4bit", (double)p->weights_4bit);
    cJSON_AddNumberToObject(c, "weights_eligible", (double)p->weights_eligible);
    cJSON *types = cJSON_AddObjectToObject(j, "tensor_types");
    for (size_t i = 0; i < p->n; i++)
        cJSON_AddStringToObject(types, p->items[i].name, npg_wtype_name(p->items[i].wtype));
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    NPG_CHECK_ALLOC(s);
    *out = s;
    return NPG_OK;
}

/* ---- the export --------------------------------------------------------------------------------- */

static npg_status write_container(const char *path, const npg_export_plan *p, const char *meta,
                                  const npg_export_options *o) {
    npgw_writer *w = NULL;
    NPG_TRY(npgw_writer_create(path, &w));
    npg_status st = npgw_writer_set_metadata(w, meta);
    for (size_t i = 0; i < p->n && st == NPG_OK; i++) {
        const npg_export_item *it = &p->items[i];
        st = npgw_writer_declare(w, it->name, it->wtype, it->n_dims, it->shape, it->group_size);
    }
    if (st == NPG_OK)
        st = npgw_writer_begin(w);
    if (st == NPG_OK)
        st = npg_export_write_items(p, w, o);
    if (st == NPG_OK)
        st = npgw_writer_finish(w);
    npgw_writer_free(w);
    return st;
}

/* Model families npugen runs are checked before any work: every tensor the loader needs must be
 * there with the shape config.json implies. Other folders (Whisper, vision towers) are exported
 * tensor by tensor without that check. */
static npg_status precheck(const char *dir, const npg_export_options *o, const char *what) {
    npg_model *m = NULL;
    npg_status st = npg_model_load_lazy(dir, &m); /* names and shapes only: do not read the weights in */
    npg_model_free(m);
    if (st == NPG_ERR_UNSUPPORTED) {
        npg_export_log(o, NPG_LOG_INFO, "%s: not a model family npugen runs (%s); tensors exported without a load check",
                       what, npg_last_error());
        return NPG_OK;
    }
    return st == NPG_OK ? NPG_OK : npg_fail_context(st, "%s", what);
}

/* With --overwrite an existing OUT_DIR is deleted, so it must be recognisably an earlier export:
 * a folder holding npugen_export.json and model.npgw, no sub-folder, no weights an export does not
 * write (the source model's), and no file an export from src_dir would not write again (so nothing
 * unrelated is lost). Anything else is refused: the user removes it deliberately. */
static npg_status check_overwritable(const char *out_dir, const char *src_dir) {
    struct stat st;
    if (lstat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "%s exists and is not a folder: --overwrite only replaces an earlier npugen export", out_dir);
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(src_dir, a) && realpath(out_dir, b) && strncmp(a, b, strlen(b)) == 0 && a[strlen(b)] == '/')
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: the source folder %s is inside the output folder", out_dir,
                        src_dir);
    const char *const markers[] = {"npugen_export.json", NPGW_FILE_NAME};
    for (int i = 0; i < 2; i++) {
        char *m = npg_path_join(out_dir, markers[i]);
        NPG_CHECK_ALLOC(m);
        bool ok = lstat(m, &st) == 0 && S_ISREG(st.st_mode);
        free(m);
        if (!ok)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "%s is not an npugen export output (no %s): --overwrite only replaces an earlier "
                            "export; remove the folder yourself if it is meant to go",
                            out_dir, markers[i]);
    }
    DIR *d = opendir(out_dir);
    if (!d)
        return npg_fail(NPG_ERR_IO, "%s: cannot list: %s", out_dir, strerror(errno));
    npg_status rs = NPG_OK;
    struct dirent *e;
    while (rs == NPG_OK && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, markers[0]) == 0 || strcmp(n, markers[1]) == 0)
            continue;
        char *in_out = npg_path_join(out_dir, n), *in_src = npg_path_join(src_dir, n);
        if (!in_out || !in_src) {
            rs = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        } else if (lstat(in_out, &st) != 0 || !S_ISREG(st.st_mode) || n[0] == '.') {
            rs = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                          "%s holds '%s', which is not a file an export writes: --overwrite refuses to delete it",
                          out_dir, n);
        } else if (!is_side_file(n)) {
            rs = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                          "%s holds model weights ('%s') that an export does not write: --overwrite refuses to "
                          "delete them",
                          out_dir, n);
        } else if (!npg_path_exists(in_src)) {
            rs = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                          "%s holds '%s', which this export (from %s) would not write again: --overwrite refuses "
                          "to delete it",
                          out_dir, n, src_dir);
        }
        free(in_out);
        free(in_src);
    }
    closedir(d);
    return rs;
}

static npg_status prepare_out(const char *out_dir, const npg_export_options *o, const char *src_dir, char **tmp) {
    if (npg_path_exists(out_dir) && !o->overwrite)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s already exists (pass --overwrite to replace it)", out_dir);
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(src_dir, a) && realpath(out_dir, b) && strcmp(a, b) == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: the output folder is the source folder", out_dir);
    if (npg_path_exists(out_dir))
        NPG_TRY(check_overwritable(out_dir, src_dir));
    size_t n = strlen(out_dir);
    while (n > 1 && out_dir[n - 1] == '/')
        n--;
    *tmp = malloc(n + 48);
    NPG_CHECK_ALLOC(*tmp);
    memcpy(*tmp, out_dir, n);
    (*tmp)[n] = '\0';
    /* the writer's pid in the name lets a later export remove what a killed one left */
    npg_clean_stale_temps(*tmp, ".tmp-");
    snprintf(*tmp + n, 48, ".tmp-%ld-XXXXXX", (long)getpid());
    if (!mkdtemp(*tmp)) {
        npg_status st = npg_fail(NPG_ERR_IO, "%.*s: cannot create the output folder: %s", (int)n, out_dir, strerror(errno));
        free(*tmp);
        *tmp = NULL;
        return st;
    }
    chmod(*tmp, 0755); /* mkdtemp makes it private; a model folder is normally readable by all */
    return NPG_OK;
}

/* Moves tmp into place. An existing out_dir (with --overwrite) is swapped with tmp in one
 * renameat2(RENAME_EXCHANGE), so OUT_DIR never stops existing, and the old tree (now at tmp) is
 * removed; file systems without the exchange get rename-aside-then-rename. */
static npg_status publish(const char *tmp, const char *out_dir) {
    if (npg_path_exists(out_dir)) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_EXCHANGE) == 0) {
            npg_remove_tree(tmp);
            return NPG_OK;
        }
        if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
            return npg_fail(NPG_ERR_IO, "%s: cannot exchange it with %s: %s", out_dir, tmp, strerror(errno));
    }
    char *old = NULL;
    if (npg_path_exists(out_dir)) {
        size_t n = strlen(tmp) + 8;
        old = malloc(n);
        NPG_CHECK_ALLOC(old);
        snprintf(old, n, "%s.old", tmp);
        if (rename(out_dir, old) != 0) {
            npg_status st = npg_fail(NPG_ERR_IO, "%s: cannot move the old folder aside: %s", out_dir, strerror(errno));
            free(old);
            return st;
        }
    }
    if (rename(tmp, out_dir) != 0) {
        npg_status st = npg_fail(NPG_ERR_IO, "%s: cannot rename %s into place: %s", out_dir, tmp, strerror(errno));
        if (old)
            (void)rename(old, out_dir);
        free(old);
        return st;
    }
    remove_tree(old);
    free(old);
    return NPG_OK;
}

static npg_status export_into(const char *src_dir, const char *tmp, const npg_export_options *o) {
    npg_gptq_config gq;
    NPG_TRY(npg_gptq_config_load(src_dir, &gq));
    if (!gq.present)
        NPG_TRY(npg_export_options_check_sym(o));
    option_notes(o, gq.present);
    if (!gq.present)
        NPG_TRY(precheck(src_dir, o, src_dir));
    if (gq.present && o->dataset)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: a GPTQ checkpoint is exported as-is; --dataset and the "
                                                  "data-aware options do not apply", src_dir);
    npg_calib *calib = NULL;
    bool methods = o->awq || o->scale_estimation || o->gptq;
    bool ranks = o->ratio < 1.0f && o->sensitivity != NPG_SENS_WEIGHT_QUANTIZATION_ERROR;
    bool uses_data = methods || ranks;
    if (o->dataset && !uses_data)
        npg_export_log(o, NPG_LOG_WARNING, "--dataset %s is not used: no data-aware option (--awq, --scale-estimation, "
                                           "--gptq, or --ratio < 1 with an activation metric)", o->dataset);
    if (o->dataset && ranks) /* the activation metrics rank the matrices before any is decided */
        NPG_TRY(npg_calib_run(src_dir, o, &calib));
    npg_tensor_store *ts = NULL;
    npg_status st = npg_tensor_store_open_dir_streaming(src_dir, &ts);
    if (st != NPG_OK) {
        npg_calib_free(calib);
        return st;
    }
    npg_export_plan plan;
    st = npg_export_plan_build(ts, &gq, o, calib, &plan);
    npg_calib_free(calib);
    /* the store maps the source lazily, but building the plan touched some tensors (e.g. the
     * data-free mixed-precision ranking): drop their pages until each tensor is read, or the
     * data-aware step's own mapping of the model would double the resident size */
    for (size_t i = 0; st == NPG_OK && i < plan.n; i++)
        if (plan.items[i].src)
            npg_export_release_pages(plan.items[i].src->data, plan.items[i].src->n_bytes);
    if (st == NPG_OK && o->dataset && methods) /* layer by layer: calibration and compression together */
        st = npg_dataaware_apply(&plan, src_dir, o);
    char *meta = NULL, *path = NULL;
    if (st == NPG_OK)
        st = settings_json(o, &gq, &plan, src_dir, &meta);
    if (st == NPG_OK) {
        path = npg_path_join(tmp, NPGW_FILE_NAME);
        st = path ? write_container(path, &plan, meta, o) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    npg_export_plan_free(&plan);
    npg_tensor_store_free(ts);
    free(path);
    if (st == NPG_OK) {
        path = npg_path_join(tmp, "npugen_export.json");
        st = path ? write_whole(path, meta, strlen(meta)) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        free(path);
    }
    free(meta);
    if (st == NPG_OK)
        st = copy_side_files(src_dir, tmp, gq.present);
    if (st == NPG_OK && gq.present) /* GPTQ names are only checked against the model once repacked */
        st = precheck(tmp, o, src_dir);
    return st;
}

npg_status npg_export_model(const char *src_dir, const char *out_dir, const npg_export_options *o) {
    if (!src_dir || !out_dir)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "export: %s is NULL", !src_dir ? "source folder" : "output folder");
    NPG_TRY(npg_export_options_check(o));
    char *src = NULL; /* a folder, or a cached Hub repo id ("ORG/NAME") */
    NPG_TRY(npg_hub_resolve_model_dir(src_dir, &src));
    if (!npg_is_dir(src)) {
        free(src);
        size_t n = strlen(src_dir);
        if (n > 5 && strcasecmp(src_dir + n - 5, ".gguf") == 0 && npg_path_exists(src_dir))
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: export converts a Hugging Face folder; a GGUF file is not "
                            "converted to an npugen folder, it runs as it is (npugen generate, bench, serve, "
                            "compile FILE.gguf)", src_dir);
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: not a folder", src_dir);
    }
    char *tmp = NULL;
    npg_status st = prepare_out(out_dir, o, src, &tmp);
    if (st == NPG_OK)
        st = export_into(src, tmp, o);
    if (st == NPG_OK)
        st = publish(tmp, out_dir);
    if (st != NPG_OK && tmp)
        remove_tree(tmp);
    free(tmp);
    free(src);
    return st;
}
