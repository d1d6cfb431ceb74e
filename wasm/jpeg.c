/*
 * Our JPEG codec module: libjpeg-turbo 2.1.5 (vendored in wasm/libjpeg-turbo),
 * with WASM SIMD colour conversion, IDCTs and chroma resampling from
 * wasm/jsimd_wasm.c, behind a small API for src/image/jpeg.ts; built by
 * wasm/build-jpeg.sh.
 *
 * Why not @jsquash/jpeg's decoder: it always decodes at full size. libjpeg
 * can decode a JPEG at M/8 of its size by running a smaller inverse DCT on
 * each 8x8 block (what libvips calls shrink-on-load): a 150x150 thumbnail of
 * a 2560x1707 photo then starts from 320x214 pixels, with 1/64 of the IDCT,
 * colour conversion and upsampling work and of the memory.
 *
 * Errors: libjpeg reports a fatal error through error_exit, which must not
 * return. There is no setjmp in this target, so error_exit calls the
 * imported `fail`, which throws a JavaScript exception through the WASM
 * frames; the instance's heap is then in an unknown state and the caller
 * discards the instance (Lazy in src/image/wasm-lazy.ts).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jpeglib.h"

#define EXPORT(name) __attribute__((export_name(name)))

/* Largest pixel buffer made or read (bytes): well inside a 4 GB wasm32 heap. */
#define MAX_BUFFER ((uint64_t)1 << 31)

__attribute__((import_module("env"), import_name("fail"))) void js_fail(const char *message);

static char message[JMSG_LENGTH_MAX];

static void error_exit(j_common_ptr cinfo) {
  (*cinfo->err->format_message)(cinfo, message);
  js_fail(message);
  abort(); /* not reached: fail throws */
}

/* Warnings (e.g. corrupt data that libjpeg can skip) are not fatal. */
static void emit_message(j_common_ptr cinfo, int level) {
  if (level < 0) cinfo->err->num_warnings++;
}

static void output_message(j_common_ptr cinfo) { (void)cinfo; }

static void init_errors(struct jpeg_error_mgr *err) {
  jpeg_std_error(err);
  err->error_exit = error_exit;
  err->emit_message = emit_message;
  err->output_message = output_message;
}

EXPORT("alloc") void *wasm_alloc(size_t size) { return malloc(size); }
EXPORT("release") void wasm_release(void *ptr) { free(ptr); }

/* The last call's output: width, height, byte length, corrupt-data warnings. */
static uint32_t result[4];
EXPORT("result") uint32_t *wasm_result(void) { return result; }

/*
 * Decode `len` bytes at `data` to RGBA at scale_num/8 of the stored size
 * (scale_num 1..8; libjpeg rounds each side up). Returns a malloc'd RGBA
 * buffer; its size is in result[0..2].
 */
EXPORT("decode") uint8_t *decode(const uint8_t *data, uint32_t len, int scale_num) {
  struct jpeg_decompress_struct cinfo;
  struct jpeg_error_mgr err;
  cinfo.err = &err;
  init_errors(&err);
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, len);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_EXT_RGBA;
  cinfo.scale_num = (unsigned int)scale_num;
  cinfo.scale_denom = 8;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&cinfo);
  /* size_t is 32 bits here: size the buffer in 64 bits, and refuse what
   * does not fit (the worker's limits refuse such files long before). */
  const uint64_t stride = (uint64_t)cinfo.output_width * 4;
  const uint64_t total = stride * cinfo.output_height;
  if (total > MAX_BUFFER) {
    jpeg_destroy_decompress(&cinfo);
    js_fail("image too large");
  }
  uint8_t *pixels = malloc((size_t)total);
  if (!pixels) {
    jpeg_destroy_decompress(&cinfo);
    js_fail("out of memory");
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[4];
    for (int i = 0; i < 4; i++) {
      /* rows past the last are never written (read_scanlines stops there) */
      const uint64_t y = (uint64_t)cinfo.output_scanline + i;
      rows[i] = pixels + (size_t)((y < cinfo.output_height ? y : 0) * stride);
    }
    jpeg_read_scanlines(&cinfo, rows, cinfo.output_height - cinfo.output_scanline < 4
                                          ? cinfo.output_height - cinfo.output_scanline
                                          : 4);
  }
  result[0] = cinfo.output_width;
  result[1] = cinfo.output_height;
  result[2] = (uint32_t)total;
  result[3] = (uint32_t)err.num_warnings;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return pixels;
}

/*
 * Streaming decode: one stream per instance (the JS side runs a stream from
 * start to end in one synchronous call chain, so streams never interleave).
 * stream_start reads the header, decodes at scale_num/8, crops the columns
 * to [x, x + w) (widened by libjpeg to iMCU boundaries) and skips the rows
 * above y; stream_read then decodes up to `rows` rows (≤ max_rows) into one
 * buffer; stream_end frees everything, whether or not every row was read.
 * Memory: the compressed bytes (the caller's), libjpeg's iMCU-row buffers
 * and max_rows cropped rows, never the whole image (baseline files; a
 * progressive file's coefficients are held whole by libjpeg itself).
 */
static struct jpeg_decompress_struct stream;
static struct jpeg_error_mgr stream_err;
static int stream_open = 0;
static uint8_t *stream_rows = NULL;
/* [scaled width, scaled height, first column, columns, first row, buffer, max rows] */
static uint32_t stream_info[7];

EXPORT("stream_end") void stream_end(void) {
  if (stream_open) jpeg_destroy_decompress(&stream);
  stream_open = 0;
  free(stream_rows);
  stream_rows = NULL;
}

EXPORT("stream_start")
uint32_t *stream_start(const uint8_t *data, uint32_t len, int scale_num, uint32_t x, uint32_t w,
                       uint32_t y, uint32_t max_rows) {
  stream_end();
  stream.err = &stream_err;
  init_errors(&stream_err);
  jpeg_create_decompress(&stream);
  stream_open = 1;
  jpeg_mem_src(&stream, data, len);
  jpeg_read_header(&stream, TRUE);
  stream.out_color_space = JCS_EXT_RGBA;
  stream.scale_num = (unsigned int)scale_num;
  stream.scale_denom = 8;
  stream.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&stream);
  stream_info[0] = stream.output_width;
  stream_info[1] = stream.output_height;
  if (x + w > stream.output_width || y > stream.output_height || w == 0 || max_rows == 0)
    js_fail("stream window outside the image");
  JDIMENSION xoff = x, width = w;
  if (x != 0 || w != stream.output_width) jpeg_crop_scanline(&stream, &xoff, &width);
  if (y > 0) jpeg_skip_scanlines(&stream, y);
  const uint64_t bytes = (uint64_t)stream.output_width * 4 * max_rows;
  if (bytes > MAX_BUFFER) js_fail("image too large");
  stream_rows = malloc((size_t)bytes);
  if (!stream_rows) js_fail("out of memory");
  stream_info[2] = xoff;
  stream_info[3] = stream.output_width; /* after the crop: its columns */
  stream_info[4] = stream.output_scanline;
  stream_info[5] = (uint32_t)(uintptr_t)stream_rows;
  stream_info[6] = max_rows;
  return stream_info;
}

/* Decode the next `rows` rows (fewer at the bottom) into the buffer; returns how many. */
EXPORT("stream_read") uint32_t stream_read(uint32_t rows) {
  if (!stream_open || rows > stream_info[6]) js_fail("stream_read without a stream");
  const size_t stride = (size_t)stream.output_width * 4;
  uint32_t done = 0;
  while (done < rows && stream.output_scanline < stream.output_height) {
    JSAMPROW row = stream_rows + done * stride;
    done += jpeg_read_scanlines(&stream, &row, 1);
  }
  result[3] = (uint32_t)stream_err.num_warnings;
  return done;
}

/*
 * A quantisation table for luma and chroma alike, proposed by Nicolas
 * Robidoux on the ImageMagick forum (2012) and used by mozjpeg as its
 * default (table 3). Against the JPEG Annex K tables it spends fewer bits
 * on chroma detail and the highest frequencies.
 */
static const unsigned int robidoux_table[DCTSIZE2] = {
  16, 16, 16, 18, 25, 37, 56, 85,
  16, 17, 20, 27, 34, 40, 53, 75,
  16, 20, 24, 31, 43, 62, 91, 135,
  18, 27, 31, 40, 53, 74, 106, 156,
  25, 34, 43, 53, 69, 94, 131, 189,
  37, 40, 62, 74, 94, 124, 169, 238,
  56, 53, 91, 106, 131, 169, 226, 311,
  85, 75, 135, 156, 189, 238, 311, 418,
};

/*
 * Encode RGBA pixels as a baseline (or progressive) JPEG with optimised
 * Huffman tables and 4:2:0 (subsample 2) or 4:4:4 (1) chroma. Quantisation:
 * libjpeg's standard (Annex K) tables (tables 0) or the Robidoux table
 * (tables 3), scaled to `quality` by libjpeg's usual curve. Returns a
 * malloc'd buffer; its length is in result[2].
 */
EXPORT("encode")
uint8_t *encode(const uint8_t *rgba, uint32_t width, uint32_t height, int quality,
                int progressive, int subsample, int tables) {
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr err;
  cinfo.err = &err;
  init_errors(&err);
  jpeg_create_compress(&cinfo);
  unsigned char *out = NULL;
  unsigned long out_len = 0;
  jpeg_mem_dest(&cinfo, &out, &out_len);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_EXT_RGBA;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (tables == 3) {
    const int scale = jpeg_quality_scaling(quality);
    jpeg_add_quant_table(&cinfo, 0, robidoux_table, scale, TRUE);
    jpeg_add_quant_table(&cinfo, 1, robidoux_table, scale, TRUE);
  }
  cinfo.optimize_coding = TRUE;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.comp_info[0].h_samp_factor = subsample;
  cinfo.comp_info[0].v_samp_factor = subsample;
  if (progressive) jpeg_simple_progression(&cinfo);
  if ((uint64_t)width * 4 * height > MAX_BUFFER) {
    jpeg_destroy_compress(&cinfo);
    js_fail("image too large");
  }
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = (size_t)width * 4;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(rgba + (size_t)cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  result[0] = width;
  result[1] = height;
  result[2] = (uint32_t)out_len;
  result[3] = 0;
  return out;
}
