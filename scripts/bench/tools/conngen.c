/*
 * Benchmark connection generator (issue 12): new TCP connections or bulk streams, as fast as the
 * path allows, so that the bench client is not the ceiling of what it measures. Built by the rate
 * suite into its temp dir (gcc -O2), run inside the client namespace:
 *
 *   conngen rate --host IP --port P --duration-ms D [--warmup-ms W] [--workers N]
 *                [--concurrency C] [--expect NAME] [--timeout-ms T]
 *     N processes (fork), each an epoll loop keeping C connections in flight: non-blocking
 *     connect, send "x\n", read the reply until the server closes, close with SO_LINGER 0 (an RST:
 *     no TIME_WAIT, so the client's ephemeral ports never run out), open the next one. Every
 *     connection therefore crosses DNAT and conntrack from SYN to close. Only connections that
 *     complete inside the last D ms count; ok means the reply's first word is NAME (if given).
 *   conngen bulk --host IP --port P --duration-ms D [--warmup-ms W] [--streams S]
 *     S connections that send "bulk\n" and then only read: the server streams as fast as it can;
 *     the bytes received inside the last D ms are counted (at the receiver, so no buffer counts).
 *
 * Prints one JSON object on stdout: rate: {"connections","connectionsAll" (warm-up included),
 * "errors","elapsedMs","rate","cpuMs","perSecond","firstError",…}; bulk: {"bytes","elapsedMs","bytesPerSecond","perSecond","streams","errors",…}.
 * Exit 0 when it measured (errors are counted, not fatal), 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS 600
#define MAX_WORKERS 64
#define MAX_SLOTS 4096
#define REPLY_CAP 64
#define ERROR_CAP 64

/* What a worker hands back to the parent through its pipe (same machine, so a raw struct). */
struct tally {
  uint64_t ok;
  /* ok, the warm-up included: what the CPU time (also taken over the warm-up) paid for. */
  uint64_t ok_all;
  uint64_t errors;
  uint64_t per_second[MAX_SECONDS];
  uint32_t streams_up;
  char first_error[ERROR_CAP];
};

struct slot {
  int fd;
  int connected;
  int64_t started_ns;
  size_t got;
  char reply[REPLY_CAP];
};

static struct sockaddr_in dest;
static const char *expect = NULL;
static int64_t warm_until_ns, end_ns, timeout_ns;
static unsigned seconds;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void note_error(struct tally *t, int64_t at, const char *what) {
  if (at < warm_until_ns) return;
  t->errors += 1;
  if (t->first_error[0] == '\0') snprintf(t->first_error, ERROR_CAP, "%s", what);
}

static void note_ok(struct tally *t, int64_t at, uint64_t amount) {
  if (at >= end_ns) return;
  t->ok_all += amount;
  if (at < warm_until_ns) return;
  t->ok += amount;
  uint64_t second = (uint64_t)(at - warm_until_ns) / 1000000000ULL;
  if (second < seconds) t->per_second[second] += amount;
}

static int open_connection(int epfd, struct slot *s, uint32_t index, struct tally *t) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_error(t, now_ns(), strerror(errno));
    return -1;
  }
  struct linger hard_close = {.l_onoff = 1, .l_linger = 0};
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard_close, sizeof hard_close);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->fd = fd;
  s->connected = 0;
  s->got = 0;
  s->started_ns = now_ns();
  if (connect(fd, (struct sockaddr *)&dest, sizeof dest) < 0 && errno != EINPROGRESS) {
    note_error(t, s->started_ns, strerror(errno));
    close(fd);
    s->fd = -1;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = index};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static void close_slot(struct slot *s) {
  if (s->fd >= 0) close(s->fd); /* removes it from the epoll set too */
  s->fd = -1;
}

/* One request done (error NULL) or failed: count it and close; the loop opens the next one. */
static void finish(struct slot *s, struct tally *t, const char *error) {
  int64_t at = now_ns();
  if (error) {
    note_error(t, at, error);
  } else {
    size_t word = strcspn(s->reply, " \n");
    if (expect && (strlen(expect) != word || strncmp(s->reply, expect, word) != 0)) {
      char what[ERROR_CAP];
      snprintf(what, sizeof what, "reply from %.*s", (int)(word < 32 ? word : 32), s->reply);
      note_error(t, at, what);
    } else {
      note_ok(t, at, 1);
    }
  }
  close_slot(s);
}

static void rate_worker(unsigned concurrency, struct tally *t) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc(concurrency, sizeof *slots);
  struct epoll_event events[256];
  for (unsigned i = 0; i < concurrency; i += 1) {
    slots[i].fd = -1;
    open_connection(epfd, &slots[i], i, t);
  }
  int64_t next_sweep = now_ns() + 50000000LL;
  for (;;) {
    int64_t t_now = now_ns();
    if (t_now >= end_ns) break;
    int wait_ms = (int)((end_ns - t_now) / 1000000LL) + 1;
    if (wait_ms > 50) wait_ms = 50;
    int n = epoll_wait(epfd, events, 256, wait_ms);
    for (int e = 0; e < n; e += 1) {
      struct slot *s = &slots[events[e].data.u32];
      if (s->fd < 0) continue;
      if (!s->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          finish(s, t, strerror(err));
          continue;
        }
        if (!(events[e].events & EPOLLOUT)) continue;
        if (send(s->fd, "x\n", 2, MSG_NOSIGNAL) != 2) {
          finish(s, t, strerror(errno));
          continue;
        }
        s->connected = 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = events[e].data.u32};
        epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
        continue;
      }
      for (;;) {
        char buffer[256];
        ssize_t got = recv(s->fd, buffer, sizeof buffer, 0);
        if (got > 0) {
          size_t room = REPLY_CAP - 1 - s->got;
          size_t take = (size_t)got < room ? (size_t)got : room;
          memcpy(s->reply + s->got, buffer, take);
          s->got += take;
          s->reply[s->got] = '\0';
          continue;
        }
        if (got == 0) finish(s, t, s->got > 0 ? NULL : "closed");
        else if (errno != EAGAIN && errno != EWOULDBLOCK) finish(s, t, strerror(errno));
        break;
      }
    }
    t_now = now_ns();
    if (t_now >= next_sweep) {
      next_sweep = t_now + 50000000LL;
      for (unsigned i = 0; i < concurrency; i += 1)
        if (slots[i].fd >= 0 && t_now - slots[i].started_ns > timeout_ns) finish(&slots[i], t, "timeout");
    }
    for (unsigned i = 0; i < concurrency; i += 1)
      if (slots[i].fd < 0 && now_ns() < end_ns) open_connection(epfd, &slots[i], i, t);
  }
  for (unsigned i = 0; i < concurrency; i += 1) close_slot(&slots[i]);
  free(slots);
  close(epfd);
}

static void bulk_worker(struct tally *t) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct timeval ctv = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ctv, sizeof ctv);
  if (connect(fd, (struct sockaddr *)&dest, sizeof dest) < 0 || send(fd, "bulk\n", 5, MSG_NOSIGNAL) != 5) {
    note_error(t, end_ns - 1, strerror(errno));
    close(fd);
    return;
  }
  t->streams_up = 1;
  static char buffer[1 << 18];
  for (;;) {
    ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    int64_t at = now_ns();
    if (at >= end_ns) break;
    if (got > 0) {
      note_ok(t, at, (uint64_t)got);
    } else if (got == 0) {
      note_error(t, end_ns - 1, "closed");
      break;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      note_error(t, end_ns - 1, strerror(errno));
      break;
    }
  }
  close(fd);
}

static void usage(void) {
  fprintf(stderr,
          "usage: conngen rate|bulk --host IP --port P --duration-ms D [--warmup-ms W]\n"
          "       [--workers N] [--concurrency C] [--streams S] [--expect NAME] [--timeout-ms T]\n");
  exit(2);
}

static long number(const char *name, const char *text, long low, long high) {
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (!end || *end != '\0' || value < low || value > high) {
    fprintf(stderr, "conngen: %s: %s is not a number in %ld..%ld\n", name, text, low, high);
    exit(2);
  }
  return value;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  int bulk = strcmp(argv[1], "bulk") == 0;
  if (!bulk && strcmp(argv[1], "rate") != 0) usage();
  const char *host = NULL;
  long port = 0, duration_ms = 0, warmup_ms = 0, workers = 1, concurrency = 16, streams = 1, timeout_ms = 2000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *flag = argv[i], *value = argv[i + 1];
    if (strcmp(flag, "--host") == 0) host = value;
    else if (strcmp(flag, "--port") == 0) port = number(flag, value, 1, 65535);
    else if (strcmp(flag, "--duration-ms") == 0) duration_ms = number(flag, value, 1, MAX_SECONDS * 1000L);
    else if (strcmp(flag, "--warmup-ms") == 0) warmup_ms = number(flag, value, 0, 60000);
    else if (strcmp(flag, "--workers") == 0) workers = number(flag, value, 1, MAX_WORKERS);
    else if (strcmp(flag, "--concurrency") == 0) concurrency = number(flag, value, 1, MAX_SLOTS);
    else if (strcmp(flag, "--streams") == 0) streams = number(flag, value, 1, MAX_WORKERS);
    else if (strcmp(flag, "--timeout-ms") == 0) timeout_ms = number(flag, value, 1, 60000);
    else if (strcmp(flag, "--expect") == 0) expect = value;
    else {
      fprintf(stderr, "conngen: unknown option %s\n", flag);
      usage();
    }
  }
  if ((argc - 2) % 2 != 0) usage();
  memset(&dest, 0, sizeof dest);
  dest.sin_family = AF_INET;
  dest.sin_port = htons((uint16_t)port);
  if (!host || port == 0 || duration_ms == 0 || inet_pton(AF_INET, host, &dest.sin_addr) != 1) {
    fprintf(stderr, "conngen: --host (an IPv4 address), --port and --duration-ms are required\n");
    exit(2);
  }
  if (bulk) workers = streams;
  seconds = (unsigned)((duration_ms + 999) / 1000);
  timeout_ns = timeout_ms * 1000000LL;
  int64_t started = now_ns();
  warm_until_ns = started + warmup_ms * 1000000LL;
  end_ns = warm_until_ns + duration_ms * 1000000LL;

  int pipes[MAX_WORKERS];
  pid_t pids[MAX_WORKERS];
  for (long w = 0; w < workers; w += 1) {
    int fds[2];
    if (pipe(fds) < 0) {
      perror("conngen: pipe");
      exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
      perror("conngen: fork");
      exit(1);
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(fds[0]);
      struct tally *t = calloc(1, sizeof *t);
      if (bulk) bulk_worker(t);
      else rate_worker((unsigned)concurrency, t);
      const char *p = (const char *)t;
      size_t left = sizeof *t;
      while (left > 0) {
        ssize_t wrote = write(fds[1], p, left);
        if (wrote <= 0) _exit(1);
        p += wrote;
        left -= (size_t)wrote;
      }
      _exit(0);
    }
    close(fds[1]);
    pipes[w] = fds[0];
    pids[w] = pid;
  }
  struct tally sum;
  memset(&sum, 0, sizeof sum);
  long reported = 0;
  for (long w = 0; w < workers; w += 1) {
    struct tally t;
    char *p = (char *)&t;
    size_t left = sizeof t;
    while (left > 0) {
      ssize_t got = read(pipes[w], p, left);
      if (got <= 0) break;
      p += got;
      left -= (size_t)got;
    }
    close(pipes[w]);
    waitpid(pids[w], NULL, 0);
    if (left != 0) continue;
    reported += 1;
    sum.ok += t.ok;
    sum.ok_all += t.ok_all;
    sum.errors += t.errors;
    sum.streams_up += t.streams_up;
    for (unsigned s = 0; s < seconds; s += 1) sum.per_second[s] += t.per_second[s];
    if (sum.first_error[0] == '\0' && t.first_error[0] != '\0') memcpy(sum.first_error, t.first_error, ERROR_CAP);
  }
  double elapsed_ms = (double)duration_ms;
  /* The workers' CPU, the kernel work done in their system calls included (on veth, much of the
   * forwarding path runs in the sender's context, so this is not the generator's cost alone). */
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  double cpu_ms = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
                  (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
  printf("{\"mode\":\"%s\",\"workers\":%ld,\"workersReported\":%ld,", bulk ? "bulk" : "rate", workers, reported);
  if (bulk)
    printf("\"streams\":%ld,\"streamsUp\":%u,\"bytes\":%llu,\"bytesPerSecond\":%.0f,", streams, sum.streams_up,
           (unsigned long long)sum.ok, (double)sum.ok / elapsed_ms * 1000.0);
  else
    printf("\"concurrency\":%ld,\"connections\":%llu,\"connectionsAll\":%llu,\"rate\":%.1f,", concurrency,
           (unsigned long long)sum.ok, (unsigned long long)sum.ok_all, (double)sum.ok / elapsed_ms * 1000.0);
  printf("\"errors\":%llu,\"elapsedMs\":%.0f,\"cpuMs\":%.0f,\"perSecond\":[", (unsigned long long)sum.errors,
         elapsed_ms, cpu_ms);
  for (unsigned s = 0; s < seconds; s += 1) printf("%s%llu", s ? "," : "", (unsigned long long)sum.per_second[s]);
  printf("]");
  if (sum.first_error[0] != '\0') {
    printf(",\"firstError\":\"");
    for (const char *c = sum.first_error; *c; c += 1)
      if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20) putchar(*c);
    printf("\"");
  }
  printf("}\n");
  return 0;
}
