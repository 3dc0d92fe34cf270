// CGSL: the GSL headers AtomProbeTwin uses. Provides no stable Swift API; only GSLKit imports it.
#ifndef APTWIN_CGSL_SHIM_H
#define APTWIN_CGSL_SHIM_H
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_fft_complex.h>
#endif
