/*
 * Our WebP decoder module: libwebp 1.2.4's decoder (vendored in
 * wasm/libwebp, from Debian's source package with its CVE-2023-4863 fix)
 * behind a small API for src/image/webp.ts; built by
 * wasm/build-webp-decode.sh. It imports nothing.
 *
 * Two ways to decode:
 * - decode: the whole image to RGBA, as WebPDecodeRGBA does (lossy, lossless,
 *   alpha; fancy chroma upsampling), for originals small enough to hold.
 * - stream_*: a lossy (VP8) image without alpha, cropped and scaled by
 *   libwebp while it decodes, handed over a few rows at a time. libwebp's
 *   rescaler is an area average fed one macroblock row (16 lines) at a time,
 *   so a stream holds the compressed file, the decoder's few macroblock rows
 *   of state and a few output rows: never the image. Lossless (VP8L) and
 *   alpha keep whole-image buffers inside libwebp (VP8L decodes to width x
 *   height ARGB; an alpha plane is width x height bytes), so they are never
 *   streamed.
 *
 * Errors are libwebp's VP8StatusCode (1 out of memory, 3 bitstream error,
 * 4 unsupported feature, 7 not enough data: a truncated file), reported in
 * result[3]; nothing here traps on bad data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/dec/vp8i_dec.h"
#include "src/dec/webpi_dec.h"
#include "src/dsp/dsp.h"
#include "src/utils/rescaler_utils.h"
#include "src/webp/decode.h"

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("alloc") void *wasm_alloc(size_t size) { return malloc(size); }
EXPORT("release") void wasm_release(void *ptr) { free(ptr); }

/* The last call's output: width, height, byte length, status (VP8StatusCode). */
static uint32_t result[4];
EXPORT("result") uint32_t *wasm_result(void) { return result; }

/*
 * Decode `len` bytes at `data` to RGBA (WebPDecodeRGBA's output: default
 * options, fancy upsampling). Returns a malloc'd buffer (release it), or 0
 * with the status in result[3].
 */
EXPORT("decode") uint8_t *decode(const uint8_t *data, uint32_t len) {
  WebPDecoderConfig config;
  memset(result, 0, sizeof(result));
  if (!WebPInitDecoderConfig(&config)) {
    result[3] = VP8_STATUS_INVALID_PARAM;
    return NULL;
  }
  config.output.colorspace = MODE_RGBA;
  const VP8StatusCode status = WebPDecode(data, len, &config);
  if (status != VP8_STATUS_OK) {
    WebPFreeDecBuffer(&config.output);
    result[3] = status;
    return NULL;
  }
  result[0] = (uint32_t)config.output.width;
  result[1] = (uint32_t)config.output.height;
  result[2] = (uint32_t)config.output.u.RGBA.size;
  /* The buffer was malloc'd by libwebp (WebPSafeMalloc): the caller frees it. */
  return config.output.u.RGBA.rgba;
}

/*
 * The stream: one per instance (the JS side runs one from start to end
 * before the next). Rows come out of libwebp's rescaler into `rows`, a FIFO
 * of `capacity` rows; stream_read hands the first ones over.
 */
static struct {
  VP8Decoder *dec;
  VP8Io io;
  WebPDecoderOptions options;
  WebPRescaler scaler_y, scaler_u, scaler_v;
  uint8_t *memory;   /* rescaler work rows and the FIFO */
  uint8_t *rows;
  uint32_t width;    /* scaled width (bytes a row: width * 4) */
  uint32_t capacity; /* rows the FIFO holds */
  uint32_t count;    /* rows in the FIFO */
  uint32_t handed;   /* rows the last stream_read handed over (dropped next) */
  uint32_t skip;     /* output rows still to drop before the first kept one */
  int open;          /* between VP8EnterCritical and VP8ExitCritical */
} S;

/* [scaled width, scaled height, rows buffer, max rows] */
static uint32_t stream_info[4];

/* io->setup: the crop and scale from the options, three rescalers (Y, U, V). */
static int stream_setup(VP8Io *io) {
  /* (Like libwebp's own scaled decodes, this skips the deblocking filter
   * when it shrinks by more than 4/3 each way: the area average hides the
   * block edges. On the 50 MP test WebP that cut a stream's time by a third
   * to two fifths; every size came out as close to the photo or closer.) */
  if (!WebPIoInitFromOptions(&S.options, io, MODE_YUV)) return 0;
  const int out_w = io->scaled_width, out_h = io->scaled_height;
  const int uv_w = (io->mb_w + 1) >> 1, uv_h = (io->mb_h + 1) >> 1;
  rescaler_t *work = (rescaler_t *)S.memory;
  uint8_t *tmp = (uint8_t *)(work + 3 * 2 * (size_t)out_w);
  S.rows = tmp + 3 * (size_t)out_w;
  WebPInitYUV444Converters();
  return WebPRescalerInit(&S.scaler_y, io->mb_w, io->mb_h, tmp, out_w, out_h, 0, 1, work) &&
         WebPRescalerInit(&S.scaler_u, uv_w, uv_h, tmp + out_w, out_w, out_h, 0, 1,
                          work + 2 * (size_t)out_w) &&
         WebPRescalerInit(&S.scaler_v, uv_w, uv_h, tmp + 2 * (size_t)out_w, out_w, out_h, 0, 1,
                          work + 4 * (size_t)out_w);
}

/* Convert every rescaled row ready (Y and U/V: chroma may lag a line) into the FIFO. */
static int export_rows(void) {
  const size_t stride = (size_t)S.width * 4;
  while (WebPRescalerHasPendingOutput(&S.scaler_y) && WebPRescalerHasPendingOutput(&S.scaler_u)) {
    if (S.count >= S.capacity) return 0;
    WebPRescalerExportRow(&S.scaler_y);
    WebPRescalerExportRow(&S.scaler_u);
    WebPRescalerExportRow(&S.scaler_v);
    WebPYUV444Converters[MODE_RGBA](S.scaler_y.dst, S.scaler_u.dst, S.scaler_v.dst,
                                     S.rows + S.count * stride, (int)S.width);
    if (S.skip > 0) S.skip--;
    else S.count++;
  }
  return 1;
}

/* io->put: one macroblock row's Y/U/V lines (cropped) into the rescalers (EmitRescaledRGB). */
static int stream_put(const VP8Io *io) {
  const int mb_h = io->mb_h, uv_mb_h = (mb_h + 1) >> 1;
  int j = 0, uv_j = 0;
  if (io->mb_w <= 0 || mb_h <= 0) return 0;
  while (j < mb_h) {
    j += WebPRescalerImport(&S.scaler_y, mb_h - j, io->y + (size_t)j * io->y_stride,
                            io->y_stride);
    if (WebPRescaleNeededLines(&S.scaler_u, uv_mb_h - uv_j)) {
      const int n = WebPRescalerImport(&S.scaler_u, uv_mb_h - uv_j,
                                       io->u + (size_t)uv_j * io->uv_stride, io->uv_stride);
      WebPRescalerImport(&S.scaler_v, uv_mb_h - uv_j, io->v + (size_t)uv_j * io->uv_stride,
                         io->uv_stride);
      uv_j += n;
    }
    if (!export_rows()) return 0;
  }
  return 1;
}

static void stream_teardown(const VP8Io *io) { (void)io; }

EXPORT("stream_end") void stream_end(void) {
  if (S.open) VP8ExitCritical(S.dec, &S.io);
  VP8Delete(S.dec);
  free(S.memory);
  memset(&S, 0, sizeof(S));
}

static uint32_t *stream_fail(VP8StatusCode status) {
  result[3] = status;
  stream_end();
  return NULL;
}

/* The VP8 decoder for a lossy file without alpha, its headers read; else a status. */
static VP8StatusCode open_vp8(const uint8_t *data, uint32_t len) {
  WebPHeaderStructure headers;
  memset(&headers, 0, sizeof(headers));
  headers.data = data;
  headers.data_size = len;
  headers.have_all_data = 1;
  const VP8StatusCode status = WebPParseHeaders(&headers);
  if (status != VP8_STATUS_OK) return status;
  /* Lossless or alpha: whole-image buffers in libwebp; not streamed. */
  if (headers.is_lossless || headers.alpha_data != NULL) return VP8_STATUS_UNSUPPORTED_FEATURE;
  VP8InitIo(&S.io);
  S.io.data = headers.data + headers.offset;
  S.io.data_size = headers.data_size - headers.offset;
  S.io.setup = stream_setup;
  S.io.put = stream_put;
  S.io.teardown = stream_teardown;
  S.dec = VP8New();
  if (S.dec == NULL) return VP8_STATUS_OUT_OF_MEMORY;
  if (!VP8GetHeaders(S.dec, &S.io)) return S.dec->status_;
  return VP8_STATUS_OK;
}

/*
 * Start streaming the crop [x, x + w) x [y, y + h) (x and y even: chroma is
 * subsampled) scaled by libwebp to out_w x out_h (at most the crop's size),
 * from output row `first` on, at most max_rows rows a read. Returns
 * stream_info, or 0 with the status in result[3] (the stream is closed).
 * `data` must stay in place until stream_end.
 */
EXPORT("stream_start")
uint32_t *stream_start(const uint8_t *data, uint32_t len, uint32_t x, uint32_t y, uint32_t w,
                       uint32_t h, uint32_t out_w, uint32_t out_h, uint32_t first,
                       uint32_t max_rows) {
  stream_end();
  memset(result, 0, sizeof(result));
  VP8StatusCode status = open_vp8(data, len);
  if (status != VP8_STATUS_OK) return stream_fail(status);
  const int W = S.io.width, H = S.io.height;
  if ((x & 1) || (y & 1) || w == 0 || h == 0 || x + w > (uint32_t)W || y + h > (uint32_t)H ||
      out_w == 0 || out_h == 0 || out_w > w || out_h > h || first >= out_h || max_rows == 0)
    return stream_fail(VP8_STATUS_INVALID_PARAM);
  S.options.use_cropping = 1;
  S.options.crop_left = (int)x;
  S.options.crop_top = (int)y;
  S.options.crop_width = (int)w;
  S.options.crop_height = (int)h;
  S.options.use_scaling = 1;
  S.options.scaled_width = (int)out_w;
  S.options.scaled_height = (int)out_h;
  S.width = out_w;
  /* A macroblock row puts at most 24 lines (16 + the filter's delayed 8): room for them. */
  S.capacity = max_rows + 32;
  const uint64_t bytes = (uint64_t)out_w * (6 * sizeof(rescaler_t) + 3) +
                         (uint64_t)out_w * 4 * S.capacity;
  if (bytes > ((uint64_t)1 << 31)) return stream_fail(VP8_STATUS_OUT_OF_MEMORY);
  S.memory = malloc((size_t)bytes);
  if (S.memory == NULL) return stream_fail(VP8_STATUS_OUT_OF_MEMORY);
  S.skip = first;
  VP8InitDithering(&S.options, S.dec);
  S.open = 1;
  if (VP8EnterCritical(S.dec, &S.io) != VP8_STATUS_OK || !VP8InitFrame(S.dec, &S.io)) {
    const VP8StatusCode s = S.dec->status_;
    return stream_fail(s != VP8_STATUS_OK ? s : VP8_STATUS_OUT_OF_MEMORY);
  }
  S.dec->mb_y_ = 0;
  stream_info[0] = out_w;
  stream_info[1] = out_h;
  stream_info[2] = (uint32_t)(uintptr_t)S.rows;
  stream_info[3] = max_rows;
  return stream_info;
}

/* Decode one macroblock row (VP8's ParseFrame, one iteration): 0 on error. */
static int decode_mb_row(VP8Decoder *dec) {
  VP8BitReader *const token_br = &dec->parts_[dec->mb_y_ & dec->num_parts_minus_one_];
  if (!VP8ParseIntraModeRow(&dec->br_, dec))
    return VP8SetError(dec, VP8_STATUS_NOT_ENOUGH_DATA, "Premature end-of-partition0");
  for (; dec->mb_x_ < dec->mb_w_; ++dec->mb_x_) {
    if (!VP8DecodeMB(dec, token_br))
      return VP8SetError(dec, VP8_STATUS_NOT_ENOUGH_DATA, "Premature end-of-file");
  }
  VP8InitScanline(dec);
  if (!VP8ProcessRow(dec, &S.io)) return VP8SetError(dec, VP8_STATUS_USER_ABORT, "Output");
  dec->mb_y_++;
  return 1;
}

/*
 * Decode until `rows` (<= max rows) rows are ready (fewer at the bottom) and
 * hand them over at the start of the rows buffer; returns how many, or -1
 * with the status in result[3] (the stream is then closed).
 */
EXPORT("stream_read") int32_t stream_read(uint32_t rows) {
  if (S.dec == NULL || rows > stream_info[3]) {
    result[3] = VP8_STATUS_INVALID_PARAM;
    return -1;
  }
  const size_t stride = (size_t)S.width * 4;
  /* Drop what the last read handed over. */
  memmove(S.rows, S.rows + S.handed * stride, (S.count - S.handed) * stride);
  S.count -= S.handed;
  S.handed = 0;
  while (S.count < rows && S.dec->mb_y_ < S.dec->br_mb_y_) {
    if (!decode_mb_row(S.dec)) {
      stream_fail(S.dec->status_);
      return -1;
    }
  }
  S.handed = S.count < rows ? S.count : rows;
  return (int32_t)S.handed;
}
