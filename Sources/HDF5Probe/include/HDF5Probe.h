// HDF5Probe: reads a whole HDF5 file in a forked child process, so that a crash of libhdf5 on a damaged file
// (HDF5 1.10.8 trusts some on-disk sizes and indices, e.g. in H5HG_read) ends the child, not the caller.
// Provides no stable Swift API; only the NeXus module uses it.
#ifndef APTWIN_HDF5_PROBE_H
#define APTWIN_HDF5_PROBE_H

/// Outcome of `aptwin_hdf5_probe`.
typedef enum {
    APTWIN_PROBE_OK = 0,          ///< the child read every object without crashing
    APTWIN_PROBE_CRASHED = 1,     ///< the child died of a signal (its number in *signal_out)
    APTWIN_PROBE_TIMEOUT = 2,     ///< the child did not finish in time and was killed
    APTWIN_PROBE_NOT_RUN = 3,     ///< fork failed; nothing was checked
    APTWIN_PROBE_UNREADABLE = 4,  ///< HDF5 could not open the file (an ordinary error, no crash)
    APTWIN_PROBE_READ_FAILED = 5  ///< an attribute or dataset could not be read (or needed over 2 GiB of memory)
} aptwin_probe_result;

/// Forks; the child opens `path` read-only, visits every object, reads every attribute and every dataset of at
/// most `max_dataset_bytes` bytes in full (the rest: their first element) with HDF5's native conversions, and
/// exits; its address space is limited to its size at the fork plus 2 GiB (Linux). The parent waits up to `timeout_seconds`. The caller must make sure no other thread is inside HDF5
/// while this runs (the child inherits HDF5's lock state).
aptwin_probe_result aptwin_hdf5_probe(const char *path, double max_dataset_bytes, double timeout_seconds, int *signal_out);

#endif
