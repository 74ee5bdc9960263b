/* The native I/O core's shared definitions: a connection, the core's state, what loop.c and listen.c offer api.c. */
#ifndef DBPROXY_CORE_H
#define DBPROXY_CORE_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

/* Event kinds in the queue JavaScript reads: (kind, id, value, offset); EV_ACCEPT: (kind, new conn id, listener id, 0). */
enum { EV_DATA = 0, EV_DRAIN = 1, EV_CLOSE = 2, EV_CONNECT = 3, EV_ACCEPT = 4 };

/* Listening sockets the core accepts on (a proxy has one or two: the writer's and the reader's). */
#define MAX_LISTENERS 16

/* Above this many queued bytes write() reports "full" (as a stream's highWaterMark). */
#define HIGH_WATER (64 * 1024)
/* A connection whose queue passes this is failed: JavaScript ignored backpressure. */
#define HARD_CAP (64 * 1024 * 1024)
/* Reads go one after another into the shared buffer until JavaScript has seen them; below this
 * much room left, what is queued goes to JavaScript first. */
#define MIN_READ_ROOM (16 * 1024)

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
  union {         /* the peer of an accepted connection (JavaScript asks once, with peer()) */
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } peer;
  char *out;
  size_t out_off, out_len, out_cap;
} conn;

struct core {
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
};

extern struct core g;


void flush_events(void);
void queue_event(int32_t kind, int32_t id, int32_t value, int32_t offset);
void on_check(uv_check_t *h);
conn *lookup(int32_t id);
conn *new_conn(int fd, int connecting);
int prepare_fd(int fd);
void update_poll(conn *c);
void close_conn(conn *c, int error);
int conn_write(conn *c, const char *data, size_t len);

int32_t listener_open(const struct sockaddr *sa, socklen_t len, int backlog);
int listener_port(int32_t id);
void listener_close(int32_t id);

#endif
