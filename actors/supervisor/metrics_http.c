#include "metrics_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct _ob_metrics_http_t {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock; /* text and len: set by the loop, read by MHD's thread */
    char *text;
    size_t len;
    uint16_t port;
};

static enum MHD_Result s_reply(struct MHD_Connection *connection, unsigned status, const char *body,
                               size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            status == MHD_HTTP_OK ? S_CONTENT_TYPE : "text/plain");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)req_cls;
    ob_metrics_http_t *self = cls;
    if (*upload_data_size)
        return MHD_NO; /* nothing here takes a body */
    if (strcmp(url, "/metrics") != 0) {
        static const char missing[] = "not found: only /metrics is served here\n";
        return s_reply(connection, MHD_HTTP_NOT_FOUND, missing, sizeof missing - 1,
                       MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char refused[] = "method not allowed: GET /metrics\n";
        return s_reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, refused, sizeof refused - 1,
                       MHD_RESPMEM_PERSISTENT);
    }
    pthread_mutex_lock(&self->lock);
    size_t len = self->len;
    char *copy = malloc(len ? len : 1);
    if (copy && len)
        memcpy(copy, self->text, len);
    pthread_mutex_unlock(&self->lock);
    if (!copy)
        return MHD_NO;
    return s_reply(connection, MHD_HTTP_OK, copy, len, MHD_RESPMEM_MUST_FREE);
}

ob_metrics_http_t *ob_metrics_http_new(const char *host, uint16_t port, ob_why_t *why)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        ob_why(why, "metrics_http %s:%u: not an IPv4 address", host, port);
        return NULL;
    }
    ob_metrics_http_t *self = calloc(1, sizeof *self);
    if (!self || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        ob_why(why, "metrics_http: out of memory");
        return NULL;
    }
    /* Its own thread (select-free epoll where there is one): a scrape is
       served while the supervisor's loop does its work. */
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handle,
        self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!self->daemon) {
        ob_why(why, "metrics_http %s:%u: cannot serve HTTP there (in use, or not this host's)",
               host, port);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

void ob_metrics_http_destroy(ob_metrics_http_t **self_p)
{
    assert(self_p);
    ob_metrics_http_t *self = *self_p;
    if (!self)
        return;
    MHD_stop_daemon(self->daemon);
    pthread_mutex_destroy(&self->lock);
    free(self->text);
    free(self);
    *self_p = NULL;
}

uint16_t ob_metrics_http_port(const ob_metrics_http_t *self)
{
    return self->port;
}

int ob_metrics_http_set(ob_metrics_http_t *self, const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    pthread_mutex_lock(&self->lock);
    char *old = self->text;
    self->text = copy;
    self->len = len;
    pthread_mutex_unlock(&self->lock);
    free(old);
    return 0;
}

/* --- self-test ------------------------------------------------------------- */

/* One request over a fresh connection; the whole answer into `out`. */
static int s_fetch(uint16_t port, const char *request, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fd);
    return 0;
}

/* "HTTP/1.x CODE ...": the status of an answer. */
static bool s_status(const char *answer, int code)
{
    int got = 0;
    return sscanf(answer, "HTTP/1.%*d %d", &got) == 1 && got == code;
}

static bool s_ends_with(const char *text, const char *tail)
{
    size_t a = strlen(text), b = strlen(tail);
    return a >= b && strcmp(text + a - b, tail) == 0;
}

int ob_metrics_http_test(bool verbose)
{
    ob_why_t why = {{0}};
    int failed = 0;
#define S_CHECK(what, cond)                                                                        \
    do {                                                                                           \
        bool ok_ = (cond);                                                                         \
        failed += !ok_;                                                                            \
        if (verbose || !ok_)                                                                       \
            printf("# metrics_http: %s: %s\n", what, ok_ ? "ok" : "FAILED");                       \
    } while (0)
    S_CHECK("a bad address is refused",
            !ob_metrics_http_new("no.such", 0, &why) && strstr(why.text, "not an IPv4 address"));
    ob_metrics_http_t *http = ob_metrics_http_new("127.0.0.1", 0, &why);
    S_CHECK("serves on a free port", http && ob_metrics_http_port(http) > 0);
    if (!http)
        return -1;
    ob_metrics_http_t *twice = ob_metrics_http_new("127.0.0.1", ob_metrics_http_port(http), &why);
    S_CHECK("a port in use is refused, named", !twice && strstr(why.text, "cannot serve HTTP"));
    ob_metrics_http_destroy(&twice);
    static char answer[65536];
    uint16_t port = ob_metrics_http_port(http);
    S_CHECK("an empty text before the first set",
            s_fetch(port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer) == 0 &&
                s_status(answer, 200) && strstr(answer, "Content-Length: 0\r\n"));
    const char text[] = "# HELP a_total a\n# TYPE a_total counter\na_total 1\n";
    S_CHECK("set", ob_metrics_http_set(http, text, sizeof text - 1) == 0);
    S_CHECK("GET /metrics answers the text, format 0.0.4",
            s_fetch(port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer) == 0 &&
                s_status(answer, 200) && strstr(answer, "version=0.0.4") &&
                strstr(answer, "\r\n\r\n") && s_ends_with(answer, text));
    S_CHECK("another path is 404",
            s_fetch(port, "GET /other HTTP/1.0\r\n\r\n", answer, sizeof answer) == 0 &&
                s_status(answer, 404));
    S_CHECK("POST is refused", s_fetch(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
                                       answer, sizeof answer) == 0 &&
                                   s_status(answer, 405));
    ob_metrics_http_destroy(&http);
    S_CHECK("destroyed: NULL", http == NULL);
    S_CHECK("stopped: nothing listens",
            s_fetch(port, "GET /metrics HTTP/1.0\r\n\r\n", answer, sizeof answer) != 0);
#undef S_CHECK
    return failed ? -1 : 0;
}
