/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard.h — the outbound guard: the ONE place that decides whether Polis may open a connection
 * to somewhere (a remote @context download, an HTTP(S) notification endpoint, an MQTT(S)
 * broker; later federation). docs/security.md "Outbound calls" is the contract.
 *
 * Two layers:
 *  - a pure core (guard.c, no I/O): the scheme check of a URL, the network lists (IPv4 and
 *    IPv6 CIDRs; an IPv4 address is held as its IPv4-mapped IPv6 form ::ffff:a.b.c.d, so that
 *    a mapped IPv6 address and the IPv4 address are the same thing to every list) and the
 *    address policy;
 *  - the connect-time hooks (guard_net.c): a libcurl set-up that checks the RESOLVED address of
 *    every connection curl opens (CURLOPT_OPENSOCKETFUNCTION: each redirect hop and every
 *    address tried, so DNS rebinding does not get past it), and a resolver for clients that
 *    connect themselves (MQTT).
 *
 * Address policy, in order (first match decides):
 *   1. --outbound-deny LIST           denied  (deny wins over allow)
 *   2. --outbound-allow LIST          allowed (allow wins over the defaults), except that a
 *                                     cloud metadata address is lifted only by an allow entry
 *                                     naming exactly that address (/32 or /128)
 *   3. the default denied networks    denied  (pl_guard_defaults: this-network, link-local,
 *                                     cloud metadata, multicast, reserved/broadcast,
 *                                     unspecified)
 *   4. --profile production           denied  private ranges and loopback
 *   5. anything else                  allowed
 * A NAT64 address (64:ff9b::/96) is judged as the IPv4 address it embeds.
 *
 * Threading: a guard is immutable after pl_guard_new; every function is thread-safe. A guard
 * is reference counted because MQTT connection threads may outlive their owner at shutdown.
 */
#ifndef PL_NET_GUARD_H
#define PL_NET_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One network: a 128-bit address (IPv4 as ::ffff:a.b.c.d) and a prefix length 0..128. */
struct pl_net {
    uint8_t addr[16];
    uint8_t prefix;
};

/* A list of networks (owned array). */
struct pl_netlist {
    struct pl_net *nets;
    size_t n;
};

#define PL_NETLIST_MAX 256 /* most networks in one --outbound-allow/--outbound-deny list */

/*
 * Parses a list of networks separated by commas and/or white space: "127.0.0.5/32, fe80::/10,
 * 10.0.0.0/8 ::ffff:192.0.2.0/120 192.0.2.7" (a bare address is a single host: /32 or /128).
 * Host bits below the prefix are cleared. An empty text is an empty list. Returns 0 and *out
 * (free with pl_netlist_free), or -1 with words in `why` (and *out empty).
 */
int pl_netlist_parse(const char *text, struct pl_netlist *out, char *why, size_t why_len);
void pl_netlist_free(struct pl_netlist *l);

/* Parses one network "ADDR[/PREFIX]" of `len` bytes. Returns 0 or -1. */
int pl_net_parse(const char *s, size_t len, struct pl_net *out);

/* 1 when the 16-byte address `ip` (IPv4 as mapped) is inside `net`. */
int pl_net_contains(const struct pl_net *net, const uint8_t ip[16]);

/* Writes `net` as text ("10.0.0.0/8", "fe80::/10"). */
void pl_net_format(const struct pl_net *net, char *buf, size_t len);

/* Writes the address `ip` as text (IPv4 for a mapped address). */
void pl_ip_format(const uint8_t ip[16], char *buf, size_t len);

/* Parses an IP address literal (IPv4 in any inet_aton form, IPv6 with or without brackets) into
 * its 16-byte form. Returns 0, or -1 when `s` is no IP literal (a host name). */
int pl_ip_parse(const char *s, uint8_t ip[16]);

/* A sockaddr (AF_INET or AF_INET6) into the 16-byte form. Returns 0 or -1 (another family). */
int pl_ip_from_sockaddr(const struct sockaddr *sa, uint8_t ip[16]);

struct pl_guard_config {
    const char *allow; /* --outbound-allow LIST; NULL or "" = none */
    const char *deny;  /* --outbound-deny LIST; NULL or "" = none */
    int production;    /* --profile production: also deny private ranges and loopback */
};

struct pl_guard; /* opaque, immutable, reference counted */

/* Creates a guard. Returns 0 and *out (pl_guard_unref), or -1 with words in `why` (a list that
 * does not parse: the option is named). */
int pl_guard_new(const struct pl_guard_config *cfg, struct pl_guard **out, char *why,
                 size_t why_len);
struct pl_guard *pl_guard_ref(struct pl_guard *g);
void pl_guard_unref(struct pl_guard *g);

/* What an outbound call is for: the schemes it may use. */
enum pl_guard_use {
    PL_GUARD_CONTEXT = 1, /* @context download: http, https */
    PL_GUARD_NOTIFY = 2,  /* notification endpoint: http, https, mqtt, mqtts */
};

/*
 * Address check. `g` NULL applies the defaults only (unit tests of other modules). Returns 0
 * (allowed) or -1 (denied) with the reason in `why` ("address 127.0.0.5 is denied by
 * --outbound-deny 127.0.0.5/32", "... is a cloud metadata address (denied by default)").
 */
int pl_guard_check_ip(const struct pl_guard *g, const uint8_t ip[16], char *why, size_t why_len);
int pl_guard_check_sockaddr(const struct pl_guard *g, const struct sockaddr *sa, char *why,
                            size_t why_len);

/* Scheme check of `url` for `use`. Returns 0 or -1 with words in `why`. */
int pl_guard_check_scheme(const char *url, enum pl_guard_use use, char *why, size_t why_len);

/*
 * What can be checked of a URL before any connection: its scheme and, when its host is an IP
 * literal, that address (subscription creation, a request @context). A host name is checked at
 * connect time only (its addresses may change). Returns 0 or -1 with words in `why`.
 */
int pl_guard_check_url(const struct pl_guard *g, const char *url, enum pl_guard_use use,
                       char *why, size_t why_len);

/* The host part of `url` (without user info, port and IPv6 brackets) into buf. Returns 0, or -1
 * when there is none or it does not fit. Pure; used by pl_guard_check_url. */
int pl_guard_url_host(const char *url, char *buf, size_t len);

#define PL_GUARD_MAX_REDIRECTS 3 /* redirects followed, each hop checked again */

/* ---- connect-time hooks (guard_net.c) ---------------------------------------------------- */

/* Per-transfer state of the libcurl hook: the guard and the reason of a refusal. Must live as
 * long as the easy handle uses it (the handle keeps a pointer). */
struct pl_guard_curl {
    const struct pl_guard *g; /* borrowed; NULL = defaults */
    enum pl_guard_use use;
    char why[200]; /* "" until a connection was refused; then why (the first refusal) */
};

/*
 * Sets the guard's options on a libcurl easy handle `curl` (a CURL *): protocols for `gc->use`
 * (also for redirects), CURLOPT_OPENSOCKETFUNCTION checking every address curl connects to,
 * no proxy taken from the environment (a proxy would hide the real destination from the
 * check), and, when `follow`, redirects followed up to PL_GUARD_MAX_REDIRECTS. Clears
 * gc->why. Call it last, after the caller's own options. Returns 0 or -1 (an option refused).
 */
int pl_guard_curl_setup(void *curl, struct pl_guard_curl *gc, int follow);

/* Words for a failed transfer: gc->why when the guard refused a connection, else a guard text
 * for a curl code that comes from its settings (too many redirects, a refused protocol on a
 * redirect), else NULL. `curl_code` is a CURLcode. */
const char *pl_guard_curl_reason(struct pl_guard_curl *gc, int curl_code);

/*
 * For clients that connect themselves (MQTT): resolves `host` (a name or an IP literal),
 * checks EVERY address it resolves to (one denied address refuses the name: a name that can
 * point at a denied network is not used at all), and writes the first address as numeric text
 * into ip_out (connect to it, not to the name, so that what was checked is what is reached).
 * Returns 0, or -1 with words in `why` (refused or not resolvable; *refused set to 1 when the
 * guard refused, 0 when the name did not resolve).
 */
int pl_guard_resolve(const struct pl_guard *g, const char *host, char *ip_out, size_t ip_len,
                     int *refused, char *why, size_t why_len);

/* Checks the peer of a connected socket (after connecting by name, e.g. TLS that must verify
 * the name). Returns 0 or -1 with words in `why`. */
int pl_guard_check_peer(const struct pl_guard *g, int fd, char *why, size_t why_len);

#endif
