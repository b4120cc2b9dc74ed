/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h — leveled logging to stderr. The level is process-wide state set once at start-up by
 * main.c (like syslog's mask); everything else about the app travels in struct pl_app.
 */
#ifndef PL_BASE_LOG_H
#define PL_BASE_LOG_H

enum pl_log_level { PL_LOG_ERROR = 0, PL_LOG_WARN, PL_LOG_INFO, PL_LOG_DEBUG };

/* Parse "error|warn|info|debug" into *out. Returns 0 or -1 on an unknown name. */
int pl_log_level_parse(const char *name, enum pl_log_level *out);
void pl_log_set_level(enum pl_log_level lvl);
void pl_log(enum pl_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pl_log_error(...) pl_log(PL_LOG_ERROR, __VA_ARGS__)
#define pl_log_warn(...)  pl_log(PL_LOG_WARN, __VA_ARGS__)
#define pl_log_info(...)  pl_log(PL_LOG_INFO, __VA_ARGS__)
#define pl_log_debug(...) pl_log(PL_LOG_DEBUG, __VA_ARGS__)

#endif
