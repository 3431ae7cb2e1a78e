/*
 * The real server of bench/dataplane.py: a single-threaded epoll HTTP/1.1 server that answers
 * every request (a request ends at the blank line; no body is read) with "200 OK" and a short
 * body, keeping the connection open unless the request says "Connection: close". Small and
 * fast, so that the benchmark measures the path (nftables NAT versus direct), not the server.
 *
 *   tinyhttpd ADDRESS PORT BODY
 *
 * Build: cc -O2 -o tinyhttpd tinyhttpd.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
static char pending[MAXFD][512]; /* bytes of an unfinished request header, per descriptor */
static int pending_len[MAXFD];

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: tinyhttpd ADDRESS PORT BODY\n");
        return 2;
    }
    char reply[1024], reply_close[1024];
    int blen = (int)strlen(argv[3]) + 1;
    int rlen = snprintf(reply, sizeof reply,
                        "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s\n", blen, argv[3]);
    int clen = snprintf(reply_close, sizeof reply_close,
                        "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n",
                        blen, argv[3]);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || bind(ls, (void *)&a, sizeof a) ||
        listen(ls, 4096)) {
        perror("tinyhttpd: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("ready\n");
    fflush(stdout);
    struct epoll_event evs[256];
    char buf[4096];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAXFD) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    pending_len[c] = 0;
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf - 1);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                close(fd);
                continue;
            }
            /* Append to the pending header and answer each complete request in it. */
            int len = pending_len[fd];
            int take = (int)r;
            if (len + take > (int)sizeof pending[0] - 1)
                take = (int)sizeof pending[0] - 1 - len;
            memcpy(pending[fd] + len, buf, (size_t)take);
            len += take;
            pending[fd][len] = 0;
            int closing = 0;
            char *p = pending[fd], *end;
            while ((end = strstr(p, "\r\n\r\n")) != NULL) {
                *end = 0;
                closing = strcasestr(p, "connection: close") != NULL;
                if (write(fd, closing ? reply_close : reply, (size_t)(closing ? clen : rlen)) < 0)
                    closing = 1;
                p = end + 4;
                if (closing)
                    break;
            }
            if (closing) {
                close(fd);
                continue;
            }
            len = (int)strlen(p);
            memmove(pending[fd], p, (size_t)len);
            pending_len[fd] = len;
            if (len == (int)sizeof pending[0] - 1) /* a header too long for us: drop */
                close(fd);
        }
    }
}
