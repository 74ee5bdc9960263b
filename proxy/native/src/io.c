/*
 * DBProxy's native I/O core: plaintext TCP sockets on the libuv loop Node already runs. It reads
 * into one reusable buffer that JavaScript sees (no copy, no allocation per read), writes with
 * write(2) straight from JavaScript's buffers, queues only what the kernel did not take, and tells
 * JavaScript about data, drain, connect and close through one callback, once per loop iteration
 * with every event of that iteration. It moves bytes and nothing more: framing, accounting and
 * every decision stay in TypeScript (proxy/src/io/native-conn.ts).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

/* Event kinds in the queue JavaScript reads: (kind, id, value, offset). */
enum { EV_DATA = 0, EV_DRAIN = 1, EV_CLOSE = 2, EV_CONNECT = 3 };

/* Above this many queued bytes write() reports "full" (as a stream's highWaterMark). */
#define HIGH_WATER (64 * 1024)
/* A connection whose queue passes this is failed: JavaScript ignored backpressure. */
#define HARD_CAP (64 * 1024 * 1024)

typedef struct conn {
  uv_poll_t poll;
  int fd;
  int32_t id;
  int reading;    /* 0 while paused */
  int connecting; /* a non-blocking connect in progress */
  int ending;     /* shut down the write side once the queue is empty */
  int closing;    /* close requested; the poll handle is closing */
  int released;   /* handed back to JavaScript as a file descriptor: do not close it */
  int need_drain; /* write() said "full": tell JavaScript when the queue empties */
  int peer_done;  /* the peer closed its side: close once the queue is out (as Node's sockets do) */
  int error;      /* errno that ends the connection, reported with EV_CLOSE */
  char *out;
  size_t out_off, out_len, out_cap;
} conn;

static struct {
  napi_env env;
  napi_ref callback;
  napi_ref read_ref;
  napi_async_context async;
  napi_ref resource;
  char *read_buf;
  size_t read_len;
  size_t read_off; /* where the next read goes: earlier reads are still queued for JavaScript */
  int32_t *events;
  int32_t nevents, max_events;
  napi_ref events_ref;
  uv_check_t check;
  conn **conns;
  int32_t nconns;
  int32_t cap;
  int32_t *free_ids;
  int32_t nfree;
  uv_loop_t *loop;
} g;

/* Calls JavaScript once with every event queued (4 int32 each: kind, id, value, offset). */
static void flush_events(void) {
  if (g.nevents == 0) return;
  napi_env env = g.env;
  napi_handle_scope scope;
  int32_t n = g.nevents;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[1], result;
  napi_get_reference_value(env, g.callback, &cb);
  napi_get_reference_value(env, g.resource, &recv);
  napi_create_int32(env, n, &argv[0]);
  /* make_callback runs the microtask and nextTick queues afterwards, as Node's own sockets do. */
  napi_status st = napi_make_callback(env, g.async, recv, cb, 1, argv, &result);
  g.nevents = 0;
  g.read_off = 0;
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

/* Queues an event for the next call into JavaScript (at the end of this loop iteration's poll phase). */
static void queue_event(int32_t kind, int32_t id, int32_t value, int32_t offset) {
  if (g.nevents == g.max_events) flush_events();
  int32_t *e = g.events + 4 * g.nevents++;
  e[0] = kind;
  e[1] = id;
  e[2] = value;
  e[3] = offset;
}

static void on_check(uv_check_t *h) {
  (void)h;
  flush_events();
}

static conn *lookup(int32_t id) {
  if (id < 0 || id >= g.nconns) return NULL;
  conn *c = g.conns[id];
  return c && !c->closing ? c : NULL;
}

static int32_t alloc_id(conn *c) {
  if (g.nfree > 0) {
    int32_t id = g.free_ids[--g.nfree];
    g.conns[id] = c;
    return id;
  }
  if (g.nconns == g.cap) {
    int32_t cap = g.cap == 0 ? 64 : g.cap * 2;
    conn **grown = realloc(g.conns, sizeof(conn *) * (size_t)cap);
    int32_t *grown_free = realloc(g.free_ids, sizeof(int32_t) * (size_t)cap);
    if (!grown || !grown_free) {
      if (grown) g.conns = grown;
      if (grown_free) g.free_ids = grown_free;
      return -1;
    }
    g.conns = grown;
    g.free_ids = grown_free;
    g.cap = cap;
  }
  g.conns[g.nconns] = c;
  return g.nconns++;
}

static void on_closed(uv_handle_t *h) {
  conn *c = (conn *)h->data;
  int32_t id = c->id;
  int released = c->released;
  int error = c->error;
  free(c->out);
  free(c);
  g.conns[id] = NULL;
  g.free_ids[g.nfree++] = id;
  /* Closes run after this iteration's check: deliver what is queued, then the close, now. */
  if (!released) {
    queue_event(EV_CLOSE, id, error, 0);
    flush_events();
  }
}

static void close_conn(conn *c, int error) {
  if (c->closing) return;
  c->closing = 1;
  if (!c->error) c->error = error;
  uv_poll_stop(&c->poll);
  if (!c->released) close(c->fd);
  uv_close((uv_handle_t *)&c->poll, on_closed);
}

static void update_poll(conn *c);

static void on_poll(uv_poll_t *p, int status, int events);

static void update_poll(conn *c) {
  if (c->closing) return;
  int ev = 0;
  if (c->reading && !c->connecting) ev |= UV_READABLE;
  if (c->connecting || c->out_len > c->out_off) ev |= UV_WRITABLE;
  if (ev == 0) uv_poll_stop(&c->poll);
  else if (uv_poll_start(&c->poll, ev, on_poll) != 0) close_conn(c, EIO);
}

/* Writes what is queued; 0 when all of it went, 1 when some is left, -1 on an error. */
static int flush_out(conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      if (!c->error) c->error = errno; /* keep the first cause (a hard-cap ENOBUFS) */
      return -1;
    }
    c->out_off += (size_t)n;
  }
  c->out_off = c->out_len = 0;
  return 0;
}

static void after_flush(conn *c) {
  if (c->out_len > c->out_off) return;
  if (c->peer_done) return close_conn(c, 0);
  if (c->ending) shutdown(c->fd, SHUT_WR);
  if (c->need_drain) {
    c->need_drain = 0;
    queue_event(EV_DRAIN, c->id, 0, 0);
  }
}

/* Reads go one after another into the shared buffer until JavaScript has seen them. */
#define MIN_READ_ROOM (16 * 1024)

static void on_readable(conn *c) {
  if (g.read_len - g.read_off < MIN_READ_ROOM) flush_events();
  if (c->closing || !c->reading) return; /* JavaScript closed or paused it just now */
  ssize_t n;
  do n = read(c->fd, g.read_buf + g.read_off, g.read_len - g.read_off);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    queue_event(EV_DATA, c->id, (int32_t)n, (int32_t)g.read_off);
    g.read_off += (size_t)n;
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n == 0 && c->out_len > c->out_off) {
    /* The peer is done sending, not necessarily reading: what is queued still goes out first. */
    c->peer_done = 1;
    c->reading = 0;
    update_poll(c);
    return;
  }
  close_conn(c, n == 0 ? 0 : errno);
}

/* The error pending on the socket (libuv reports any POLLERR as EBADF). */
static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err;
}

static void on_poll(uv_poll_t *p, int status, int events) {
  conn *c = (conn *)p->data;
  if (c->closing) return;
  if (status < 0) {
    int err = socket_error(c->fd);
    return close_conn(c, err ? err : -status);
  }
  if (c->connecting && (events & UV_WRITABLE)) {
    int err = socket_error(c->fd);
    if (err) return close_conn(c, err);
    c->connecting = 0;
    update_poll(c);
    if (c->ending && c->out_len == c->out_off) shutdown(c->fd, SHUT_WR);
    queue_event(EV_CONNECT, c->id, 0, 0);
    return;
  }
  if (events & UV_WRITABLE) {
    int r = flush_out(c);
    if (r < 0) return close_conn(c, c->error);
    update_poll(c);
    if (r == 0) after_flush(c);
    if (c->closing) return;
  }
  if ((events & (UV_READABLE | UV_DISCONNECT)) && c->reading) on_readable(c);
}

static conn *new_conn(int fd, int connecting) {
  conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->fd = fd;
  c->reading = 1;
  c->connecting = connecting;
  c->id = alloc_id(c);
  if (c->id < 0 || uv_poll_init_socket(g.loop, &c->poll, fd) != 0) {
    if (c->id >= 0) {
      g.conns[c->id] = NULL;
      g.free_ids[g.nfree++] = c->id;
    }
    free(c);
    return NULL;
  }
  c->poll.data = c;
  update_poll(c);
  return c;
}

static int prepare_fd(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return 0;
}

/* ------------------------------------------------------------------ JavaScript API */

#define ARGS(n)                                                           \
  size_t argc = n;                                                        \
  napi_value argv[n > 0 ? n : 1];                                         \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL

static napi_value int_value(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static int32_t arg_int(napi_env env, napi_value v) {
  int32_t n = -1;
  napi_get_value_int32(env, v, &n);
  return n;
}

/*
 * init(readBuffer: ArrayBuffer, events: ArrayBuffer, callback(count)): events are 4 int32 each
 * (kind, id, value, offset in readBuffer for data); once per loop iteration, or sooner when full.
 */
static napi_value js_init(napi_env env, napi_callback_info info) {
  ARGS(3);
  void *data, *events;
  size_t len, elen;
  if (argc < 3 || g.nevents > 0 || napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok || len < 2 * MIN_READ_ROOM ||
      napi_get_arraybuffer_info(env, argv[1], &events, &elen) != napi_ok || elen < 16) {
    napi_throw_type_error(env, NULL, "init(readBuffer: ArrayBuffer, events: ArrayBuffer, callback)");
    return NULL;
  }
  if (g.callback) napi_delete_reference(env, g.callback);
  if (g.read_ref) napi_delete_reference(env, g.read_ref);
  if (g.events_ref) napi_delete_reference(env, g.events_ref);
  napi_create_reference(env, argv[2], 1, &g.callback);
  napi_create_reference(env, argv[0], 1, &g.read_ref);
  napi_create_reference(env, argv[1], 1, &g.events_ref);
  g.read_buf = data;
  g.read_len = len;
  g.read_off = 0;
  g.events = events;
  g.max_events = (int32_t)(elen / 16);
  g.env = env;
  if (!g.async) {
    napi_value resource, name;
    napi_create_object(env, &resource);
    napi_create_reference(env, resource, 1, &g.resource);
    napi_create_string_utf8(env, "dbproxy.io", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, resource, name, &g.async);
    napi_get_uv_event_loop(env, &g.loop);
    /* Queued events go to JavaScript right after the poll phase; the check keeps no loop alive. */
    uv_check_init(g.loop, &g.check);
    uv_check_start(&g.check, on_check);
    uv_unref((uv_handle_t *)&g.check);
  }
  return NULL;
}

/* adopt(fd) → id: takes a copy of an accepted socket (the caller closes its own). */
static napi_value js_adopt(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = dup(arg_int(env, argv[0]));
  if (fd < 0 || prepare_fd(fd) < 0) {
    if (fd >= 0) close(fd);
    return int_value(env, -errno);
  }
  conn *c = new_conn(fd, 0);
  if (!c) {
    close(fd);
    return int_value(env, -ENOMEM);
  }
  return int_value(env, c->id);
}

/* connect(ip: string, port) → id, or -errno; EV_CONNECT (or EV_CLOSE with the error) follows. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  ARGS(2);
  char ip[64];
  size_t iplen = 0;
  if (napi_get_value_string_utf8(env, argv[0], ip, sizeof ip, &iplen) != napi_ok) return int_value(env, -EINVAL);
  int port = arg_int(env, argv[1]);
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    sl = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    sl = sizeof *a6;
  } else {
    return int_value(env, -EINVAL);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return int_value(env, -errno);
  prepare_fd(fd);
  if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return int_value(env, -e);
  }
  conn *c = new_conn(fd, 1);
  if (!c) {
    close(fd);
    return int_value(env, -ENOMEM);
  }
  return int_value(env, c->id);
}

/* write(id, buffer) → 1 while under the high-water mark, 0 when full (EV_DRAIN follows), -1 if gone. */
static napi_value js_write(napi_env env, napi_callback_info info) {
  ARGS(2);
  conn *c = lookup(arg_int(env, argv[0]));
  void *data;
  size_t len;
  if (!c || c->ending || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return int_value(env, -1);
  if (c->error) return int_value(env, -1);
  size_t off = 0;
  if (c->out_len == c->out_off && !c->connecting) {
    while (off < len) {
      ssize_t n = write(c->fd, (char *)data + off, len - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        /* The peer is gone: reading sees it and closes the connection. */
        c->error = errno;
        shutdown(c->fd, SHUT_RDWR);
        return int_value(env, -1);
      }
      off += (size_t)n;
    }
    if (off == len) return int_value(env, 1);
  }
  size_t rest = len - off;
  size_t queued = c->out_len - c->out_off;
  if (queued + rest > HARD_CAP) {
    c->error = ENOBUFS;
    shutdown(c->fd, SHUT_RDWR);
    return int_value(env, -1);
  }
  if (c->out_off > 0) {
    memmove(c->out, c->out + c->out_off, queued);
    c->out_len = queued;
    c->out_off = 0;
  }
  if (c->out_len + rest > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + rest) cap *= 2;
    char *grown = realloc(c->out, cap);
    if (!grown) {
      c->error = ENOMEM;
      shutdown(c->fd, SHUT_RDWR);
      return int_value(env, -1);
    }
    c->out = grown;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, (char *)data + off, rest);
  c->out_len += rest;
  update_poll(c);
  if (c->out_len > HIGH_WATER) {
    c->need_drain = 1;
    return int_value(env, 0);
  }
  return int_value(env, 1);
}

/* pause(id) / resume(id): stop and restart reading. */
static napi_value set_reading(napi_env env, napi_callback_info info, int reading) {
  ARGS(1);
  conn *c = lookup(arg_int(env, argv[0]));
  if (c && c->reading != reading) {
    c->reading = reading;
    update_poll(c);
  }
  return NULL;
}

static napi_value js_pause(napi_env env, napi_callback_info info) {
  return set_reading(env, info, 0);
}

static napi_value js_resume(napi_env env, napi_callback_info info) {
  return set_reading(env, info, 1);
}

/* end(id): no more writes; the write side shuts down once the queue is out. */
static napi_value js_end(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = lookup(arg_int(env, argv[0]));
  if (!c || c->ending) return NULL;
  c->ending = 1;
  if (!c->connecting && c->out_len == c->out_off) shutdown(c->fd, SHUT_WR);
  return NULL;
}

/* destroy(id): closes now; EV_CLOSE follows from the loop. */
static napi_value js_destroy(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = lookup(arg_int(env, argv[0]));
  if (c) close_conn(c, 0);
  return NULL;
}

/* release(id) → fd: stops watching the socket and gives it to the caller (a TLS upgrade). */
static napi_value js_release(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = lookup(arg_int(env, argv[0]));
  if (!c || c->out_len > c->out_off || c->connecting) return int_value(env, -1);
  int fd = c->fd;
  c->released = 1;
  close_conn(c, 0);
  return int_value(env, fd);
}

/* queued(id) → bytes waiting for the kernel to take them. */
static napi_value js_queued(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = lookup(arg_int(env, argv[0]));
  return int_value(env, c ? (int64_t)(c->out_len - c->out_off) : 0);
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
      {"adopt", NULL, js_adopt, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, js_resume, NULL, NULL, NULL, napi_default, NULL},
      {"end", NULL, js_end, NULL, NULL, NULL, napi_default, NULL},
      {"destroy", NULL, js_destroy, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
      {"queued", NULL, js_queued, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
