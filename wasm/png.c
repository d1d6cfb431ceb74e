/*
 * Our PNG codec's hot loops, for WASM. Encoder (src/image/png-encode.ts):
 * packing RGBA rows into the chosen colour type with an adaptive filter per
 * row, and deflating the filtered rows with libdeflate (vendored in
 * wasm/libdeflate, from Debian's libdeflate 1.14 source package; MIT, its
 * COPYING applies), whose level the runtime's CompressionStream cannot set.
 *
 * Rows go in strip by strip (pe_filter), so the caller never copies the
 * whole RGBA image into this heap: it holds the filtered rows, the zlib
 * output and one strip.
 *
 * Decoder (src/image/png-decode.ts, below): unfiltering and expansion to
 * RGBA, and libdeflate's decompressor for IDAT inflated at once, in this
 * module rather than a second one because it is the same format's other
 * half, shares the allocator, and costs one instance.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wasm_simd128.h>

#include "libdeflate.h"

#define EXPORT(name) __attribute__((export_name(#name)))

/* PNG colour types (IHDR), as png-encode.ts's COLOUR. */
enum { GREY = 0, RGB = 2, GREY_ALPHA = 4, RGBA = 6 };

/* Encoder state between calls: one image at a time per instance. */
static struct {
	int width, colour, bpp, stride, adaptive;
	uint8_t *prev, *cur, *trial;
	float *nlogn; /* n * log2(n) for n = 0..stride */
} st;

EXPORT(pe_malloc) void *pe_malloc(size_t n) { return malloc(n); }
EXPORT(pe_free) void pe_free(void *p) { free(p); }

static void release_rows(void) {
	free(st.prev);
	free(st.cur);
	free(st.trial);
	free(st.nlogn);
	memset(&st, 0, sizeof st);
}

/*
 * Start an image (or a run of its rows: the row above the first one is
 * taken as zeros). bpp = bytes per pixel of `colour`. Returns 0 when out of
 * memory.
 */
EXPORT(pe_start) int pe_start(int width, int colour, int bpp, int adaptive) {
	release_rows();
	st.width = width;
	st.colour = colour;
	st.bpp = bpp;
	st.stride = width * bpp;
	st.adaptive = adaptive;
	st.prev = calloc(st.stride, 1);
	st.cur = malloc(st.stride);
	st.trial = malloc(st.stride);
	st.nlogn = malloc(sizeof(float) * (st.stride + 1));
	if (!st.prev || !st.cur || !st.trial || !st.nlogn) {
		release_rows();
		return 0;
	}
	st.nlogn[0] = 0;
	for (int n = 1; n <= st.stride; n++) st.nlogn[n] = n * log2f((float)n);
	return 1;
}

static void pack(const uint8_t *rgba, uint8_t *out) {
	int w = st.width;
	switch (st.colour) {
	case RGBA:
		memcpy(out, rgba, (size_t)w * 4);
		return;
	case RGB:
		for (int x = 0; x < w; x++, rgba += 4, out += 3) {
			out[0] = rgba[0];
			out[1] = rgba[1];
			out[2] = rgba[2];
		}
		return;
	case GREY_ALPHA:
		for (int x = 0; x < w; x++, rgba += 4, out += 2) {
			out[0] = rgba[0];
			out[1] = rgba[3];
		}
		return;
	default: /* GREY */
		for (int x = 0; x < w; x++) out[x] = rgba[4 * x];
	}
}

static inline uint8_t paeth(int a, int b, int c) {
	int p = a + b - c;
	int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* The row `cur` filtered with `type` (1..4) into out; out[i] for i < bpp uses a = c = 0. */
static void filter_row(int type, const uint8_t *cur, const uint8_t *prev, uint8_t *out) {
	int n = st.stride, bpp = st.bpp, i = 0;
	switch (type) {
	case 0:
		memcpy(out, cur, n);
		return;
	case 1:
		for (; i < bpp; i++) out[i] = cur[i];
		for (; i < n; i++) out[i] = cur[i] - cur[i - bpp];
		return;
	case 2:
		for (; i < n; i++) out[i] = cur[i] - prev[i];
		return;
	case 3:
		for (; i < bpp; i++) out[i] = cur[i] - (prev[i] >> 1);
		for (; i < n; i++) out[i] = cur[i] - ((cur[i - bpp] + prev[i]) >> 1);
		return;
	default:
		for (; i < bpp; i++) out[i] = cur[i] - prev[i];
		for (; i < n; i++) out[i] = cur[i] - paeth(cur[i - bpp], prev[i], prev[i - bpp]);
	}
}

/* -Σ c·log2(c) over the byte histogram of `bytes` (n·entropy, up to n·log2 n). */
static float cost(const uint8_t *bytes) {
	uint32_t hist[256] = {0};
	for (int i = 0; i < st.stride; i++) hist[bytes[i]]++;
	float sum = 0;
	for (int v = 0; v < 256; v++) sum -= st.nlogn[hist[v]];
	return sum;
}

/*
 * Filter the row by the least entropy of its output bytes (Shannon, over
 * the row's byte histogram): deflate codes it 1-2% smaller than libpng's
 * least sum of |signed bytes| (BENCHMARKS.md, "PNG encoder").
 */
static void best_row(uint8_t *out) {
	float best = cost(st.cur);
	out[0] = 0;
	memcpy(out + 1, st.cur, st.stride);
	for (int type = 1; type <= 4; type++) {
		filter_row(type, st.cur, st.prev, st.trial);
		float c = cost(st.trial);
		if (c < best) {
			best = c;
			out[0] = (uint8_t)type;
			memcpy(out + 1, st.trial, st.stride);
		}
	}
}

/*
 * Pack and filter `rows` RGBA rows (width * 4 bytes each) into out, each
 * row as PNG stores it: the filter type, then stride bytes.
 */
EXPORT(pe_filter) void pe_filter(const uint8_t *rgba, int rows, uint8_t *out) {
	for (int y = 0; y < rows; y++, rgba += st.width * 4, out += st.stride + 1) {
		pack(rgba, st.cur);
		if (st.adaptive) {
			best_row(out);
		} else {
			out[0] = 0;
			memcpy(out + 1, st.cur, st.stride);
		}
		uint8_t *t = st.prev;
		st.prev = st.cur;
		st.cur = t;
	}
}

/*
 * zlib-format deflate of in[0..n) into out[0..cap) at `level` (1-12).
 * Returns the output's length, 0 if it does not fit in cap, -1 if out of memory.
 */
EXPORT(pe_deflate) int pe_deflate(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int level) {
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
	if (!c) return -1;
	size_t size = libdeflate_zlib_compress(c, in, n, out, cap);
	libdeflate_free_compressor(c);
	return (int)size;
}

/* The most pe_deflate can write for n input bytes. */
EXPORT(pe_deflate_bound) size_t pe_deflate_bound(size_t n) {
	return libdeflate_zlib_compress_bound(NULL, n);
}

/*
 * The decoder's hot loops (src/image/png-decode.ts): IDAT's inflated bytes
 * (inflated by the runtime's DecompressionStream, outside) cut into rows,
 * each row unfiltered against the one above and expanded to 8-bit RGBA as
 * jSquash's decoder (the Rust `png` crate, EXPAND | STRIP_16) does it. State
 * lives in a struct per image, not in statics: a decode awaits its inflater
 * between calls, and other decodes use the instance meanwhile.
 */
typedef struct {
	int width, colour, depth, bpp, stride; /* stride: bytes of a row, filter byte not counted */
	int fill;                              /* bytes of the current row (filter byte first) read */
	int consumed;                          /* input bytes the last pd_rows took */
	int has_key;
	uint16_t key[3];          /* tRNS colour key, at the file's depth */
	uint8_t *prev, *cur;      /* filter byte + stride bytes each; prev is the row above */
	uint8_t palette[256 * 4]; /* PLTE with tRNS alpha, RGBA */
} pd_state;

/* Samples per pixel, by colour type. */
static const uint8_t CHANNELS[7] = {1, 0, 3, 1, 2, 0, 4};

static void pd_release_rows(pd_state *s) {
	free(s->prev);
	free(s->cur);
	s->prev = s->cur = NULL;
}

/* Start a run of rows `width` pixels wide (the image, or an Adam7 pass): the row above counts as zeros. */
EXPORT(pd_segment) int pd_segment(pd_state *s, int width) {
	pd_release_rows(s);
	s->width = width;
	int64_t stride = ((int64_t)width * CHANNELS[s->colour] * s->depth + 7) / 8;
	if (stride > 0x7fffffff - 1) return 0;
	s->stride = (int)stride;
	s->fill = 0;
	/* +1 for the filter byte, +4 of padding for unpaeth_simd's reads past the end */
	s->prev = calloc((size_t)s->stride + 5, 1);
	s->cur = calloc((size_t)s->stride + 5, 1);
	if (!s->prev || !s->cur) {
		pd_release_rows(s);
		return 0;
	}
	return 1;
}

/* A decoder for `colour` (PNG colour type) at `depth` bits; 0 if out of memory. */
EXPORT(pd_new) pd_state *pd_new(int width, int colour, int depth) {
	pd_state *s = calloc(1, sizeof(pd_state));
	if (!s) return NULL;
	s->colour = colour;
	s->depth = depth;
	s->bpp = CHANNELS[colour] * depth / 8;
	if (s->bpp < 1) s->bpp = 1;
	if (!pd_segment(s, width)) {
		free(s);
		return NULL;
	}
	return s;
}

EXPORT(pd_free) void pd_free(pd_state *s) {
	if (!s) return;
	pd_release_rows(s);
	free(s);
}

/* Where the caller writes the 256 RGBA palette entries. */
EXPORT(pd_palette) uint8_t *pd_palette(pd_state *s) { return s->palette; }

EXPORT(pd_key) void pd_key(pd_state *s, int k0, int k1, int k2) {
	s->has_key = 1;
	s->key[0] = (uint16_t)k0;
	s->key[1] = (uint16_t)k1;
	s->key[2] = (uint16_t)k2;
}

EXPORT(pd_consumed) int pd_consumed(const pd_state *s) { return s->consumed; }

/*
 * Paeth for 3 or 4 bytes a pixel, a pixel per step in 16-bit SIMD lanes
 * (as libpng's SSE2 code does it): the predictor depends on the pixel just
 * decoded, so pixels cannot go side by side, but their channels can.
 */
static inline __attribute__((always_inline)) void
unpaeth_simd(uint8_t *row, const uint8_t *prev, int n, const int bpp) {
	v128_t a = wasm_i16x8_splat(0), c = wasm_i16x8_splat(0);
	for (int i = 0; i < n; i += bpp) {
		/* 4 bytes read for 3: the rows are padded (pd_segment). */
		v128_t x = wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(row + i));
		v128_t b = wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(prev + i));
		v128_t pa = wasm_i16x8_abs(wasm_i16x8_sub(b, c));
		v128_t pb = wasm_i16x8_abs(wasm_i16x8_sub(a, c));
		v128_t pc = wasm_i16x8_abs(wasm_i16x8_sub(wasm_i16x8_add(a, b), wasm_i16x8_add(c, c)));
		v128_t use_a = wasm_v128_and(wasm_i16x8_le(pa, pb), wasm_i16x8_le(pa, pc));
		v128_t bc = wasm_v128_bitselect(b, c, wasm_i16x8_le(pb, pc));
		v128_t pred = wasm_v128_bitselect(a, bc, use_a);
		a = wasm_v128_and(wasm_i16x8_add(x, pred), wasm_i16x8_splat(0xff));
		c = b;
		v128_t out = wasm_u8x16_narrow_i16x8(a, a);
		if (bpp == 4) {
			wasm_v128_store32_lane(row + i, out, 0);
		} else {
			wasm_v128_store16_lane(row + i, out, 0);
			wasm_v128_store8_lane(row + i + 2, out, 2);
		}
	}
}

static void unpaeth(uint8_t *row, const uint8_t *prev, int n, int bpp) {
	if (bpp == 4) return unpaeth_simd(row, prev, n, 4);
	if (bpp == 3) return unpaeth_simd(row, prev, n, 3);
	int i = 0;
	for (; i < bpp; i++) row[i] += prev[i];
	for (; i < n; i++) {
		int a = row[i - bpp], b = prev[i], c = prev[i - bpp];
		int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
		row[i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
	}
}

/* Undo a row's filter in place; 0 for an unknown filter type. */
static int unfilter(int type, uint8_t *row, const uint8_t *prev, int n, int bpp) {
	int i = 0;
	switch (type) {
	case 0:
		return 1;
	case 1:
		for (i = bpp; i < n; i++) row[i] += row[i - bpp];
		return 1;
	case 2:
		for (; i < n; i++) row[i] += prev[i];
		return 1;
	case 3:
		for (; i < bpp; i++) row[i] += prev[i] >> 1;
		for (; i < n; i++) row[i] += (row[i - bpp] + prev[i]) >> 1;
		return 1;
	case 4:
		unpaeth(row, prev, n, bpp);
		return 1;
	default:
		return 0;
	}
}

/* Sample x of a row of 1/2/4/8/16-bit samples. */
static inline int sample(const uint8_t *raw, int x, int depth) {
	switch (depth) {
	case 8:
		return raw[x];
	case 16:
		return raw[2 * x] << 8 | raw[2 * x + 1];
	default: {
		int per = 8 / depth;
		return raw[x / per] >> (8 - depth * (x % per + 1)) & ((1 << depth) - 1);
	}
	}
}

static void grey_rgba(const pd_state *s, const uint8_t *raw, uint8_t *out) {
	int depth = s->depth, scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1;
	for (int x = 0; x < s->width; x++, out += 4) {
		int v = sample(raw, x, depth);
		uint8_t g = depth == 16 ? (uint8_t)(v >> 8) : (uint8_t)(v * scale);
		out[0] = out[1] = out[2] = g;
		out[3] = s->has_key && v == s->key[0] ? 0 : 255;
	}
}

static void palette_rgba(const pd_state *s, const uint8_t *raw, uint8_t *out) {
	const uint32_t *pal = (const uint32_t *)s->palette;
	uint32_t *o = (uint32_t *)out;
	if (s->depth == 8) {
		for (int x = 0; x < s->width; x++) o[x] = pal[raw[x]];
		return;
	}
	for (int x = 0; x < s->width; x++) o[x] = pal[sample(raw, x, s->depth)];
}

static void rgb_rgba(const pd_state *s, const uint8_t *raw, uint8_t *out) {
	int step = s->depth / 8;
	for (int x = 0; x < s->width; x++, raw += 3 * step, out += 4) {
		out[0] = raw[0];
		out[1] = raw[step];
		out[2] = raw[2 * step];
		out[3] = 255;
		if (!s->has_key) continue;
		int r = step == 2 ? raw[0] << 8 | raw[1] : raw[0];
		int g = step == 2 ? raw[2] << 8 | raw[3] : raw[1];
		int b = step == 2 ? raw[4] << 8 | raw[5] : raw[2];
		if (r == s->key[0] && g == s->key[1] && b == s->key[2]) out[3] = 0;
	}
}

/* The unfiltered row as 8-bit RGBA (16-bit samples keep their high byte). */
static void to_rgba(const pd_state *s, const uint8_t *raw, uint8_t *out) {
	int w = s->width;
	switch (s->colour) {
	case GREY:
		grey_rgba(s, raw, out);
		return;
	case 3:
		palette_rgba(s, raw, out);
		return;
	case RGB:
		rgb_rgba(s, raw, out);
		return;
	case GREY_ALPHA: {
		int step = s->depth / 8;
		for (int x = 0; x < w; x++, raw += 2 * step, out += 4) {
			out[0] = out[1] = out[2] = raw[0];
			out[3] = raw[step];
		}
		return;
	}
	default: /* RGBA */
		if (s->depth == 8) {
			memcpy(out, raw, (size_t)w * 4);
			return;
		}
		for (int x = 0; x < w * 4; x++) out[x] = raw[2 * x];
	}
}

/*
 * IDAT's zlib stream in[0..n) inflated whole by libdeflate into out, which
 * must come out exactly cap bytes (every row of the image): returns 1, or 0
 * for anything else (a short or long stream, bad data, no memory), on which
 * the caller takes the runtime's streaming inflater, whose handling of such
 * files is the decoder's. What follows the deflate data (the Adler-32, junk)
 * is not looked at, as the streaming path stops at the last row.
 */
EXPORT(pd_inflate) int pd_inflate(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
	/* zlib header as zlib itself accepts it: deflate, window <= 32K, a valid check, no preset dictionary */
	if (n < 2 || (in[0] & 0x0f) != 8 || (in[0] >> 4) > 7 || ((in[0] << 8) | in[1]) % 31 != 0 ||
	    (in[1] & 0x20))
		return 0;
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	if (!d) return 0;
	size_t in_used = 0; /* asked for so that what follows the deflate data is allowed; not read */
	enum libdeflate_result r = libdeflate_deflate_decompress_ex(d, in + 2, n - 2, out, cap, &in_used, NULL);
	libdeflate_free_decompressor(d);
	return r == LIBDEFLATE_SUCCESS;
}

/*
 * Take inflated bytes in[0..n) and write up to max_rows complete rows, as
 * RGBA (width * 4 bytes each), at out. Returns the rows written, -1 for a
 * row with an unknown filter type; pd_consumed() then says how much of the
 * input was taken (the rest waits for the next call).
 */
EXPORT(pd_rows) int pd_rows(pd_state *s, const uint8_t *in, int n, uint8_t *out, int max_rows) {
	int rows = 0, at = 0, row_bytes = s->stride + 1;
	while (rows < max_rows && at < n) {
		int take = row_bytes - s->fill;
		if (take > n - at) take = n - at;
		memcpy(s->cur + s->fill, in + at, (size_t)take);
		s->fill += take;
		at += take;
		if (s->fill < row_bytes) break;
		if (!unfilter(s->cur[0], s->cur + 1, s->prev + 1, s->stride, s->bpp)) {
			s->consumed = at;
			return -1;
		}
		to_rgba(s, s->cur + 1, out + (size_t)rows * s->width * 4);
		uint8_t *t = s->prev;
		s->prev = s->cur;
		s->cur = t;
		s->fill = 0;
		rows++;
	}
	s->consumed = at;
	return rows;
}
