/*
 * DBProxy's native I/O core: plaintext TCP sockets on the libuv loop Node already runs. It reads
 * into one reusable buffer that JavaScript sees (no copy, no allocation per read), writes with
 * write(2) straight from JavaScript's buffers, queues only what the kernel did not take, and tells
 * JavaScript about data, drain, connect and close through one callback, once per loop iteration
 * with every event of that iteration. It moves bytes and nothing more: framing, accounting and
 * every decision stay in TypeScript (proxy/src/io/native-conn.ts).
 *
 * This file is the JavaScript API (Node-API); loop.c is the loop side, listen.c the listeners, core.h
 * what they share.
 */
#include "core.h"

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

/* A new connection on `fd` (closed if it cannot be watched) → its id, or -ENOMEM. */
static napi_value watch(napi_env env, int fd, int connecting) {
  conn *c = new_conn(fd, connecting);
  if (!c) {
    close(fd);
    return int_value(env, -ENOMEM);
  }
  return int_value(env, c->id);
}

/* adopt(fd) → id: takes a copy of an accepted socket (the caller closes its own). */
static napi_value js_adopt(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = dup(arg_int(env, argv[0]));
  if (fd < 0 || prepare_fd(fd) < 0) {
    if (fd >= 0) close(fd);
    return int_value(env, -errno);
  }
  return watch(env, fd, 0);
}

/* (ip: string, port) → a socket address in `ss` and its length, or 0 if `ip` is not a numeric address. */
static socklen_t address_arg(napi_env env, napi_value ipv, napi_value portv, struct sockaddr_storage *ss) {
  char ip[64];
  size_t iplen = 0;
  if (napi_get_value_string_utf8(env, ipv, ip, sizeof ip, &iplen) != napi_ok) return 0;
  int port = arg_int(env, portv);
  if (port < 0 || port > 65535) return 0;
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return sizeof *a4;
  }
  if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    return sizeof *a6;
  }
  return 0;
}

/* connect(ip: string, port) → id, or -errno; EV_CONNECT (or EV_CLOSE with the error) follows. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct sockaddr_storage ss;
  socklen_t sl = address_arg(env, argv[0], argv[1], &ss);
  if (sl == 0) return int_value(env, -EINVAL);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return int_value(env, -errno);
  prepare_fd(fd);
  if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return int_value(env, -e);
  }
  return watch(env, fd, 1);
}

/* listen(ip: string, port, backlog) → listener id, or -errno; EV_ACCEPT for each client. */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct sockaddr_storage ss;
  socklen_t sl = address_arg(env, argv[0], argv[1], &ss);
  if (sl == 0) return int_value(env, -EINVAL);
  int backlog = arg_int(env, argv[2]);
  return int_value(env, listener_open((struct sockaddr *)&ss, sl, backlog > 0 ? backlog : 511));
}

/* listenPort(listener) → the port it is bound to, or -errno. */
static napi_value js_listen_port(napi_env env, napi_callback_info info) {
  ARGS(1);
  return int_value(env, listener_port(arg_int(env, argv[0])));
}

/* unlisten(listener): stops accepting and closes the socket. */
static napi_value js_unlisten(napi_env env, napi_callback_info info) {
  ARGS(1);
  listener_close(arg_int(env, argv[0]));
  return NULL;
}

/* peer(id) → "address port" of an accepted connection ("" for another). */
static napi_value js_peer(napi_env env, napi_callback_info info) {
  ARGS(1);
  conn *c = lookup(arg_int(env, argv[0]));
  char text[INET6_ADDRSTRLEN + 8] = "";
  if (c && (c->peer.sa.sa_family == AF_INET || c->peer.sa.sa_family == AF_INET6)) {
    int v4 = c->peer.sa.sa_family == AF_INET;
    const void *addr = v4 ? (const void *)&c->peer.in4.sin_addr : (const void *)&c->peer.in6.sin6_addr;
    if (inet_ntop(c->peer.sa.sa_family, addr, text, INET6_ADDRSTRLEN)) {
      size_t n = strlen(text);
      snprintf(text + n, sizeof text - n, " %u", (unsigned)ntohs(v4 ? c->peer.in4.sin_port : c->peer.in6.sin6_port));
    }
  }
  napi_value r;
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &r);
  return r;
}

/* write(id, buffer) → 1 while under the high-water mark, 0 when full (EV_DRAIN follows), -1 if gone. */
static napi_value js_write(napi_env env, napi_callback_info info) {
  ARGS(2);
  conn *c = lookup(arg_int(env, argv[0]));
  void *data;
  size_t len;
  if (!c || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return int_value(env, -1);
  return int_value(env, conn_write(c, data, len));
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
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
      {"listenPort", NULL, js_listen_port, NULL, NULL, NULL, napi_default, NULL},
      {"unlisten", NULL, js_unlisten, NULL, NULL, NULL, napi_default, NULL},
      {"peer", NULL, js_peer, NULL, NULL, NULL, napi_default, NULL},
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
