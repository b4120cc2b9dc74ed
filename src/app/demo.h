/* SPDX-License-Identifier: Apache-2.0 */
/* demo.h — loads the demo city (the .jsonld files of data/demo) into an EMPTY store at start-up. */
#ifndef PL_APP_DEMO_H
#define PL_APP_DEMO_H

#include "app/app.h"
#include "base/err.h"

/*
 * When the default tenant holds no entity, creates every entity found in the *.jsonld files of
 * `dir` (each file: one entity or an array of entities, normalized or concise, with its
 * @context), in file-name order. A file that fails is logged and skipped. Sets *loaded to the
 * number of entities created (0 when the store was not empty). Returns 0, or an error when the
 * directory cannot be read.
 */
int pl_demo_load(struct pl_app *app, const char *dir, int *loaded, struct pl_err *err);

#endif
