/*
 * The native I/O core's loop side: connections watched with uv_poll, reads into the shared buffer,
 * writes with bounded queues, and the event queue JavaScript reads once per loop iteration.
 */
#include "core.h"

struct core g;

/* Calls JavaScript once with every event queued (4 int32 each: kind, id, value, offset). */
void flush_events(void) {
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
void queue_event(int32_t kind, int32_t id, int32_t value, int32_t offset) {
  if (g.nevents == g.max_events) flush_events();
  int32_t *e = g.events + 4 * g.nevents++;
  e[0] = kind;
  e[1] = id;
  e[2] = value;
  e[3] = offset;
}

void on_check(uv_check_t *h) {
  (void)h;
  flush_events();
}

conn *lookup(int32_t id) {
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

void close_conn(conn *c, int error) {
  if (c->closing) return;
  c->closing = 1;
  if (!c->error) c->error = error;
  uv_poll_stop(&c->poll);
  if (!c->released) close(c->fd);
  uv_close((uv_handle_t *)&c->poll, on_closed);
}

static void on_poll(uv_poll_t *p, int status, int events);

void update_poll(conn *c) {
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

conn *new_conn(int fd, int connecting) {
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

int prepare_fd(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return 0;
}

/* No more writes on `c`: both directions are shut, so the loop sees the end and closes it — or,
 * if nothing reads it now (JavaScript paused it), it is closed here, as no read would see the end. */
static int fail_writes(conn *c, int error) {
  c->error = error;
  shutdown(c->fd, SHUT_RDWR);
  if (!c->reading) close_conn(c, error);
  return -1;
}

/* Writes `len` bytes, queueing what the kernel does not take: 1 under the high-water mark, 0 when
 * full (EV_DRAIN follows), -1 if the connection cannot take bytes any more. */
int conn_write(conn *c, const char *data, size_t len) {
  if (c->ending || c->error) return -1;
  size_t off = 0;
  if (c->out_len == c->out_off && !c->connecting) {
    while (off < len) {
      ssize_t n = write(c->fd, data + off, len - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return fail_writes(c, errno); /* the peer is gone: reading sees it and closes */
      }
      off += (size_t)n;
    }
    if (off == len) return 1;
  }
  size_t rest = len - off;
  size_t queued = c->out_len - c->out_off;
  if (queued + rest > HARD_CAP) return fail_writes(c, ENOBUFS);
  if (c->out_off > 0) {
    memmove(c->out, c->out + c->out_off, queued);
    c->out_len = queued;
    c->out_off = 0;
  }
  if (c->out_len + rest > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + rest) cap *= 2;
    char *grown = realloc(c->out, cap);
    if (!grown) return fail_writes(c, ENOMEM);
    c->out = grown;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, data + off, rest);
  c->out_len += rest;
  update_poll(c);
  if (c->out_len <= HIGH_WATER) return 1;
  c->need_drain = 1;
  return 0;
}

