/*
 * Benchmark destination server for conngen (issue 12), so that the server is not the ceiling
 * either. Built by the rate suite into its temp dir, run inside a destination namespace:
 *
 *   connserv --name NAME --port P [--workers N]
 *
 * N processes, each with its own SO_REUSEPORT listener on 0.0.0.0:P (the kernel spreads new
 * connections over them) and an epoll loop. A connection whose first line starts with `bulk`
 * gets an endless stream of bytes until the peer goes away; any other first line gets
 * `NAME\n` and the server closes (as tools/server.mjs does, so the Node probes work against it).
 * Prints {"ready":true,…} once every listener is up; SIGTERM or SIGINT ends it and its workers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 16
#define LINE_CAP 64

struct conn {
  int bulk;
  size_t got;
  char line[LINE_CAP];
};

static const char *name = "server";
static char bulk_data[1 << 16];

static void drop(int epfd, struct conn **conns, int fd) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(conns[fd]);
  conns[fd] = NULL;
}

static void worker(int listener) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  size_t capacity = 1 << 16;
  struct conn **conns = calloc(capacity, sizeof *conns);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
  char reply[LINE_CAP + 2];
  int reply_len = snprintf(reply, sizeof reply, "%s\n", name);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int e = 0; e < n; e += 1) {
      int fd = events[e].data.fd;
      if (fd == listener) {
        for (;;) {
          int c = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if ((size_t)c >= capacity) {
            close(c);
            continue;
          }
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns[c] = calloc(1, sizeof **conns);
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          epoll_ctl(epfd, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      struct conn *k = conns[fd];
      if (!k) continue;
      if (k->bulk) {
        if (events[e].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
          drop(epfd, conns, fd);
          continue;
        }
        for (;;) {
          ssize_t wrote = send(fd, bulk_data, sizeof bulk_data, MSG_NOSIGNAL);
          if (wrote > 0) continue;
          if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          drop(epfd, conns, fd);
          break;
        }
        continue;
      }
      ssize_t got = recv(fd, k->line + k->got, LINE_CAP - 1 - k->got, 0);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        drop(epfd, conns, fd);
        continue;
      }
      k->got += (size_t)got;
      k->line[k->got] = '\0';
      if (!memchr(k->line, '\n', k->got) && k->got < LINE_CAP - 1) continue;
      if (strncmp(k->line, "bulk", 4) == 0) {
        k->bulk = 1;
        struct epoll_event bev = {.events = EPOLLOUT | EPOLLRDHUP, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &bev);
        continue;
      }
      send(fd, reply, (size_t)reply_len, MSG_NOSIGNAL);
      drop(epfd, conns, fd); /* the line was read whole, so this is a FIN, not an RST */
    }
  }
}

static volatile sig_atomic_t stopping = 0;
static void on_signal(int signal) {
  (void)signal;
  stopping = 1;
}

int main(int argc, char **argv) {
  long port = 0, workers = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--name") == 0) name = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0) port = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--workers") == 0) workers = strtol(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "usage: connserv --name NAME --port P [--workers N]\n");
      return 2;
    }
  }
  if (port < 1 || port > 65535 || workers < 1 || workers > MAX_WORKERS || strlen(name) > LINE_CAP - 2) {
    fprintf(stderr, "connserv: --port 1..65535, --workers 1..%d and a --name up to %d bytes\n", MAX_WORKERS,
            LINE_CAP - 2);
    return 2;
  }
  memset(bulk_data, 'b', sizeof bulk_data);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  pid_t pids[MAX_WORKERS];
  for (long w = 0; w < workers; w += 1) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0) {
      printf("{\"error\":\"listen on port %ld: %s\"}\n", port, strerror(errno));
      fflush(stdout);
      return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      worker(listener);
      _exit(0);
    }
    pids[w] = pid;
    close(listener);
  }
  printf("{\"ready\":true,\"name\":\"%s\",\"port\":%ld,\"workers\":%ld,\"pid\":%d}\n", name, port, workers,
         (int)getpid());
  fflush(stdout);
  while (!stopping) pause();
  for (long w = 0; w < workers; w += 1) kill(pids[w], SIGTERM);
  for (long w = 0; w < workers; w += 1) waitpid(pids[w], NULL, 0);
  return 0;
}
