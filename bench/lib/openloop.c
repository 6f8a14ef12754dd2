// openloop: the bench's open-loop (wrk2-style) load generator; open-loop.mjs runs it and says
// what the three latencies mean. A single-threaded epoll loop over non-blocking keep-alive
// sockets: a few µs of CPU of its own per request, the rest being the kernel's loopback TCP and
// wake-ups, which any client pays (a Node client cost 55-90 µs per request on the 2-vCPU bench
// box, which it shares with the server under test and Redis).
//
//   openloop --host H --port P --path /v1/heartbeats --token T --rate R --duration S
//            --max-connections 256 --warm-connections 16 --bodies FILE
//
// Requests are picked up by a tick on every 1 ms boundary after the start; a tick that would find
// nothing due is slept through, which changes nothing but the wake-ups. FILE holds one request
// body per line, used in order (wrapping around). One JSON object goes to stdout; usage errors and
// an unreachable server exit non-zero with a message on stderr.
// Build: cc -O2 -o openloop openloop.c (Linux, libc only).
#define _GNU_SOURCE
#include <errno.h>
#include <math.h> // NAN and isfinite only (macros): no -lm
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 1000000LL        // the 1 ms tick
#define DRAIN_NS 5000000000LL    // answers are awaited up to 5 s after the last request is issued
#define WARM_TIMEOUT_NS 10000000000LL
#define READ_CHUNK 16384
#define MAX_HEADER_BYTES (1 << 20)
#define MAX_EVENTS 256

enum { CONNECTING, OPEN };

typedef struct conn {
  int fd;
  int state;
  bool busy;     // a request is in flight
  bool dead;     // closed; freed after the current event batch
  bool want_out; // EPOLLOUT armed: part of the request is still unwritten
  int idle_pos;  // index in the idle stack, -1 when not idle
  double due_rel; // scheduled instant, ns after start
  int64_t pickup_ns, write_ns;
  char *in;
  size_t in_len, in_cap;
  long need; // bytes of the response being read (headers + body), -1 until its headers are in
  int status;
  char *out;
  size_t out_len, out_off;
  struct conn *prev, *next; // every live connection (connecting or open)
  struct conn *next_dead;
} conn_t;

typedef struct {
  const char *p;
  size_t len;
} body_t;

static int epfd = -1;
static struct sockaddr_storage addr;
static socklen_t addr_len;
static char *head;
static size_t head_len;
static size_t out_cap;
static body_t *bodies;
static size_t nbodies;

static int64_t total;
static int64_t start_ns;
static double interval_ns;
static int64_t scheduled, sent, completed, non2xx, socket_errors, late_starts;
static double *from_pickup, *from_due, *from_write;
static int max_connections;
static int open_count, opening;
static conn_t **idle;
static int idle_len, idle_cap;
static double *queue_due; // FIFO of requests waiting for a connection: [due_rel, pickup_ns]
static int64_t *queue_pickup;
static int64_t queue_head, queue_tail;
static conn_t *live;
static conn_t *graveyard;
static int last_connect_error;
static bool warm_phase;

static void die(const char *fmt, const char *arg) {
  fprintf(stderr, "openloop: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("%s", "out of memory");
  return p;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// ---- connections -----------------------------------------------------------------------------

static void idle_push(conn_t *c) {
  if (idle_len == idle_cap) {
    idle_cap = idle_cap ? idle_cap * 2 : 64;
    idle = realloc(idle, sizeof *idle * idle_cap);
    if (!idle) die("%s", "out of memory");
  }
  c->idle_pos = idle_len;
  idle[idle_len++] = c;
}

static conn_t *idle_pop(void) {
  if (!idle_len) return NULL;
  conn_t *c = idle[--idle_len];
  c->idle_pos = -1;
  return c;
}

static void idle_remove(conn_t *c) { // the order of the others is kept
  if (c->idle_pos < 0) return;
  memmove(&idle[c->idle_pos], &idle[c->idle_pos + 1], sizeof *idle * (idle_len - c->idle_pos - 1));
  idle_len--;
  for (int i = c->idle_pos; i < idle_len; i++) idle[i]->idle_pos = i;
  c->idle_pos = -1;
}

static void drop(conn_t *c) {
  if (c->dead) return;
  c->dead = true;
  if (c->busy) socket_errors++; // the request in flight is lost (not retried)
  c->busy = false;
  if (c->state == CONNECTING) opening--;
  else open_count--;
  idle_remove(c);
  close(c->fd); // also leaves the epoll set
  if (c->prev) c->prev->next = c->next;
  else live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->next_dead = graveyard;
  graveyard = c;
}

static void bury(void) {
  while (graveyard) {
    conn_t *c = graveyard;
    graveyard = c->next_dead;
    free(c->in);
    free(c->out);
    free(c);
  }
}

static void set_events(conn_t *c, uint32_t events) {
  struct epoll_event ev = { .events = events, .data.ptr = c };
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) drop(c);
}

static conn_t *open_conn(void) {
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    last_connect_error = errno;
    return NULL;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, addr_len) < 0 && errno != EINPROGRESS) {
    last_connect_error = errno;
    close(fd);
    return NULL;
  }
  conn_t *c = xmalloc(sizeof *c);
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->state = CONNECTING;
  c->idle_pos = -1;
  c->need = -1;
  c->in_cap = READ_CHUNK * 2;
  c->in = xmalloc(c->in_cap);
  c->out = xmalloc(out_cap);
  // Completion (or failure) of the connect shows as writable, also when it succeeded at once.
  struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    last_connect_error = errno;
    close(fd);
    free(c->in);
    free(c->out);
    free(c);
    return NULL;
  }
  c->next = live;
  if (live) live->prev = c;
  live = c;
  opening++;
  return c;
}

static void flush(conn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->want_out) {
        c->want_out = true;
        set_events(c, EPOLLIN | EPOLLOUT);
      }
      return;
    } else {
      drop(c);
      return;
    }
  }
  c->out_len = c->out_off = 0;
  if (c->want_out) {
    c->want_out = false;
    set_events(c, EPOLLIN);
  }
}

static void send_request(conn_t *c, double due_rel, int64_t pickup_ns) {
  const body_t *b = &bodies[sent % (int64_t)nbodies];
  memcpy(c->out, head, head_len);
  char digits[24];
  int nd = 0;
  size_t len = b->len;
  do digits[nd++] = (char)('0' + len % 10); while ((len /= 10) > 0);
  size_t n = head_len;
  while (nd) c->out[n++] = digits[--nd];
  memcpy(c->out + n, "\r\n\r\n", 4);
  n += 4;
  memcpy(c->out + n, b->p, b->len);
  c->out_len = n + b->len;
  c->out_off = 0;
  c->busy = true;
  c->due_rel = due_rel;
  c->pickup_ns = pickup_ns;
  c->write_ns = now_ns();
  sent++;
  flush(c);
}

// A connection that becomes free takes the oldest waiting request, else goes idle.
static void release(conn_t *c) {
  if (queue_head < queue_tail) {
    late_starts++;
    double due_rel = queue_due[queue_head];
    int64_t pickup_ns = queue_pickup[queue_head];
    queue_head++;
    send_request(c, due_rel, pickup_ns);
  } else {
    c->busy = false;
    idle_push(c);
  }
}

static void on_connected(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) {
    last_connect_error = err;
    drop(c); // a failed connect: the waiting requests stay queued
    return;
  }
  c->state = OPEN;
  opening--;
  open_count++;
  set_events(c, EPOLLIN);
  if (c->dead) return;
  if (!warm_phase) release(c); // warm connections go idle in creation order, see main()
}

// ---- responses -------------------------------------------------------------------------------

static bool header_is(const char *line, const char *end, const char *name) {
  size_t n = strlen(name);
  return (size_t)(end - line) >= n && strncasecmp(line, name, n) == 0;
}

// Status, and the length of the whole response, from its headers [p, p + len).
static long parse_head(const char *p, size_t len, int *status) {
  *status = 0;
  if (len >= 12 && p[9] >= '0' && p[9] <= '9' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' &&
      p[11] <= '9') {
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  }
  long body = 0;
  const char *end = p + len;
  for (const char *line = memchr(p, '\n', len); line; line = memchr(line, '\n', (size_t)(end - line))) {
    line++;
    if (header_is(line, end, "content-length:")) {
      const char *q = line + 15;
      while (q < end && (*q == ' ' || *q == '\t')) q++;
      body = 0;
      while (q < end && *q >= '0' && *q <= '9') body = body * 10 + (*q++ - '0');
    } else if (header_is(line, end, "transfer-encoding:")) {
      const char *eol = memchr(line, '\r', (size_t)(end - line));
      size_t n = (size_t)((eol ? eol : end) - line);
      for (size_t i = 0; i + 7 <= n; i++) {
        if (strncasecmp(line + i, "chunked", 7) == 0) {
          die("%s", "chunked responses are not supported (Transfer-Encoding: chunked)");
        }
      }
    }
  }
  return (long)len + 4 + body;
}

static void on_readable(conn_t *c) {
  if (c->in_cap - c->in_len < READ_CHUNK) {
    c->in_cap = c->in_len + READ_CHUNK * 2;
    c->in = realloc(c->in, c->in_cap);
    if (!c->in) die("%s", "out of memory");
  }
  ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
  if (n == 0) {
    drop(c);
    return;
  }
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) drop(c);
    return;
  }
  c->in_len += (size_t)n;
  size_t off = 0;
  for (;;) {
    if (c->need < 0) {
      const char *end = memmem(c->in + off, c->in_len - off, "\r\n\r\n", 4);
      if (!end) {
        if (c->in_len - off > MAX_HEADER_BYTES) die("%s", "response headers too long");
        break;
      }
      c->need = parse_head(c->in + off, (size_t)(end - (c->in + off)), &c->status);
    }
    if (c->in_len - off < (size_t)c->need) break;
    off += (size_t)c->need;
    c->need = -1;
    int64_t t = now_ns();
    bool was_busy = c->busy;
    if (completed < total && was_busy) {
      from_pickup[completed] = (double)(t - c->pickup_ns) / 1e6;
      from_due[completed] = ((double)(t - start_ns) - c->due_rel) / 1e6;
      from_write[completed] = (double)(t - c->write_ns) / 1e6;
      completed++;
    }
    if (c->status < 200 || c->status > 299) non2xx++;
    if (!was_busy) continue; // an answer nobody asked for: nothing to release
    release(c);
    if (c->dead) return;
  }
  if (off) {
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
  }
}

static void on_event(struct epoll_event *ev) {
  conn_t *c = ev->data.ptr;
  if (c->dead) return;
  if (c->state == CONNECTING) {
    on_connected(c);
    return;
  }
  if ((ev->events & EPOLLOUT) && c->want_out) {
    flush(c);
    if (c->dead) return;
  }
  if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
}

// ---- the schedule ----------------------------------------------------------------------------

// Sends every request that has come due: on an idle connection (the most recently freed), else
// queued, with a new connection opened when there is room for one.
static void tick(void) {
  int64_t pickup_ns = now_ns();
  int64_t due = (int64_t)((double)(pickup_ns - start_ns) / interval_ns) + 1;
  if (due > total) due = total;
  for (; scheduled < due; scheduled++) {
    double due_rel = (double)scheduled * interval_ns;
    conn_t *c = idle_pop();
    if (c) {
      send_request(c, due_rel, pickup_ns);
    } else {
      queue_due[queue_tail] = due_rel;
      queue_pickup[queue_tail] = pickup_ns;
      queue_tail++;
      if (open_count + opening < max_connections) open_conn();
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(const double *sorted, int64_t n, double p) {
  if (n == 0) return NAN;
  double r = p / 100 * (double)n;
  int64_t k = (int64_t)r;
  if ((double)k < r) k++; // ceil
  int64_t i = k - 1;
  if (i > n - 1) i = n - 1;
  if (i < 0) i = 0;
  return sorted[i];
}

// The shortest of %.15g..%.17g that reads back as the same double (JSON.stringify prints the
// shortest); NaN and infinities as null, as JSON.stringify does.
static void print_number(double x) {
  if (!isfinite(x)) {
    fputs("null", stdout);
    return;
  }
  char buf[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, x);
    if (strtod(buf, NULL) == x) break;
  }
  fputs(buf, stdout);
}

static void print_summary(const char *name, double *samples, int64_t n) {
  qsort(samples, (size_t)n, sizeof *samples, cmp_double);
  printf("\"%s\":{\"p50\":", name);
  print_number(percentile(samples, n, 50));
  fputs(",\"p90\":", stdout);
  print_number(percentile(samples, n, 90));
  fputs(",\"p99\":", stdout);
  print_number(percentile(samples, n, 99));
  fputs(",\"p999\":", stdout);
  print_number(percentile(samples, n, 99.9));
  fputs(",\"max\":", stdout);
  print_number(n ? samples[n - 1] : NAN);
  fputs("}", stdout);
}

// ---- set-up ----------------------------------------------------------------------------------

static void usage(const char *problem, const char *arg) {
  if (problem) {
    fprintf(stderr, "openloop: ");
    fprintf(stderr, problem, arg);
    fprintf(stderr, "\n");
  }
  fprintf(stderr,
          "usage: openloop --port P --rate R --duration S --bodies FILE [--host 127.0.0.1]\n"
          "                [--path /v1/heartbeats] [--token T] [--max-connections 256]\n"
          "                [--warm-connections 16]\n");
  exit(2);
}

static double number_arg(const char *name, const char *s, double min, double max) {
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (errno || end == s || *end || x != x || x < min || x > max) usage("bad value for %s", name);
  return x;
}

static void read_bodies(const char *file) {
  FILE *f = fopen(file, "rb");
  if (!f) die("cannot open the bodies file %s", file);
  size_t cap = 1 << 20, len = 0;
  char *data = xmalloc(cap);
  for (;;) {
    if (len == cap) {
      cap *= 2;
      data = realloc(data, cap);
      if (!data) die("%s", "out of memory");
    }
    size_t n = fread(data + len, 1, cap - len, f);
    if (n == 0) break;
    len += n;
  }
  if (ferror(f)) die("cannot read the bodies file %s", file);
  fclose(f);
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
  bodies = xmalloc(sizeof *bodies * (lines + 1));
  size_t from = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len && from == len) break; // no body after the final newline
    if (i == len || data[i] == '\n') {
      bodies[nbodies].p = data + from;
      bodies[nbodies].len = i - from;
      nbodies++;
      from = i + 1;
    }
  }
}

static void resolve_host(const char *host, int port) {
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  int rc = getaddrinfo(host, service, &hints, &res);
  if (rc) {
    fprintf(stderr, "openloop: cannot resolve %s: %s\n", host, gai_strerror(rc));
    exit(1);
  }
  memcpy(&addr, res->ai_addr, res->ai_addrlen);
  addr_len = res->ai_addrlen;
  freeaddrinfo(res);
}

static void raise_fd_limit(rlim_t needed) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < needed) {
    rl.rlim_cur = rl.rlim_max < needed ? rl.rlim_max : needed;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Waits for events until deadline_ns (CLOCK_MONOTONIC; -1: no deadline), to the nanosecond with
// epoll_pwait2 (Linux 5.11+), else with epoll_wait's milliseconds, rounded up.
static int wait_events(struct epoll_event *evs, int64_t deadline_ns) {
  static bool no_pwait2;
  int64_t left = deadline_ns < 0 ? -1 : deadline_ns - now_ns();
  if (left < 0 && deadline_ns >= 0) left = 0;
  int n = -1;
#ifdef SYS_epoll_pwait2
  if (!no_pwait2) {
    struct timespec ts = { .tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL };
    n = (int)syscall(SYS_epoll_pwait2, epfd, evs, MAX_EVENTS, left < 0 ? NULL : &ts, NULL, 0);
    if (n < 0 && errno == ENOSYS) no_pwait2 = true;
  }
#else
  no_pwait2 = true;
#endif
  if (no_pwait2) n = epoll_wait(epfd, evs, MAX_EVENTS, left < 0 ? -1 : (int)((left + 999999) / 1000000));
  if (n < 0) {
    if (errno == EINTR) return 0;
    die("epoll_wait: %s", strerror(errno));
  }
  return n;
}

// The first 1 ms tick boundary (start + k ms) at which request `scheduled` has come due: a tick
// before it would find nothing to send, so the loop sleeps through those.
static int64_t next_tick_ns(void) {
  double at = (double)scheduled * interval_ns;
  int64_t k = (int64_t)(at / (double)TICK_NS);
  if ((double)k * (double)TICK_NS < at) k++;
  return start_ns + k * TICK_NS;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *path = "/v1/heartbeats", *token = NULL, *bodies_file = NULL;
  int port = 0, warm = 16;
  double rate = 0, duration = 0;
  max_connections = 256;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(NULL, NULL);
    if (strncmp(a, "--", 2) != 0) usage("unexpected argument %s", a);
    if (i + 1 >= argc) usage("%s needs a value", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = (int)number_arg(a, v, 1, 65535);
    else if (!strcmp(a, "--path")) path = v;
    else if (!strcmp(a, "--token")) token = *v ? v : NULL;
    else if (!strcmp(a, "--rate")) rate = number_arg(a, v, 1e-9, 1e7);
    else if (!strcmp(a, "--duration")) duration = number_arg(a, v, 1e-9, 1e6);
    else if (!strcmp(a, "--max-connections")) max_connections = (int)number_arg(a, v, 1, 1e6);
    else if (!strcmp(a, "--warm-connections")) warm = (int)number_arg(a, v, 0, 1e6);
    else if (!strcmp(a, "--bodies")) bodies_file = v;
    else usage("unknown option %s", a);
  }
  if (!port) usage("%s is required", "--port");
  if (!rate) usage("%s is required", "--rate");
  if (!duration) usage("%s is required", "--duration");
  if (!bodies_file) usage("%s is required", "--bodies");

  // Never outlive the bench that spawned us.
  prctl(PR_SET_PDEATHSIG, SIGTERM);

  double t = rate * duration; // Math.ceil(rate * durationS)
  total = (int64_t)t;
  if ((double)total < t) total++;
  interval_ns = 1e9 / rate;
  read_bodies(bodies_file);
  if (total > 0 && nbodies == 0) die("no bodies in %s", bodies_file);
  size_t max_body = 0;
  for (size_t i = 0; i < nbodies; i++) if (bodies[i].len > max_body) max_body = bodies[i].len;

  size_t cap = strlen(path) + strlen(host) + (token ? strlen(token) : 0) + 256;
  head = xmalloc(cap);
  head_len = (size_t)snprintf(head, cap,
                              "POST %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: keep-alive\r\n%s%s%s"
                              "Content-Type: application/json\r\nContent-Length: ",
                              path, host, port, token ? "Authorization: Bearer " : "",
                              token ? token : "", token ? "\r\n" : "");
  out_cap = head_len + 32 + max_body;

  from_pickup = xmalloc(sizeof(double) * (size_t)(total ? total : 1));
  from_due = xmalloc(sizeof(double) * (size_t)(total ? total : 1));
  from_write = xmalloc(sizeof(double) * (size_t)(total ? total : 1));
  queue_due = xmalloc(sizeof(double) * (size_t)(total ? total : 1));
  queue_pickup = xmalloc(sizeof(int64_t) * (size_t)(total ? total : 1));

  resolve_host(host, port);
  raise_fd_limit((rlim_t)max_connections + (rlim_t)warm + 64);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1: %s", strerror(errno));
  struct epoll_event evs[MAX_EVENTS];

  // Warm connections, connected before the start (a probe one when none is asked for: a server
  // that cannot be reached at all is an error, not a run of errors).
  warm_phase = true;
  int nwarm = warm > 0 ? warm : 1;
  conn_t **warm_conns = xmalloc(sizeof *warm_conns * (size_t)nwarm);
  for (int i = 0; i < nwarm; i++) warm_conns[i] = open_conn();
  int64_t warm_deadline = now_ns() + WARM_TIMEOUT_NS;
  while (opening > 0 && now_ns() < warm_deadline) {
    int n = wait_events(evs, warm_deadline);
    for (int i = 0; i < n; i++) on_event(&evs[i]);
  }
  for (int i = 0; i < nwarm; i++) {
    conn_t *c = warm_conns[i];
    if (c && !c->dead && c->state == CONNECTING) drop(c); // still no answer after 10 s
  }
  if (open_count == 0) {
    fprintf(stderr, "openloop: cannot connect to %s:%d: %s\n", host, port,
            strerror(last_connect_error ? last_connect_error : ETIMEDOUT));
    return 1;
  }
  for (int i = 0; i < nwarm; i++) {
    conn_t *c = warm_conns[i];
    if (c && !c->dead) {
      if (warm > 0) idle_push(c);
      else drop(c);
    }
  }
  bury();
  free(warm_conns);
  warm_phase = false;

  start_ns = now_ns();
  tick();
  while (scheduled < total) {
    int64_t next = next_tick_ns();
    if (now_ns() < next) {
      int n = wait_events(evs, next);
      for (int i = 0; i < n; i++) on_event(&evs[i]);
      bury();
    }
    if (now_ns() >= next) {
      tick();
      bury();
    }
  }
  int64_t issued_ns = now_ns();

  int64_t drain_until = issued_ns + DRAIN_NS;
  while (completed + socket_errors < total && now_ns() < drain_until) {
    int n = wait_events(evs, drain_until);
    for (int i = 0; i < n; i++) on_event(&evs[i]);
    bury();
  }
  int max_used = open_count;
  // Closed by us: what is still in flight counts in errors only.
  while (live) {
    live->busy = false;
    drop(live);
  }
  bury();

  double elapsed_s = (double)(issued_ns - start_ns) / 1e9;
  fputs("{\"offered\":", stdout);
  print_number(rate);
  fputs(",\"durationS\":", stdout);
  print_number(elapsed_s);
  printf(",\"sent\":%lld,\"completed\":%lld,\"achieved\":", (long long)sent, (long long)completed);
  print_number((double)completed / elapsed_s);
  fputs(",", stdout);
  print_summary("latency", from_pickup, completed);
  fputs(",", stdout);
  print_summary("fromSchedule", from_due, completed);
  fputs(",", stdout);
  print_summary("serviceLatency", from_write, completed);
  // errors: unanswered (socket errors included) by the end of the drain
  printf(",\"non2xx\":%lld,\"errors\":%lld,\"socketErrors\":%lld,\"lateStarts\":%lld,"
         "\"maxConnectionsUsed\":%d}\n",
         (long long)non2xx, (long long)(total - completed), (long long)socket_errors,
         (long long)late_starts, max_used);
  return fflush(stdout) == 0 ? 0 : 1;
}
