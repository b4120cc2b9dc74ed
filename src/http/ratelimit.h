/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h — token buckets per key (a principal, a client address) in a fixed-size table
 * (issue 12: rate limits, 429 with Retry-After). Memory is bounded whatever the traffic: the
 * table is set-associative (8 ways per set) and a new key takes the least recently used way of
 * its set. A bucket idle long enough is full again, so forgetting it loses nothing; the keys
 * that keep sending stay in the table because they are the recently used ones.
 *
 * Keys are hashed to 64 bits with a per-table random seed and only the hash is kept: two keys
 * whose hashes collide share one bucket (negligible, and never a way for one key to choose
 * another's bucket since the seed is secret).
 *
 * Thread-safe: any network thread may call pl_ratelimit_take (one lock per set).
 */
#ifndef PL_HTTP_RATELIMIT_H
#define PL_HTTP_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct pl_ratelimit;

/* A table of at least `capacity` buckets (rounded up to a power of two of sets of 8) that each
 * refill `rate` tokens per second up to `burst`. NEW (pl_ratelimit_free), NULL on OOM or when
 * rate or burst is 0. */
struct pl_ratelimit *pl_ratelimit_new(size_t capacity, unsigned rate, unsigned burst);
void pl_ratelimit_free(struct pl_ratelimit *rl); /* NULL ignored */

/*
 * Takes one token from the bucket of `key` (len bytes) at time `now_ns` (monotonic
 * nanoseconds). Returns 1 when the request may go on; 0 when the bucket is empty, with
 * *retry_after_s set to the whole seconds (at least 1) until a token is back.
 */
int pl_ratelimit_take(struct pl_ratelimit *rl, const void *key, size_t len, int64_t now_ns,
                      unsigned *retry_after_s);

/* Keys of buckets that were evicted while not yet full (the table was too small for the
 * traffic), since the start. For /metrics and tests. */
uint64_t pl_ratelimit_evictions(const struct pl_ratelimit *rl);

#endif
