// CHDF5: the HDF5 C library (Debian's libhdf5-dev, serial build). Provides no stable Swift API; only the NeXus
// module imports it. HDF5's predefined type and property-list identifiers are macros that call H5open() and
// read a global, which Swift cannot import, so they are re-exported here as small inline functions.
#ifndef APTWIN_CHDF5_SHIM_H
#define APTWIN_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t aptwin_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t aptwin_h5s_all(void) { return H5S_ALL; }
static inline hid_t aptwin_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t aptwin_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t aptwin_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t aptwin_h5p_group_create(void) { return H5P_GROUP_CREATE; }
static inline hid_t aptwin_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned aptwin_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned aptwin_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline size_t aptwin_h5t_variable(void) { return H5T_VARIABLE; }

// Memory (native) types.
static inline hid_t aptwin_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t aptwin_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t aptwin_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t aptwin_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t aptwin_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t aptwin_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t aptwin_h5t_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t aptwin_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t aptwin_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
// File types (little-endian, as numpy/h5py write on x86 and ARM).
static inline hid_t aptwin_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t aptwin_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t aptwin_h5t_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t aptwin_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t aptwin_h5t_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t aptwin_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t aptwin_h5t_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t aptwin_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t aptwin_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t aptwin_h5t_c_s1(void) { return H5T_C_S1; }

// Turns off HDF5's automatic printing of the error stack for the calling thread (the thread-safe build keeps one
// stack per thread), so that failures reach Swift only as return codes and messages.
static inline void aptwin_h5_silence_errors(void) { (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t aptwin_h5_error_walk(unsigned n, const H5E_error2_t *e, void *data) {
    char *out = (char *)data;
    if (n == 0 && e != NULL && e->desc != NULL) {
        size_t i = 0;
        for (; e->desc[i] != 0 && i < 255; i++) out[i] = e->desc[i];
        out[i] = 0;
    }
    return 0;
}

/// Copies the innermost message of the calling thread's error stack (at most 255 bytes) into `out` (256 bytes),
/// or an empty string, and clears the stack.
static inline void aptwin_h5_last_error(char *out) {
    out[0] = 0;
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, aptwin_h5_error_walk, out);
    (void)H5Eclear2(H5E_DEFAULT);
}
#endif
