#define _POSIX_C_SOURCE 200809L
#include "HDF5Probe.h"
#include <hdf5.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double probe_max_bytes = 0;
static double probe_file_bytes = 0;
static int probe_failed = 0;   // a read of existing data failed (in the child, under its memory limit)

// Limits the child's address space to what it has plus 2 GiB: a damaged variable-length descriptor can make HDF5
// allocate (and clear) many gigabytes, which then fails here instead of exhausting the machine.
static void limit_memory(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f != NULL && fscanf(f, "%lu", &pages) == 1 && pages > 0) {
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)2 << 30);
        setrlimit(RLIMIT_AS, &rl);
    }
    if (f != NULL) fclose(f);
}

static void read_attribute(hid_t a) {
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    if (t < 0 || s < 0) goto done;
    hssize_t n = H5Sget_simple_extent_npoints(s);
    if (n <= 0 || n > (1 << 20)) goto done;
    if (H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5T_CSET_UTF8);
            char **buf = calloc((size_t)n, sizeof(char *));
            if (buf != NULL && H5Aread(a, mt, buf) >= 0) H5Dvlen_reclaim(mt, s, H5P_DEFAULT, buf); else probe_failed = 1;
            free(buf);
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(t);
            if (sz > 0 && (double)sz * (double)n < 64e6) {
                void *buf = malloc(sz * (size_t)n);
                if (buf == NULL || H5Aread(a, t, buf) < 0) probe_failed = 1;
                free(buf);
            }
        }
    } else if (H5Tget_class(t) == H5T_INTEGER || H5Tget_class(t) == H5T_FLOAT || H5Tget_class(t) == H5T_ENUM) {
        hid_t nt = H5Tget_native_type(t, H5T_DIR_DEFAULT);
        size_t sz = nt >= 0 ? H5Tget_size(nt) : 0;
        if (sz > 0 && sz <= 16 && (double)sz * (double)n < 64e6) {
            void *buf = malloc(sz * (size_t)n);
            if (buf == NULL || H5Aread(a, nt, buf) < 0) probe_failed = 1;
            free(buf);
        }
        if (nt >= 0) H5Tclose(nt);
    }
done:
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
}

static herr_t attribute_cb(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
    (void)info; (void)op;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a >= 0) { read_attribute(a); H5Aclose(a); }
    return 0;
}

static void read_dataset(hid_t d) {
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    if (t < 0 || s < 0) goto done;
    hssize_t n = H5Sget_simple_extent_npoints(s);
    if (n <= 0) goto done;
    H5T_class_t c = H5Tget_class(t);
    if (c == H5T_STRING) {
        if (n > (1 << 20)) goto done;
        if (H5Tis_variable_str(t) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5T_CSET_UTF8);
            char **buf = calloc((size_t)n, sizeof(char *));
            if (buf != NULL && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) H5Dvlen_reclaim(mt, s, H5P_DEFAULT, buf); else probe_failed = 1;
            free(buf);
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(t);
            if (sz > 0 && (double)sz * (double)n <= probe_max_bytes) {
                void *buf = malloc(sz * (size_t)n);
                if (buf == NULL || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) probe_failed = 1;
                free(buf);
            }
        }
    } else if (c == H5T_INTEGER || c == H5T_FLOAT || c == H5T_ENUM) {
        hid_t nt = H5Tget_native_type(t, H5T_DIR_DEFAULT);
        size_t sz = nt >= 0 ? H5Tget_size(nt) : 0;
        if (sz > 0 && sz <= 16) {
            // The same bound as the Swift reader: data beyond 1100 x the allocated storage (or 1 MiB) are refused
            // there unread, so they are not read here either.
            double stored = (double)H5Dget_storage_size(d);
            if (stored > probe_file_bytes) stored = probe_file_bytes;   // a damaged layout can claim more
            double limit = 1100.0 * stored;
            if (limit < 1048576.0) limit = 1048576.0;
            if (limit > probe_max_bytes) limit = probe_max_bytes;
            if ((double)sz * (double)n <= limit) {
                void *buf = malloc(sz * (size_t)n);
                if (buf == NULL || H5Dread(d, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) probe_failed = 1;
                free(buf);
            } else {
                // Too large to read twice: read the first element (exercises the layout and filters).
                int rank = H5Sget_simple_extent_ndims(s);
                if (rank > 0 && rank <= 32) {
                    hsize_t start[32] = {0}, count[32];
                    for (int i = 0; i < rank; i++) count[i] = 1;
                    hid_t fs = H5Scopy(s);
                    hsize_t one = 1;
                    hid_t ms = H5Screate_simple(1, &one, NULL);
                    unsigned char buf[16];
                    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
                        if (H5Dread(d, nt, ms, fs, H5P_DEFAULT, buf) < 0) probe_failed = 1;
                    if (fs >= 0) H5Sclose(fs);
                    if (ms >= 0) H5Sclose(ms);
                }
            }
        }
        if (nt >= 0) H5Tclose(nt);
    }
done:
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
}

static herr_t visit_cb(hid_t root, const char *name, const H5O_info_t *info, void *op) {
    (void)op;
    hid_t o = H5Oopen(root, name, H5P_DEFAULT);
    if (o < 0) return 0;
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, attribute_cb, NULL);
    if (info->type == H5O_TYPE_DATASET) read_dataset(o);
    H5Oclose(o);
    return 0;
}

static int probe_child(const char *path) {
    limit_memory();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0) return 4;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 4;
    if (H5Ovisit1(f, H5_INDEX_NAME, H5_ITER_INC, visit_cb, NULL) < 0) probe_failed = 1;
    H5Fclose(f);
    return probe_failed ? 5 : 0;
}

aptwin_probe_result aptwin_hdf5_probe(const char *path, double max_dataset_bytes, double timeout_seconds, int *signal_out) {
    *signal_out = 0;
    probe_max_bytes = max_dataset_bytes;
    struct stat st;
    probe_file_bytes = stat(path, &st) == 0 ? (double)st.st_size : 0;
    pid_t pid = fork();
    if (pid < 0) return APTWIN_PROBE_NOT_RUN;
    if (pid == 0) _exit(probe_child(path));
    struct timespec t0, now, nap = {0, 100000};   // 0.1 ms, doubling to 5 ms: small files return quickly
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return APTWIN_PROBE_NOT_RUN;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec) > timeout_seconds) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return APTWIN_PROBE_TIMEOUT;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 5000000) nap.tv_nsec *= 2;
    }
    if (WIFSIGNALED(status)) { *signal_out = WTERMSIG(status); return APTWIN_PROBE_CRASHED; }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4) return APTWIN_PROBE_UNREADABLE;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 5) return APTWIN_PROBE_READ_FAILED;
    return APTWIN_PROBE_OK;
}
