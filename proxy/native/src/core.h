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
enum { EV_DATA = 0, EV_DRAIN = 1, EV_CLOSE = 2, EV_CONNECT = 3, EV_ACCEPT = 4, EV_PASSED = 5 };

/* A backend's reply pass-through (pass.c): off (JavaScript frames what it reads), on, or finishing
 * the message under way before JavaScript takes the stream back at the next boundary. */
enum { PASS_OFF = 0, PASS_ON = 1, PASS_FINISH = 2 };
/* What a pass mask says of a message type: to JavaScript, forwarded, or forwarded as the last one
 * (a ReadyForQuery: its status goes to JavaScript with EV_PASSED and the pass ends). */
enum { PASS_NO = 0, PASS_FORWARD = 1, PASS_LAST = 2 };
#define PASS_MASKS 4

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
  int pass;       /* PASS_OFF, PASS_ON or PASS_FINISH */
  int pass_mask;  /* which of g.pass_masks says what is forwarded */
  int32_t pass_to;   /* a backend: the client its replies go to while passing (-1: none) */
  int32_t pass_from; /* a client: the backend passing to it (-1: none) */
  int32_t holding;   /* a client: the backend not read until this client's queue drains (-1: none) */
  int32_t held_by;   /* a backend: the client whose full queue holds its reading (-1: none) */
  uint32_t frame_left; /* passing: bytes of the message under way still to come */
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
  int in_flush; /* JavaScript is handling the queued events */
  uint8_t pass_masks[PASS_MASKS][256];
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

int pass_start(conn *backend, conn *client, int mask);
void pass_stop(conn *backend);
void pass_read(conn *c, size_t off, size_t n);
void pass_unlink(conn *c);
void pass_drained(conn *client);

int32_t listener_open(const struct sockaddr *sa, socklen_t len, int backlog);
int listener_port(int32_t id);
void listener_close(int32_t id);

#endif
