/* filters.h — the filter functions shared between filters.c (the table, string and number
 * filters) and filters_seq.c (filters over sequences: sort, map, select, join, ...). Internal to
 * the template folder. Every filter receives the piped value and the call's arguments. */
#ifndef NPG_TEMPLATE_FILTERS_H
#define NPG_TEMPLATE_FILTERS_H

#include "template/eval.h"

typedef npg_status (*npg_tfilter_fn)(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);

/* Binds a filter's arguments (by position then keyword) into out[n_params], naming the filter in
 * errors. */
npg_status npg_tf_bind(npg_trender *r, const char *filter, const npg_targs *a, const char *const *params,
                       size_t n_params, npg_tval *out);
/* jinja2's make_attrgetter: "a.b.0" looked up part by part with item-then-attribute access; an
 * unset attribute (npg_targ_given false) returns the item itself. */
npg_status npg_tf_attr(npg_trender *r, npg_tval item, npg_tval attribute, npg_tval *out);

npg_status npg_tf_join(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_sort(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_unique(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_min(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_max(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_dictsort(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_map(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_select(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_reject(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_selectattr(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_rejectattr(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_batch(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);
npg_status npg_tf_sum(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out);

#endif
