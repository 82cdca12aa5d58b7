/*
 * nt_send — see nt_send.h. Every protocol is libcurl's; this file only
 * sets its options, so TLS, proxies, redirects and SMTP's dialogue are
 * curl's well-tested code.
 */
#include "nt_send.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nt_msg.h"
#include "nt_sign.h"

int nt_sender_init(nt_sender *s, mqtt_client *m)
{
    s->mqtt = m;
    s->curl = curl_easy_init();
    return s->curl ? 0 : -1;
}

void nt_sender_cleanup(nt_sender *s)
{
    if (s->curl)
        curl_easy_cleanup(s->curl);
    s->curl = NULL;
}

int nt_send_classify_http(long st)
{
    if (st >= 200 && st < 300)
        return NT_SEND_OK;
    if (st == 408 || st == 425 || st == 429 || st >= 500 || st == 0)
        return NT_SEND_RETRY;
    return NT_SEND_REJECT;
}

/* Response bodies are read (Telegram's {"ok":true}) up to 4 KiB. */
typedef struct {
    char buf[4096];
    size_t len;
} resp;

static size_t on_write(char *p, size_t sz, size_t n, void *user)
{
    resp *r = user;
    size_t k = sz * n, room = sizeof r->buf - 1 - r->len;
    memcpy(r->buf + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->buf[r->len] = '\0';
    return sz * n;
}

/* A header line "Name: value" with CR and LF taken out of the value. */
static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value,
                                     int *bad)
{
    char line[1024];
    size_t o = (size_t)snprintf(line, sizeof line, "%s: ", name);
    for (const char *p = value; *p && o < sizeof line - 1; p++)
        line[o++] = (*p == '\r' || *p == '\n') ? ' ' : *p;
    line[o] = '\0';
    struct curl_slist *n = curl_slist_append(h, line);
    if (!n) {
        *bad = 1;
        return h;
    }
    return n;
}

static void common_opts(CURL *c, const nt_channel *ch, resp *r)
{
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(ch->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(ch->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (ch->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ch->ca_file);
}

static int http_post(nt_sender *s, const nt_channel *ch, const char *url, struct curl_slist *h,
                     const char *data, size_t len, resp *r, char *err, size_t errlen)
{
    CURL *c = s->curl;
    long st = 0;
    common_opts(c, ch, r);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return NT_SEND_RETRY;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    int k = nt_send_classify_http(st);
    if (k != NT_SEND_OK)
        snprintf(err, errlen, "HTTP %ld", st);
    return k;
}

static int send_webhook(nt_sender *s, const nt_channel *ch, const json_t *body, char *err,
                        size_t errlen)
{
    int bad = 0, rc;
    resp r = {.len = 0};
    char sig[NT_SIGN_HEADER_MAX];
    char *data = json_dumps(body, JSON_COMPACT);
    if (!data) {
        snprintf(err, errlen, "out of memory");
        return NT_SEND_RETRY;
    }
    struct curl_slist *h = add_header(NULL, "Content-Type", "application/json", &bad);
    h = add_header(h, "Idempotency-Key",
                   json_string_value(json_object_get(body, "idempotency_key")), &bad);
    h = add_header(h, "User-Agent", "iotad-notifier", &bad);
    if (ch->secret) {
        if (nt_sign_header(ch->secret, data, strlen(data), sig, sizeof sig))
            bad = 1;
        else
            h = add_header(h, "X-Signature-256", sig, &bad);
    }
    if (bad) {
        snprintf(err, errlen, "out of memory or signing failed");
        rc = NT_SEND_RETRY;
    } else {
        rc = http_post(s, ch, ch->url, h, data, strlen(data), &r, err, errlen);
    }
    curl_slist_free_all(h);
    free(data);
    return rc;
}

static int send_ntfy(nt_sender *s, const nt_channel *ch, const json_t *body, char *err,
                     size_t errlen)
{
    int bad = 0;
    resp r = {.len = 0};
    char title[256], prio[8], auth[600];
    nt_msg_title(body, title, sizeof title);
    snprintf(prio, sizeof prio, "%d", nt_msg_priority(body));
    const char *text = nt_msg_text(body);
    struct curl_slist *h = add_header(NULL, "Title", title, &bad);
    h = add_header(h, "Priority", prio, &bad);
    h = add_header(h, "Tags", nt_msg_tags(body), &bad);
    h = add_header(h, "X-Idempotency-Key",
                   json_string_value(json_object_get(body, "idempotency_key")), &bad);
    h = add_header(h, "Content-Type", "text/plain; charset=utf-8", &bad);
    if (ch->token) {
        snprintf(auth, sizeof auth, "Bearer %s", ch->token);
        h = add_header(h, "Authorization", auth, &bad);
    }
    int rc =
        bad ? NT_SEND_RETRY : http_post(s, ch, ch->url, h, text, strlen(text), &r, err, errlen);
    if (bad)
        snprintf(err, errlen, "out of memory");
    curl_slist_free_all(h);
    return rc;
}

static int send_telegram(nt_sender *s, const nt_channel *ch, const json_t *body, char *err,
                         size_t errlen)
{
    int bad = 0;
    resp r = {.len = 0};
    size_t ul = strlen(ch->base_url) + strlen(ch->token) + 32;
    char *url = malloc(ul);
    json_t *m = json_pack("{s:s, s:s}", "chat_id", ch->chat_id, "text", nt_msg_text(body));
    char *data = m ? json_dumps(m, JSON_COMPACT) : NULL;
    struct curl_slist *h = add_header(NULL, "Content-Type", "application/json", &bad);
    int rc = NT_SEND_RETRY;
    if (!url || !data || bad) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* the token is in the URL: never log it (err only gets curl's words) */
    snprintf(url, ul, "%s/bot%s/sendMessage", ch->base_url, ch->token);
    rc = http_post(s, ch, url, h, data, strlen(data), &r, err, errlen);
    if (rc == NT_SEND_OK) {
        json_t *res = json_loadb(r.buf, r.len, 0, NULL);
        if (!json_is_true(json_object_get(res, "ok"))) {
            snprintf(err, errlen, "telegram answered without \"ok\": true");
            rc = NT_SEND_RETRY;
        }
        json_decref(res);
    }
out:
    curl_slist_free_all(h);
    free(data);
    json_decref(m);
    free(url);
    return rc;
}

typedef struct {
    const char *p;
    size_t left;
} upload;

static size_t on_read(char *buf, size_t sz, size_t n, void *user)
{
    upload *u = user;
    size_t k = sz * n < u->left ? sz * n : u->left;
    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

/* Append text to the message with CRLF line ends (RFC 5322) and dot
 * safety left to curl (it escapes leading dots itself). */
static int append_crlf(char **msg, size_t *len, size_t *cap, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*len + 3 > *cap) {
            size_t nc = *cap * 2 + 256;
            char *n = realloc(*msg, nc);
            if (!n)
                return -1;
            *msg = n;
            *cap = nc;
        }
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            (*msg)[(*len)++] = '\r';
        (*msg)[(*len)++] = *p;
    }
    (*msg)[*len] = '\0';
    return 0;
}

static int send_email(nt_sender *s, const nt_channel *ch, const json_t *body, char *err,
                      size_t errlen)
{
    char title[256], head[2048], date[64], from[300];
    char *msg = NULL, *pretty = json_dumps(body, JSON_INDENT(2));
    size_t len = 0, cap = 0;
    int rc = NT_SEND_RETRY;
    struct curl_slist *rcpt = NULL;
    resp r = {.len = 0};
    const char *key = json_string_value(json_object_get(body, "idempotency_key"));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    nt_msg_title(body, title, sizeof title);
    for (char *p = title; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    snprintf(from, sizeof from, "%s", ch->from);
    char to[1024] = "";
    for (int i = 0; i < ch->nto; i++) {
        size_t l = strlen(to);
        snprintf(to + l, sizeof to - l, "%s%s", i ? ", " : "", ch->to[i]);
        struct curl_slist *n = curl_slist_append(rcpt, ch->to[i]);
        if (!n)
            goto out;
        rcpt = n;
    }
    snprintf(
        head, sizeof head,
        "Date: %s\nFrom: %s\nTo: %s\nSubject: [iotad] %s\nMessage-ID: <%s@iotad.notifier>\n"
        "X-Idempotency-Key: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n",
        date, from, to, title, key ? key : "none", key ? key : "none");
    if (!pretty || append_crlf(&msg, &len, &cap, head) ||
        append_crlf(&msg, &len, &cap, nt_msg_text(body)) ||
        append_crlf(&msg, &len, &cap, "\n\n-- \nThe event as JSON:\n") ||
        append_crlf(&msg, &len, &cap, pretty) || append_crlf(&msg, &len, &cap, "\n")) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    CURL *c = s->curl;
    upload u = {msg, len};
    common_opts(c, ch, &r);
    curl_easy_setopt(c, CURLOPT_URL, ch->url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, ch->from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    if (ch->starttls && strncmp(ch->url, "smtp://", 7) == 0)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (ch->username)
        curl_easy_setopt(c, CURLOPT_USERNAME, ch->username);
    if (ch->password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, ch->password);
    CURLcode cr = curl_easy_perform(c);
    if (cr == CURLE_OK) {
        rc = NT_SEND_OK;
    } else {
        long st = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        snprintf(err, errlen, "%s (SMTP %ld)", curl_easy_strerror(cr), st);
        /* 5xx from the server: the message is refused for good */
        rc = (st >= 500 && st < 600) ? NT_SEND_REJECT : NT_SEND_RETRY;
    }
out:
    curl_slist_free_all(rcpt);
    free(msg);
    free(pretty);
    return rc;
}

static int send_mqtt(nt_sender *s, const nt_channel *ch, const json_t *body, char *err,
                     size_t errlen)
{
    char *data = json_dumps(body, JSON_COMPACT);
    int rc = NT_SEND_RETRY;
    if (!data || !s->mqtt) {
        snprintf(err, errlen, "out of memory or no broker");
    } else if (!mqtt_client_is_connected(s->mqtt)) {
        snprintf(err, errlen, "broker not connected");
    } else if (mqtt_client_publish(s->mqtt, ch->topic, data, strlen(data), ch->qos, ch->retain)) {
        snprintf(err, errlen, "publish failed");
    } else if (ch->qos && mqtt_client_flush(s->mqtt, (int)(ch->timeout_s * 1000))) {
        snprintf(err, errlen, "no PUBACK within the timeout");
    } else {
        rc = NT_SEND_OK;
    }
    free(data);
    return rc;
}

int nt_send(nt_sender *s, const nt_channel *ch, const json_t *body, char *err, size_t errlen)
{
    err[0] = '\0';
    switch (ch->type) {
    case NT_WEBHOOK:
        return send_webhook(s, ch, body, err, errlen);
    case NT_NTFY:
        return send_ntfy(s, ch, body, err, errlen);
    case NT_TELEGRAM:
        return send_telegram(s, ch, body, err, errlen);
    case NT_EMAIL:
        return send_email(s, ch, body, err, errlen);
    case NT_MQTT:
        return send_mqtt(s, ch, body, err, errlen);
    }
    snprintf(err, errlen, "unknown channel type");
    return NT_SEND_REJECT;
}
