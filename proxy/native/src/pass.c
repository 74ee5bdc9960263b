/*
 * Reply pass-through: while JavaScript has armed it, a backend's replies are framed here by header
 * only and written straight to its client, up to the first message the mask hands to JavaScript
 * (an error, a parameter change, anything its session must decide on) or the ReadyForQuery that
 * ends the request, whose status alone goes to JavaScript (EV_PASSED). The stream changes hands
 * only at message boundaries, so JavaScript's framer never sees half a message it did not start.
 * A client whose queue passes the high-water mark holds its backend's reading until it drains.
 */
#include "core.h"

static conn *raw(int32_t id) {
  return id >= 0 && id < g.nconns ? g.conns[id] : NULL;
}

/* Whether an EV_DATA of `id` waits in the queue, unseen by JavaScript (it must see it first). */
static int data_queued(int32_t id) {
  if (g.in_flush) return 0; /* JavaScript arms at the end of a batch: every event was delivered */
  for (int32_t i = 0; i < g.nevents; i++)
    if (g.events[4 * i] == EV_DATA && g.events[4 * i + 1] == id) return 1;
  return 0;
}

/* Arms the pass of `b`'s replies to `client`: 1, or 0 when it cannot be armed now. */
int pass_start(conn *b, conn *client, int mask) {
  if (mask < 0 || mask >= PASS_MASKS || b == client || b->pass == PASS_FINISH || data_queued(b->id)) return 0;
  if (b->pass == PASS_ON && b->pass_to != client->id) return 0;
  if (client->pass_from >= 0 && client->pass_from != b->id) return 0;
  b->pass = PASS_ON;
  b->pass_mask = mask;
  b->pass_to = client->id;
  client->pass_from = b->id;
  return 1;
}

static void unlink_client(conn *b) {
  conn *client = raw(b->pass_to);
  if (client && client->pass_from == b->id) client->pass_from = -1;
  b->pass_to = -1;
}

/* Ends the pass: at once between messages, else after the message under way. */
void pass_stop(conn *b) {
  if (b->pass == PASS_OFF) return;
  b->pass = b->frame_left > 0 ? PASS_FINISH : PASS_OFF;
  if (b->pass == PASS_OFF) unlink_client(b);
}

static void hold(conn *b, conn *client) {
  if (b->held_by >= 0) return;
  b->held_by = client->id;
  client->holding = b->id;
  update_poll(b);
}

/* `client`'s queue is out (or it is gone): the backend it held reads again. */
void pass_drained(conn *client) {
  conn *b = raw(client->holding);
  client->holding = -1;
  if (!b || b->held_by != client->id) return;
  b->held_by = -1;
  update_poll(b);
}

/* Before `c` closes: nothing refers to its id any more (ids are reused). */
void pass_unlink(conn *c) {
  if (c->pass_from >= 0) {
    conn *b = raw(c->pass_from);
    c->pass_from = -1;
    if (b && b->pass_to == c->id) {
      b->pass_to = -1; /* what is left of the message under way is dropped */
      if (b->pass == PASS_ON) b->pass = b->frame_left > 0 ? PASS_FINISH : PASS_OFF;
    }
  }
  if (c->pass_to >= 0) unlink_client(c);
  pass_drained(c);
  if (c->held_by >= 0) {
    conn *client = raw(c->held_by);
    if (client && client->holding == c->id) client->holding = -1;
    c->held_by = -1;
  }
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * How much of `n` bytes read goes to the client: whole messages the mask forwards, the rest of one
 * under way, a last one. `status` gets the last one's status byte (else stays -1).
 */
static size_t frame(conn *c, const uint8_t *buf, size_t n, int32_t *status) {
  const uint8_t *mask = g.pass_masks[c->pass_mask];
  size_t pos = 0;
  while (pos < n) {
    if (c->frame_left > 0) {
      size_t take = n - pos < c->frame_left ? n - pos : c->frame_left;
      pos += take;
      c->frame_left -= (uint32_t)take;
      continue;
    }
    if (c->pass != PASS_ON || n - pos < 5) break; /* a split header goes to JavaScript's framer */
    uint8_t m = mask[buf[pos]];
    uint32_t len = be32(buf + pos + 1);
    if (m == PASS_NO || len < 4 || len > 0x7fffffff) break; /* bad lengths: JavaScript's error */
    if (m == PASS_LAST) {
      if (len != 5 || n - pos < 6) break;
      *status = buf[pos + 5];
      return pos + 6;
    }
    c->frame_left = len + 1;
  }
  return pos;
}

/* `n` bytes of a passing backend read at `off` in the shared buffer. */
void pass_read(conn *c, size_t off, size_t n) {
  const uint8_t *buf = (const uint8_t *)g.read_buf + off;
  int32_t status = -1;
  size_t pos = frame(c, buf, n, &status);
  conn *client = lookup(c->pass_to);
  if (pos > 0 && client && conn_write(client, (const char *)buf, pos) == 0) hold(c, client);
  if (c->frame_left == 0 && (c->pass == PASS_FINISH || status >= 0 || pos < n)) {
    c->pass = PASS_OFF;
    unlink_client(c);
  }
  if (status >= 0) queue_event(EV_PASSED, c->id, status, 0);
  if (pos < n) {
    queue_event(EV_DATA, c->id, (int32_t)(n - pos), (int32_t)(off + pos));
    g.read_off = off + n;
  }
}
