// CPNG: libpng's simplified API. Provides no stable Swift API; only FileFormats imports it.
// Composite format macros do not import into Swift, so they are re-exported as constants.
#ifndef APTWIN_CPNG_SHIM_H
#define APTWIN_CPNG_SHIM_H
#include <png.h>
static const unsigned int APTWIN_PNG_FORMAT_GRAY = PNG_FORMAT_GRAY;
static const unsigned int APTWIN_PNG_FORMAT_LINEAR_Y = PNG_FORMAT_LINEAR_Y;
static const unsigned int APTWIN_PNG_FORMAT_RGB = PNG_FORMAT_RGB;
static const unsigned int APTWIN_PNG_FORMAT_RGBA = PNG_FORMAT_RGBA;
static const unsigned int APTWIN_PNG_IMAGE_VERSION = PNG_IMAGE_VERSION;
static inline size_t aptwin_png_image_size(png_imagep image) { return PNG_IMAGE_SIZE(*image); }
static inline int aptwin_png_is_16bit(png_imagep image) { return (image->format & PNG_FORMAT_FLAG_LINEAR) != 0; }
static inline int aptwin_png_is_color(png_imagep image) { return (image->format & PNG_FORMAT_FLAG_COLOR) != 0; }
#endif
