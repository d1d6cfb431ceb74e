/*
 * The two hot loops of our PNG encoder (src/image/png-encode.ts), for WASM:
 * packing RGBA rows into the chosen colour type with an adaptive filter per
 * row, and deflating the filtered rows with libdeflate (vendored in
 * wasm/libdeflate, from Debian's libdeflate 1.14 source package; MIT, its
 * COPYING applies), whose level the runtime's CompressionStream cannot set.
 *
 * Rows go in strip by strip (pe_filter), so the caller never copies the
 * whole RGBA image into this heap: it holds the filtered rows, the zlib
 * output and one strip.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
