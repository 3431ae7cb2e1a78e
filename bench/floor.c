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
 * The batched floor (what a daemon that batches can be compared with, issue 18):
 *
 *   floor sendm IFACE[,IFACE...] COUNT INTERVAL_US SECONDS
 *       the same adverts from one socket per interface (source = the interface's own IPv4
 *       address): every INTERVAL_US (absolute schedule), COUNT adverts spread over the
 *       interfaces (255 per interface, VRIDs 1..255), one sendmmsg per interface.
 *   floor sendp IFACE[,IFACE...] COUNT INTERVAL_US SECONDS
 *       sendm's adverts and schedule, sent as whole Ethernet frames (our own IPv4 header: TOS
 *       0xc0, TTL 255, DF clear; to 01:00:5e:00:00:12 from the interface's MAC) from one
 *       AF_PACKET socket per interface: no route is looked up, allocated and freed through RCU
 *       per datagram, as it is for every raw-socket datagram to 224.0.0.x with an output
 *       interface (BENCHMARKS-daemon.md, eleventh session).
 *   floor recvm IFACE[,IFACE...] SECONDS
 *       one socket per interface, epoll_wait, then recvmmsg (32 a call) on each ready socket
 *       until it is empty; stops after SECONDS or at SIGINT / SIGTERM, and prints.
 *
 * CPU is the thread's run time (CLOCK_THREAD_CPUTIME_ID), in microseconds per packet.
 * Build: cc -O2 -o floor floor.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ifaddrs.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/ioctl.h>
/* sendp's socket: AF_PACKET on IFACE (receives nothing), and IFACE's MAC address. */
static int open_packet(const char *iface, uint8_t mac[6]) {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) { perror("packet socket"); exit(1); }
    struct ifreq ifr = {0};
    strncpy(ifr.ifr_name, iface, IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { perror("hwaddr"); exit(1); }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return fd;
}

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

/* The IPv4 address of IFACE (the source the kernel gives its adverts). */
static struct in_addr iface_v4(const char *iface) {
    struct ifaddrs *ifa, *i;
    struct in_addr a = {0};
    if (getifaddrs(&ifa) < 0) { perror("getifaddrs"); exit(1); }
    for (i = ifa; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && strcmp(i->ifa_name, iface) == 0) {
            a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            break;
        }
    freeifaddrs(ifa);
    return a;
}

static void advert(uint8_t *p, int vrid, long interval_us, struct in_addr src) {
    struct in_addr dst = {.s_addr = inet_addr("224.0.0.18")};
    p[0] = 0x31; p[1] = vrid; p[2] = 200; p[3] = 1;
    p[4] = 0; p[5] = (uint8_t)(interval_us / 10000); p[6] = 0; p[7] = 0;
    p[8] = 198; p[9] = 51; p[10] = 100; p[11] = vrid;
    uint8_t ph[12];
    memcpy(ph, &src, 4); memcpy(ph + 4, &dst, 4);
    ph[8] = 0; ph[9] = 112; ph[10] = 0; ph[11] = 12;
    uint32_t s = 0;
    for (int i = 0; i < 12; i += 2) s += (ph[i] << 8) | ph[i + 1];
    uint16_t c = csum(p, 12, s);
    p[6] = c >> 8; p[7] = c & 0xff;
}

#define MAX_IFACES 16

static volatile sig_atomic_t stop_now;
static void on_stop(int sig) { (void)sig; stop_now = 1; }

static int split_ifaces(char *list, char **names) {
    int n = 0;
    for (char *t = strtok(list, ","); t && n < MAX_IFACES; t = strtok(NULL, ",")) names[n++] = t;
    return n;
}

static int sendm(char *list, long count, long interval_us, double seconds, int pm) {
    char *names[MAX_IFACES];
    int nif = split_ifaces(list, names), fds[MAX_IFACES];
    static uint8_t pkts[MAX_IFACES][255][12];
    static uint8_t frames[MAX_IFACES][255][14 + 20 + 12];
    static struct sockaddr_ll lls[MAX_IFACES];
    static struct mmsghdr hdrs[MAX_IFACES][255];
    static struct iovec iovs[MAX_IFACES][255];
    struct sockaddr_in to = {.sin_family = AF_INET};
    to.sin_addr.s_addr = inet_addr("224.0.0.18");
    int per[MAX_IFACES] = {0};
    for (long i = 0; i < count && i < (long)nif * 255; i++) per[i / 255]++;
    for (int k = 0; k < nif; k++) {
        uint8_t mac[6];
        fds[k] = pm ? open_packet(names[k], mac) : open_sock(names[k]);
        struct in_addr src = iface_v4(names[k]);
        if (pm) {
            lls[k].sll_family = AF_PACKET;
            lls[k].sll_ifindex = if_nametoindex(names[k]);
            lls[k].sll_protocol = htons(ETH_P_IP);
            lls[k].sll_halen = 6;
            uint8_t d[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
            memcpy(lls[k].sll_addr, d, 6);
        }
        for (int v = 0; v < per[k]; v++) {
            advert(pkts[k][v], v + 1, interval_us, src);
            iovs[k][v].iov_base = pkts[k][v];
            iovs[k][v].iov_len = 12;
            if (pm) {
                uint8_t *f = frames[k][v], *ip = f + 14;
                uint8_t d[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
                memcpy(f, d, 6); memcpy(f + 6, mac, 6); f[12] = 0x08; f[13] = 0x00;
                memset(ip, 0, 20);
                ip[0] = 0x45; ip[1] = 0xc0; ip[3] = 32; ip[8] = 255; ip[9] = 112;
                memcpy(ip + 12, &src, 4);
                struct in_addr g = {.s_addr = inet_addr("224.0.0.18")};
                memcpy(ip + 16, &g, 4);
                uint16_t c = csum(ip, 20, 0); ip[10] = c >> 8; ip[11] = c & 0xff;
                memcpy(ip + 20, pkts[k][v], 12);
                iovs[k][v].iov_base = f;
                iovs[k][v].iov_len = sizeof frames[k][v];
            }
            memset(&hdrs[k][v], 0, sizeof hdrs[k][v]);
            hdrs[k][v].msg_hdr.msg_name = pm ? (void *)&lls[k] : (void *)&to;
            hdrs[k][v].msg_hdr.msg_namelen = pm ? sizeof lls[k] : sizeof to;
            hdrs[k][v].msg_hdr.msg_iov = &iovs[k][v];
            hdrs[k][v].msg_hdr.msg_iovlen = 1;
        }
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double end = now_s(CLOCK_MONOTONIC) + seconds;
    double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    long sent = 0;
    while (now_s(CLOCK_MONOTONIC) < end) {
        for (int k = 0; k < nif; k++) {
            int done = 0;
            while (done < per[k]) {
                int r = sendmmsg(fds[k], hdrs[k] + done, per[k] - done, 0);
                if (r <= 0) { done++; continue; }
                done += r;
                sent += r;
            }
        }
        next.tv_nsec += interval_us * 1000;
        while (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    double cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    printf("sent %ld cpu_s %.6f us_per_packet %.3f\n", sent, cpu, sent ? cpu * 1e6 / sent : 0);
    return 0;
}

static int recvm(char *list, double seconds) {
    char *names[MAX_IFACES];
    int nif = split_ifaces(list, names), fds[MAX_IFACES];
    int ep = epoll_create1(0);
    for (int k = 0; k < nif; k++) {
        fds[k] = open_sock(names[k]);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = k};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[k], &ev);
    }
    enum { BATCH = 32, LEN = 2048 };
    static uint8_t bufs[BATCH][LEN];
    static struct iovec iovs[BATCH];
    static struct mmsghdr hdrs[BATCH];
    static struct sockaddr_in names_in[BATCH];
    double end = now_s(CLOCK_MONOTONIC) + seconds;
    double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    long got = 0;
    struct epoll_event evs[MAX_IFACES];
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    while (!stop_now && now_s(CLOCK_MONOTONIC) < end) {
        int n = epoll_wait(ep, evs, MAX_IFACES, 100);
        for (int e = 0; e < n; e++) {
            int fd = fds[evs[e].data.u32];
            for (;;) {
                for (int i = 0; i < BATCH; i++) {
                    iovs[i].iov_base = bufs[i];
                    iovs[i].iov_len = LEN;
                    memset(&hdrs[i], 0, sizeof hdrs[i]);
                    hdrs[i].msg_hdr.msg_name = &names_in[i];
                    hdrs[i].msg_hdr.msg_namelen = sizeof names_in[i];
                    hdrs[i].msg_hdr.msg_iov = &iovs[i];
                    hdrs[i].msg_hdr.msg_iovlen = 1;
                }
                int r = recvmmsg(fd, hdrs, BATCH, MSG_DONTWAIT, NULL);
                if (r <= 0) break;
                got += r;
                if (r < BATCH) break;
            }
        }
    }
    double cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    printf("received %ld cpu_s %.6f us_per_packet %.3f\n", got, cpu, got ? cpu * 1e6 / got : 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 6 && strcmp(argv[1], "sendm") == 0)
        return sendm(argv[2], atol(argv[3]), atol(argv[4]), atof(argv[5]), 0);
    if (argc >= 6 && strcmp(argv[1], "sendp") == 0)
        return sendm(argv[2], atol(argv[3]), atol(argv[4]), atof(argv[5]), 1);
    if (argc >= 4 && strcmp(argv[1], "recvm") == 0) return recvm(argv[2], atof(argv[3]));
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
    fprintf(stderr, "usage: floor send IFACE SRC COUNT INTERVAL_US SECONDS | floor recv IFACE SECONDS\n"
                    "       floor sendm|sendp IFACE[,IFACE...] COUNT INTERVAL_US SECONDS | floor recvm IFACE[,IFACE...] SECONDS\n");
    return 2;
}
