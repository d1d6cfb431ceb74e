/*
 * Separable RGBA8 resize kernel for wp-edge-images, compiled to a freestanding
 * WASM module with SIMD (wasm/build-resize.sh). No imports, no libc: a bump
 * allocator over the module's own memory, grown as needed.
 *
 * Geometry. The source is an image of src_w x src_h pixels; pixel j covers
 * [j, j+1) and is sampled at its centre j + 0.5. A window x0, y0, ww, wh
 * (doubles: fractional windows come from DCT-scaled JPEG decoding) is mapped
 * edge to edge onto out_w x out_h, so output pixel i's centre lies at source
 * coordinate
 *     c(i) = x0 + (i + 0.5) * ww / out_w.
 * Output pixel i = sum over source pixels j of K((j + 0.5 - c(i)) / s) * p(j),
 * with s = max(1, ww / out_w): when reducing, the filter is stretched by the
 * reduction factor so it is a proper low-pass (antialiasing) filter; when
 * enlarging it interpolates. The weights of each output pixel are normalised
 * to sum to 1. Taps outside the image are clamped to the edge pixel (their
 * weight is added to pixel 0 or src_w - 1). Same for rows.
 *
 * Order. The kernel is separable: each needed source row is filtered
 * horizontally once (into a ring buffer holding just the rows the current
 * output row's vertical taps need), then each output row is a weighted sum of
 * ring rows. Source rows are read once, sequentially; the ring stays in cache.
 * They arrive in chunks of a few hundred KB (rs_feed), so the module never
 * holds the source: its heap is the output plus a few rows.
 *
 * Arithmetic. Opaque sources use fixed point, like libvips/pillow-simd:
 * weights are int16 with 14 fractional bits (each output's weights sum to
 * exactly 1 << 14, so a constant image stays exactly constant), the
 * horizontal pass keeps 6 fractional bits in int16 (range -512..511: room for
 * lanczos overshoot), and i32x4.dot_i16x8_s does two multiply-adds per lane.
 * Premultiplied alpha (sources with transparent pixels) uses f32x4 per pixel:
 * colour * alpha / 255 before, colour * 255 / alpha after. Results are
 * rounded and clamped to 0..255.
 *
 * API (one resize at a time per instance):
 *   rs_prepare(...) computes the weights, reserves every buffer and returns a
 *     pointer to int32 info[7] = { in_x, in_y, in_w, in_h, in_ptr, out_ptr,
 *     chunk }: the source rows in_y .. in_y + in_h - 1, columns in_x ..
 *     in_x + in_w - 1 (the window plus filter support, clamped to the image)
 *     are needed, in order;
 *   rs_feed(rows) takes the next `rows` (<= chunk) of them, packed (in_w * 4
 *     bytes per row) at in_ptr, and writes every output row they complete;
 *     after the last one the out_w x out_h RGBA8 result is at out_ptr.
 * Memory only grows; the caller drops the instance when it gets too big.
 * Allocation failure traps (unreachable).
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef unsigned long size_t;

enum { FILTER_TRIANGLE = 0, FILTER_CATROM = 1, FILTER_MITCHELL = 2, FILTER_LANCZOS3 = 3, FILTER_BOX = 4 };
enum { FLAG_PREMULTIPLY = 1, FLAG_FLOAT = 2 };

#define WBITS 14 /* fractional bits of the int16 weights */
#define HBITS 6  /* fractional bits of the horizontal pass's int16 output */

/* ---- memory -------------------------------------------------------------- */

extern unsigned char __heap_base;
static uintptr_t bump;

/* Freestanding: the compiler may turn loops into calls to these. */
void *memset(void *dst, int c, size_t n) {
	unsigned char *d = dst;
	while (n--) *d++ = (unsigned char)c;
	return dst;
}
void *memcpy(void *dst, const void *src, size_t n) {
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--) *d++ = *s++;
	return dst;
}

static void *alloc(uint64_t n) {
	uint64_t start = (bump + 15) & ~(uint64_t)15;
	uint64_t end = start + n + 16; /* 16 bytes of slack: SIMD loads may overrun */
	if (end > 0xFFFF0000ull) __builtin_trap();
	uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) << 16;
	if (end > have) {
		if (__builtin_wasm_memory_grow(0, (size_t)((end - have + 0xFFFF) >> 16)) == (size_t)-1)
			__builtin_trap();
	}
	bump = (uintptr_t)end;
	return (void *)(uintptr_t)start;
}

/* ---- filters ------------------------------------------------------------- */

static const double PI = 3.14159265358979323846;

/* sin(x) for |x| <= ~10: reduce to [-pi/2, pi/2], then an odd Taylor
 * polynomial to x^17 (error < 1e-12 there; far below int16 weight steps). */
static double sine(double x) {
	double k = __builtin_floor(x / PI + 0.5); /* x = k*pi + r, |r| <= pi/2 */
	double r = x - k * PI;
	double r2 = r * r;
	double term = r, sum = r;
	for (int n = 1; n <= 8; n++) {
		term *= -r2 / ((2 * n) * (2 * n + 1));
		sum += term;
	}
	return ((int64_t)k & 1) ? -sum : sum; /* sin(r + k*pi) = (-1)^k sin(r) */
}

/* Mitchell-Netravali cubic with parameters B, C (catrom: 0, 1/2; mitchell: 1/3, 1/3). */
static double cubic(double x, double B, double C) {
	if (x < 1)
		return ((12 - 9 * B - 6 * C) * x * x * x + (-18 + 12 * B + 6 * C) * x * x + (6 - 2 * B)) / 6;
	if (x < 2)
		return ((-B - 6 * C) * x * x * x + (6 * B + 30 * C) * x * x + (-12 * B - 48 * C) * x +
		        (8 * B + 24 * C)) / 6;
	return 0;
}

/* Box (area average): the weight of source pixel j is how much of [j, j+1)
 * the output pixel's footprint [c - scale/2, c + scale/2] covers. It is used
 * only to reduce, as a cheap pre-shrink before a windowed filter. */
static double box_overlap(int j, double c, double scale) {
	double lo = c - scale / 2, hi = c + scale / 2;
	double a = j > lo ? j : lo, b = j + 1 < hi ? j + 1 : hi;
	return b > a ? b - a : 0;
}

static double filter_radius(int filter) {
	switch (filter) {
	case FILTER_TRIANGLE: return 1;
	case FILTER_CATROM:
	case FILTER_MITCHELL: return 2;
	default: return 3;
	}
}

static double filter_at(int filter, double x) {
	if (x < 0) x = -x;
	switch (filter) {
	case FILTER_TRIANGLE: return x < 1 ? 1 - x : 0;
	case FILTER_CATROM: return cubic(x, 0, 0.5);
	case FILTER_MITCHELL: return cubic(x, 1.0 / 3, 1.0 / 3);
	default:
		/* lanczos3: sinc(x) sinc(x/3) = 3 sin(pi x) sin(pi x / 3) / (pi x)^2 */
		if (x < 1e-8) return 1;
		if (x >= 3) return 0;
		return 3 * sine(PI * x) * sine(PI * x / 3) / (PI * PI * x * x);
	}
}

/* ---- weights ------------------------------------------------------------- */

/* One axis: for output i, taps n (same for all, zero-padded) starting at
 * source index start[i] (relative to the copied sub-image, which begins at lo). */
typedef struct {
	int n;
	int lo, hi; /* needed source range [lo, hi): every start, every non-zero tap */
	int32_t *start;
	int16_t *wi; /* out_len * n fixed-point weights */
	float *wf;   /* out_len * n float weights */
} Axis;

static void axis_weights(Axis *a, int src_len, double origin, double span, int out_len, int filter,
                         int multiple) {
	double scale = span / out_len;
	double stretch = scale > 1 ? scale : 1;
	/* Box: a pixel overlaps the footprint iff its centre is within scale/2 + 1/2. */
	double radius = filter == FILTER_BOX ? scale / 2 + 0.5 : filter_radius(filter) * stretch;
	int n = (int)__builtin_ceil(2 * radius) + 1;
	if (n > src_len) n = src_len; /* clamped taps fold onto at most src_len pixels */
	n = (n + multiple - 1) / multiple * multiple;
	a->n = n;
	a->start = alloc((uint64_t)out_len * 4);
	a->wi = alloc((uint64_t)out_len * n * 2);
	a->wf = alloc((uint64_t)out_len * n * 4);
	double *w = alloc((uint64_t)n * 8);
	a->lo = src_len;
	a->hi = 0;
	for (int i = 0; i < out_len; i++) {
		double c = origin + (i + 0.5) * scale;
		/* taps j with |j + 0.5 - c| < radius */
		int jlo = (int)__builtin_ceil(c - radius - 0.5);
		int jhi = (int)__builtin_floor(c + radius - 0.5);
		int first = jlo < 0 ? 0 : jlo >= src_len ? src_len - 1 : jlo;
		int last = jhi < 0 ? 0 : jhi >= src_len ? src_len - 1 : jhi;
		/* Keep n taps in the image where possible: start = min(first, src_len - n). */
		int start = first;
		if (start + n > src_len) start = src_len - n > 0 ? src_len - n : 0;
		for (int t = 0; t < n; t++) w[t] = 0;
		double sum = 0;
		for (int j = jlo; j <= jhi; j++) {
			double k = filter == FILTER_BOX ? box_overlap(j, c, scale)
			                                : filter_at(filter, (j + 0.5 - c) / stretch);
			int jc = j < 0 ? 0 : j >= src_len ? src_len - 1 : j; /* clamp to edge */
			w[jc - start] += k;
			sum += k;
		}
		if (sum == 0) { /* cannot happen for these filters; nearest pixel as a fallback */
			int jc = (int)__builtin_floor(c);
			jc = jc < first ? first : jc > last ? last : jc;
			w[jc - start] = sum = 1;
		}
		/* Normalise; round to fixed point, putting the rounding residue on the
		 * largest weight so the fixed-point weights sum to exactly 1 << WBITS. */
		int total = 0, big = 0;
		for (int t = 0; t < n; t++) {
			w[t] /= sum;
			double f = w[t] * (1 << WBITS);
			int q = (int)(f < 0 ? f - 0.5 : f + 0.5);
			a->wi[i * n + t] = (int16_t)q;
			a->wf[i * n + t] = (float)w[t];
			total += q;
			if (w[t] > w[big]) big = t;
		}
		a->wi[i * n + big] += (int16_t)((1 << WBITS) - total);
		a->start[i] = start;
		if (start < a->lo) a->lo = start;
		if (last + 1 > a->hi) a->hi = last + 1;
	}
	for (int i = 0; i < out_len; i++) a->start[i] -= a->lo;
}

/* ---- state between rs_prepare and rs_feed --------------------------------- */

/* Source rows per rs_feed call: about this many bytes. */
#define CHUNK_BYTES (256 * 1024)

static struct {
	int out_w, out_h, flags;
	int in_w, in_h;
	int chunk;       /* rows the input buffer holds */
	int filled;      /* source rows filtered into the ring so far */
	int next_y;      /* next output row to write */
	Axis h, v;
	uint8_t *in, *out;
	int ring_rows, ring_stride; /* elements per ring row (int16 or f32) */
	void *ring;
	float *rowf; /* float path: one source row as premultiplied f32x4 */
	void **rows; /* vertical taps' ring rows */
} S;
static int32_t info[7];

int32_t *rs_prepare(int src_w, int src_h, double x0, double y0, double ww, double wh, int out_w,
                    int out_h, int filter, int flags) {
	bump = (uintptr_t)&__heap_base;
	if (src_w < 1 || src_h < 1 || out_w < 1 || out_h < 1 || !(ww > 0) || !(wh > 0))
		__builtin_trap();
	if (flags & FLAG_PREMULTIPLY) flags |= FLAG_FLOAT;
	S.out_w = out_w;
	S.out_h = out_h;
	S.flags = flags;
	/* Horizontal taps in multiples of 4 (one 16-byte load), vertical in pairs. */
	axis_weights(&S.h, src_w, x0, ww, out_w, filter, 4);
	axis_weights(&S.v, src_h, y0, wh, out_h, filter, 2);
	S.in_w = S.h.hi - S.h.lo;
	S.in_h = S.v.hi - S.v.lo;
	/* Padded horizontal taps may read up to n pixels past a row's end. */
	S.chunk = CHUNK_BYTES / (S.in_w * 4);
	if (S.chunk < 1) S.chunk = 1;
	if (S.chunk > S.in_h) S.chunk = S.in_h;
	S.filled = S.next_y = 0;
	S.in = alloc((uint64_t)S.in_w * S.chunk * 4 + (uint64_t)S.h.n * 4);
	S.out = alloc((uint64_t)out_w * out_h * 4 + 16);
	/* Ring rows padded to 16 elements: the vertical pass works 8 or 4 at a time. */
	S.ring_rows = S.v.n;
	S.ring_stride = (out_w * 4 + 15) & ~15;
	int esize = (flags & FLAG_FLOAT) ? 4 : 2;
	S.ring = alloc((uint64_t)S.ring_rows * S.ring_stride * esize);
	S.rows = alloc((uint64_t)S.v.n * sizeof(void *));
	S.rowf = (flags & FLAG_FLOAT) ? alloc(((uint64_t)S.in_w + S.h.n) * 16) : 0;
	info[0] = S.h.lo;
	info[1] = S.v.lo;
	info[2] = S.in_w;
	info[3] = S.in_h;
	info[4] = (int32_t)(uintptr_t)S.in;
	info[5] = (int32_t)(uintptr_t)S.out;
	info[6] = S.chunk;
	return info;
}

/* ---- fixed-point passes --------------------------------------------------- */

/* One source row (u8 RGBA) to out_w int16 RGBA pixels with HBITS fraction bits. */
static void h_row_int(const uint8_t *src, int16_t *dst) {
	const int n = S.h.n;
	const int16_t *w = S.h.wi;
	const v128_t zero = wasm_i32x4_splat(0);
	const v128_t half = wasm_i32x4_splat(1 << (WBITS - HBITS - 1));
	for (int x = 0; x < S.out_w; x++, w += n) {
		const uint8_t *p = src + S.h.start[x] * 4;
		v128_t acc = zero;
		for (int t = 0; t < n; t += 4) {
			/* 4 pixels p0..p3; interleave to [r0 r1 g0 g1 b0 b1 a0 a1] as int16 so
			 * dot_i16x8 with [w0 w1] x 4 gives r0*w0 + r1*w1 per channel. */
			v128_t px = wasm_v128_load(p + t * 4);
			v128_t lo = wasm_i8x16_shuffle(px, zero, 0, 16, 4, 16, 1, 16, 5, 16, 2, 16, 6, 16, 3, 16,
			                               7, 16);
			v128_t hi = wasm_i8x16_shuffle(px, zero, 8, 16, 12, 16, 9, 16, 13, 16, 10, 16, 14, 16,
			                               11, 16, 15, 16);
			acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(lo, wasm_v128_load32_splat(w + t)));
			acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(hi, wasm_v128_load32_splat(w + t + 2)));
		}
		acc = wasm_i32x4_shr(wasm_i32x4_add(acc, half), WBITS - HBITS);
		wasm_v128_store64_lane(dst + x * 4, wasm_i16x8_narrow_i32x4(acc, acc), 0);
	}
}

/* One output row from the vertical taps' ring rows (int16) to u8. */
static void v_row_int(const int16_t *w, uint8_t *dst) {
	const int n = S.v.n;
	const int16_t **rows = (const int16_t **)S.rows;
	const v128_t half = wasm_i32x4_splat(1 << (WBITS + HBITS - 1));
	const int len = S.out_w * 4;
	for (int x = 0; x < len; x += 8) {
		v128_t acc0 = wasm_i32x4_splat(0), acc1 = acc0;
		for (int t = 0; t < n; t += 2) {
			v128_t a = wasm_v128_load(rows[t] + x);
			v128_t b = wasm_v128_load(rows[t + 1] + x);
			v128_t wt = wasm_v128_load32_splat(w + t); /* [w_t w_t+1] x 4 */
			acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(
			                                wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), wt));
			acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(
			                                wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), wt));
		}
		acc0 = wasm_i32x4_shr(wasm_i32x4_add(acc0, half), WBITS + HBITS);
		acc1 = wasm_i32x4_shr(wasm_i32x4_add(acc1, half), WBITS + HBITS);
		v128_t s16 = wasm_i16x8_narrow_i32x4(acc0, acc1);
		/* Saturating narrow clamps to 0..255. Writes 8 bytes: out has slack. */
		wasm_v128_store64_lane(dst + x, wasm_u8x16_narrow_i16x8(s16, s16), 0);
	}
}

/* ---- float passes (premultiplied alpha) ----------------------------------- */

static inline v128_t load_px(const uint8_t *p) {
	v128_t v = wasm_v128_load32_zero(p);
	return wasm_f32x4_convert_i32x4(wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(v)));
}

static void h_row_float(const uint8_t *src, float *dst) {
	const int n = S.h.n;
	float *row = S.rowf;
	const int premul = S.flags & FLAG_PREMULTIPLY;
	for (int j = 0; j < S.in_w; j++) {
		v128_t v = load_px(src + j * 4);
		if (premul) {
			float a = wasm_f32x4_extract_lane(v, 3) * (1.0f / 255);
			v = wasm_f32x4_mul(v, wasm_f32x4_make(a, a, a, 1));
		}
		wasm_v128_store(row + j * 4, v);
	}
	for (int j = S.in_w; j < S.in_w + n; j++) wasm_v128_store(row + j * 4, wasm_f32x4_splat(0));
	const float *w = S.h.wf;
	for (int x = 0; x < S.out_w; x++, w += n) {
		const float *p = row + S.h.start[x] * 4;
		v128_t acc = wasm_f32x4_splat(0);
		for (int t = 0; t < n; t++)
			acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(p + t * 4),
			                                         wasm_v128_load32_splat(w + t)));
		wasm_v128_store(dst + x * 4, acc);
	}
}

static void v_row_float(const float *w, uint8_t *dst) {
	const int n = S.v.n;
	const float **rows = (const float **)S.rows;
	const int premul = S.flags & FLAG_PREMULTIPLY;
	const v128_t lo = wasm_f32x4_splat(0), top = wasm_f32x4_splat(255),
	             half = wasm_f32x4_splat(0.5f);
	for (int x = 0; x < S.out_w; x++) {
		v128_t acc = wasm_f32x4_splat(0);
		for (int t = 0; t < n; t++)
			acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(rows[t] + x * 4),
			                                         wasm_v128_load32_splat(w + t)));
		if (premul) {
			/* Unpremultiply; a pixel whose alpha rounds to 0 is (0, 0, 0, 0). */
			float a = wasm_f32x4_extract_lane(acc, 3);
			float k = a >= 0.5f ? 255.0f / a : 0;
			acc = wasm_f32x4_mul(acc, wasm_f32x4_make(k, k, k, 1));
		}
		acc = wasm_f32x4_add(wasm_f32x4_min(wasm_f32x4_max(acc, lo), top), half);
		v128_t i32 = wasm_i32x4_trunc_sat_f32x4(acc);
		v128_t i16 = wasm_i16x8_narrow_i32x4(i32, i32);
		wasm_v128_store32_lane(dst + x * 4, wasm_u8x16_narrow_i16x8(i16, i16), 0);
	}
}

/* ---- driver -------------------------------------------------------------- */

/* Output row y from the ring: every vertical tap row of y must be filtered. */
static void emit_row(int y) {
	const int esize = (S.flags & FLAG_FLOAT) ? 4 : 2;
	const int nv = S.v.n;
	int start = S.v.start[y];
	for (int t = 0; t < nv; t++) {
		int r = start + t < S.in_h ? start + t : S.in_h - 1; /* padding taps: weight 0 */
		S.rows[t] = (char *)S.ring + (uint64_t)(r % S.ring_rows) * S.ring_stride * esize;
	}
	uint8_t *dst = S.out + (uint64_t)y * S.out_w * 4;
	if (S.flags & FLAG_FLOAT) v_row_float(S.v.wf + (uint64_t)y * nv, dst);
	else v_row_int(S.v.wi + (uint64_t)y * nv, dst);
}

/* Last source row output y needs. Non-decreasing in y, like its first. */
static int last_row(int y) {
	int end = S.v.start[y] + S.v.n;
	return (end < S.in_h ? end : S.in_h) - 1;
}

/*
 * Filter the next `rows` source rows (at S.in) into the ring, writing each
 * output row as soon as its last tap row is in. Row r goes to slot r % nv,
 * over row r - nv: every output needing that row needs rows up to at most
 * r - 1 (its taps span nv rows), so it was written already.
 */
int rs_feed(int rows) {
	const int esize = (S.flags & FLAG_FLOAT) ? 4 : 2;
	if (rows < 1 || rows > S.chunk || S.filled + rows > S.in_h) __builtin_trap();
	for (int i = 0; i < rows; i++, S.filled++) {
		char *slot = (char *)S.ring + (uint64_t)(S.filled % S.ring_rows) * S.ring_stride * esize;
		const uint8_t *src = S.in + (uint64_t)i * S.in_w * 4;
		if (S.flags & FLAG_FLOAT) h_row_float(src, (float *)slot);
		else h_row_int(src, (int16_t *)slot);
		while (S.next_y < S.out_h && last_row(S.next_y) <= S.filled) emit_row(S.next_y++);
	}
	return S.next_y;
}
