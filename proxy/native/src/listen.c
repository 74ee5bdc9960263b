/*
 * The native I/O core's listeners: it accepts clients itself (accept4 on Node's loop), so a new
 * connection costs no Node socket that would only be handed over and destroyed. Each accepted
 * connection is queued to JavaScript as EV_ACCEPT, before any of its data.
 */
#include "core.h"

typedef struct listener {
  uv_poll_t poll;
  uv_timer_t backoff; /* out of descriptors: accepting pauses, then retries */
  int fd;
  int32_t id;
} listener;

static listener *listeners[MAX_LISTENERS];
/* Ids are slot + MAX_LISTENERS × the slot's use count, so a closed listener's id is never handed out
 * again: an accept queued for it in the loop iteration it closed cannot reach its successor. */
static int32_t uses[MAX_LISTENERS];

static listener *find(int32_t id) {
  if (id < 0) return NULL;
  listener *l = listeners[id % MAX_LISTENERS];
  return l && l->id == id ? l : NULL;
}

/* Accepting at most this many per wake-up keeps one listener from starving the loop's other work. */
#define ACCEPT_BATCH 128
/* Out of descriptors (EMFILE/ENFILE): a level-triggered poll would spin; wait this long instead. */
#define BACKOFF_MS 100

static void on_accept(uv_poll_t *p, int status, int events);

static void resume(uv_timer_t *t) {
  listener *l = (listener *)t->data;
  uv_poll_start(&l->poll, UV_READABLE, on_accept);
}

static void accept_one(listener *l, int fd, const struct sockaddr_storage *ss) {
  if (prepare_fd(fd) < 0) {
    close(fd);
    return;
  }
  conn *c = new_conn(fd, 0);
  if (!c) {
    close(fd);
    return;
  }
  memcpy(&c->peer, ss, sizeof c->peer);
  queue_event(EV_ACCEPT, c->id, l->id, 0);
}

static void on_accept(uv_poll_t *p, int status, int events) {
  listener *l = (listener *)p->data;
  (void)events;
  if (status < 0) return;
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(l, fd, &ss);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      uv_poll_stop(&l->poll);
      uv_timer_start(&l->backoff, resume, BACKOFF_MS, 0);
    }
    return; /* EAGAIN: none left; anything else: the next wake-up tries again */
  }
}

/* Listens on `sa` → listener id, or -errno. */
int32_t listener_open(const struct sockaddr *sa, socklen_t len, int backlog) {
  int32_t slot = 0;
  while (slot < MAX_LISTENERS && listeners[slot]) slot++;
  if (slot == MAX_LISTENERS || uses[slot] == INT32_MAX / MAX_LISTENERS) return -EMFILE;
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* As Node's listen: an IPv6 wildcard takes IPv4 clients too. */
  if (sa->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(fd, sa, len) != 0 || listen(fd, backlog) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  listener *l = calloc(1, sizeof *l);
  if (!l || uv_poll_init_socket(g.loop, &l->poll, fd) != 0) {
    free(l);
    close(fd);
    return -ENOMEM;
  }
  uv_timer_init(g.loop, &l->backoff);
  l->fd = fd;
  l->id = slot + MAX_LISTENERS * uses[slot]++;
  l->poll.data = l;
  l->backoff.data = l;
  listeners[slot] = l;
  uv_poll_start(&l->poll, UV_READABLE, on_accept);
  return l->id;
}

/* The port a listener is bound to (for port 0), or -errno. */
int listener_port(int32_t id) {
  listener *l = find(id);
  if (!l) return -EBADF;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
}

static void on_timer_closed(uv_handle_t *h) {
  free(h->data);
}

static void on_poll_closed(uv_handle_t *h) {
  listener *l = (listener *)h->data;
  uv_close((uv_handle_t *)&l->backoff, on_timer_closed);
}

/* Stops accepting: the socket closes now (clients still in its backlog are refused, as by Node). */
void listener_close(int32_t id) {
  listener *l = find(id);
  if (!l) return;
  listeners[id % MAX_LISTENERS] = NULL;
  uv_poll_stop(&l->poll);
  uv_timer_stop(&l->backoff);
  close(l->fd);
  uv_close((uv_handle_t *)&l->poll, on_poll_closed);
}
