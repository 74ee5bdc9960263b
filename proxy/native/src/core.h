/* The native I/O core's shared definitions: a connection, the core's state, what loop.c offers api.c. */
#ifndef DBPROXY_CORE_H
#define DBPROXY_CORE_H

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
void on_check(uv_check_t *h);
conn *lookup(int32_t id);
conn *new_conn(int fd, int connecting);
int prepare_fd(int fd);
void update_poll(conn *c);
void close_conn(conn *c, int error);
int conn_write(conn *c, const char *data, size_t len);

#endif
