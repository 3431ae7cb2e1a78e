/*
 * The kernel floor for VRRP adverts: a bare C loop that sends (or receives) the same packets a
 * VRRP daemon would, with nothing else. Its CPU per packet is what a daemon cannot go below; the
 * daemon benchmarks (bench/cpu.py) run it in the same namespaces and the same run, so the ratio
 * daemon / floor is measured, not assumed.
 *
 *   floor send IFACE SRC_IPV4 COUNT INTERVAL_US SECONDS
 *       every INTERVAL_US (absolute schedule, clock_nanosleep), send COUNT VRRPv3 adverts
 *       (VRIDs 1..COUNT, wrapping at 255) to 224.0.0.18 on IFACE from SRC_IPV4, one sendto each,
 *       TTL 255, TOS 0xc0; prints packets sent and CPU per packet.
 *   floor recv IFACE SECONDS
 *       read protocol-112 packets on IFACE (joined to 224.0.0.18) for SECONDS; prints packets
 *       received and CPU per packet.
 *
 * CPU is the thread's run time (CLOCK_THREAD_CPUTIME_ID), in microseconds per packet.
 * Build: cc -O2 -o floor floor.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (n & 1) sum += p[n - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int open_sock(const char *iface) {
    int fd = socket(AF_INET, SOCK_RAW, 112);
    if (fd < 0) { perror("socket"); exit(1); }
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface, strlen(iface)) < 0) { perror("bind"); exit(1); }
    struct ip_mreqn m = {0};
    m.imr_multiaddr.s_addr = inet_addr("224.0.0.18");
    m.imr_ifindex = if_nametoindex(iface);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0) { perror("join"); exit(1); }
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) < 0) { perror("mcast_if"); exit(1); }
    int v = 255, tos = 0xc0, off = 0;
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &v, sizeof v);
    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off);
    return fd;
}

int main(int argc, char **argv) {
    if (argc >= 7 && strcmp(argv[1], "send") == 0) {
        int fd = open_sock(argv[2]);
        struct in_addr src;
        inet_pton(AF_INET, argv[3], &src);
        long count = atol(argv[4]), interval_us = atol(argv[5]);
        double seconds = atof(argv[6]);
        struct sockaddr_in to = {.sin_family = AF_INET};
        to.sin_addr.s_addr = inet_addr("224.0.0.18");
        uint8_t pkts[255][12];
        for (int v = 0; v < 255; v++) {
            uint8_t *p = pkts[v];
            p[0] = 0x31; p[1] = v + 1; p[2] = 200; p[3] = 1;
            p[4] = 0; p[5] = (uint8_t)(interval_us / 10000); p[6] = 0; p[7] = 0;
            p[8] = 198; p[9] = 51; p[10] = 100; p[11] = v + 1;
            uint8_t ph[12];
            memcpy(ph, &src, 4); memcpy(ph + 4, &to.sin_addr, 4);
            ph[8] = 0; ph[9] = 112; ph[10] = 0; ph[11] = 12;
            uint32_t s = 0;
            for (int i = 0; i < 12; i += 2) s += (ph[i] << 8) | ph[i + 1];
            uint16_t c = csum(p, 12, s);
            p[6] = c >> 8; p[7] = c & 0xff;
        }
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        double end = now_s(CLOCK_MONOTONIC) + seconds;
        double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        long sent = 0;
        while (now_s(CLOCK_MONOTONIC) < end) {
            for (long i = 0; i < count; i++)
                if (sendto(fd, pkts[i % 255], 12, 0, (struct sockaddr *)&to, sizeof to) == 12) sent++;
            next.tv_nsec += interval_us * 1000;
            while (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        double cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        printf("sent %ld cpu_s %.6f us_per_packet %.3f\n", sent, cpu, sent ? cpu * 1e6 / sent : 0);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "recv") == 0) {
        int fd = open_sock(argv[2]);
        double seconds = atof(argv[3]);
        struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        double end = now_s(CLOCK_MONOTONIC) + seconds;
        double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
        long got = 0;
        uint8_t buf[2048];
        while (now_s(CLOCK_MONOTONIC) < end) {
            if (recv(fd, buf, sizeof buf, 0) > 0) got++;
        }
        double cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        printf("received %ld cpu_s %.6f us_per_packet %.3f\n", got, cpu, got ? cpu * 1e6 / got : 0);
        return 0;
    }
    fprintf(stderr, "usage: floor send IFACE SRC COUNT INTERVAL_US SECONDS | floor recv IFACE SECONDS\n");
    return 2;
}
