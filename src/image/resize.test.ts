import { describe, expect, it } from "vitest";
import type { RGBAImage } from "./orientation";
import { type Filter, preShrinkSize, resizeRGBA, type SourceWindow } from "./resize";
import { resetCodecs, wasmMemory } from "./wasm-lazy";

// ---- a plain double-precision implementation of the same maths ----------

/** Our filters, and "box": the area average the pre-shrink uses. */
type RefFilter = Filter | "box";
const RADIUS: Record<Filter, number> = { triangle: 1, catrom: 2, mitchell: 2, lanczos3: 3 };

function cubic(x: number, b: number, c: number): number {
	if (x < 1)
		return ((12 - 9 * b - 6 * c) * x ** 3 + (-18 + 12 * b + 6 * c) * x ** 2 + (6 - 2 * b)) / 6;
	if (x < 2) {
		return (
			((-b - 6 * c) * x ** 3 +
				(6 * b + 30 * c) * x ** 2 +
				(-12 * b - 48 * c) * x +
				(8 * b + 24 * c)) /
			6
		);
	}
	return 0;
}

function kernel(filter: Filter, t: number): number {
	const x = Math.abs(t);
	switch (filter) {
		case "triangle":
			return Math.max(0, 1 - x);
		case "catrom":
			return cubic(x, 0, 0.5);
		case "mitchell":
			return cubic(x, 1 / 3, 1 / 3);
		case "lanczos3":
			if (x === 0) return 1;
			if (x >= 3) return 0;
			return (3 * Math.sin(Math.PI * x) * Math.sin((Math.PI * x) / 3)) / (Math.PI * x) ** 2;
	}
}

/** Per output pixel: source index → weight (clamped to the edge, normalised). */
function axisWeights(
	srcLen: number,
	origin: number,
	span: number,
	outLen: number,
	filter: RefFilter,
): Map<number, number>[] {
	const scale = span / outLen;
	const stretch = Math.max(1, scale);
	const radius = filter === "box" ? scale / 2 + 0.5 : RADIUS[filter] * stretch;
	// Box: how much of pixel j's [j, j+1) the footprint [c - scale/2, c + scale/2] covers.
	const weight = (j: number, c: number) =>
		filter === "box"
			? Math.max(0, Math.min(j + 1, c + scale / 2) - Math.max(j, c - scale / 2))
			: kernel(filter, (j + 0.5 - c) / stretch);
	return Array.from({ length: outLen }, (_, i) => {
		const c = origin + (i + 0.5) * scale;
		const taps = new Map<number, number>();
		let sum = 0;
		for (let j = Math.ceil(c - radius - 0.5); j <= Math.floor(c + radius - 0.5); j++) {
			const k = weight(j, c);
			const jc = Math.min(srcLen - 1, Math.max(0, j));
			taps.set(jc, (taps.get(jc) ?? 0) + k);
			sum += k;
		}
		for (const [j, k] of taps) taps.set(j, k / sum);
		return taps;
	});
}

function referenceResize(
	src: RGBAImage,
	win: SourceWindow,
	width: number,
	height: number,
	{ filter, premultiply }: { filter: RefFilter; premultiply: boolean },
): RGBAImage {
	const cols = axisWeights(src.width, win.x, win.w, width, filter);
	const rows = axisWeights(src.height, win.y, win.h, height, filter);
	const px = (x: number, y: number, c: number): number => {
		const i = (y * src.width + x) * 4;
		const v = src.data[i + c] as number;
		return premultiply && c < 3 ? (v * (src.data[i + 3] as number)) / 255 : v;
	};
	// Horizontal pass over every source row, then vertical.
	const mid = new Float64Array(src.height * width * 4);
	for (let y = 0; y < src.height; y++) {
		for (let x = 0; x < width; x++) {
			for (const [j, k] of cols[x] as Map<number, number>) {
				for (let c = 0; c < 4; c++) {
					const i = (y * width + x) * 4 + c;
					mid[i] = (mid[i] as number) + k * px(j, y, c);
				}
			}
		}
	}
	const out = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const acc = new Float64Array(4);
			for (const [j, k] of rows[y] as Map<number, number>) {
				for (let c = 0; c < 4; c++) {
					acc[c] = (acc[c] as number) + k * (mid[(j * width + x) * 4 + c] as number);
				}
			}
			const a = acc[3] as number;
			for (let c = 0; c < 4; c++) {
				let v = acc[c] as number;
				if (premultiply && c < 3) v = a >= 0.5 ? (v * 255) / a : 0;
				out[(y * width + x) * 4 + c] = Math.round(Math.min(255, Math.max(0, v)));
			}
		}
	}
	return { data: out, width, height };
}

// ---- helpers ---------------------------------------------------------------

/** Deterministic pseudo-random bytes (mulberry32). */
function noise(width: number, height: number, seed: number, opaque = true): RGBAImage {
	let s = seed >>> 0;
	const next = () => {
		s = (s + 0x6d2b79f5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) % 256;
	};
	const data = new Uint8ClampedArray(width * height * 4);
	for (let i = 0; i < data.length; i++) data[i] = opaque && i % 4 === 3 ? 255 : next();
	return { data, width, height };
}

function image(width: number, height: number, fill: (x: number, y: number) => number[]): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * 4);
	}
	return { data, width, height };
}

function maxDiff(a: RGBAImage, b: RGBAImage): number {
	expect([a.width, a.height]).toEqual([b.width, b.height]);
	let max = 0;
	for (let i = 0; i < a.data.length; i++) {
		max = Math.max(max, Math.abs((a.data[i] as number) - (b.data[i] as number)));
	}
	return max;
}

const whole = (img: RGBAImage): SourceWindow => ({ x: 0, y: 0, w: img.width, h: img.height });
const FILTER_NAMES: Filter[] = ["lanczos3", "mitchell", "catrom", "triangle"];

// ---- tests -----------------------------------------------------------------

describe("resizeRGBA matches a double-precision implementation of the same maths", () => {
	const cases: [string, number, number, SourceWindow, number, number][] = [
		["reduce", 37, 23, { x: 0, y: 0, w: 37, h: 23 }, 11, 7],
		["reduce a lot", 200, 90, { x: 0, y: 0, w: 200, h: 90 }, 9, 4],
		["enlarge", 9, 7, { x: 0, y: 0, w: 9, h: 7 }, 20, 15],
		["same size", 13, 8, { x: 0, y: 0, w: 13, h: 8 }, 13, 8],
		["fractional window", 31, 19, { x: 2.375, y: 1.5, w: 20.25, h: 13.5 }, 13, 9],
		["window at the far edge", 30, 20, { x: 26.5, y: 17, w: 3.5, h: 3 }, 2, 5],
		["one column to many", 1, 12, { x: 0, y: 0, w: 1, h: 12 }, 5, 4],
	];
	const arithmetic = [
		["fixed point", false],
		["float", true],
	] as const;
	describe.each(FILTER_NAMES)("%s", (filter) => {
		it.each(arithmetic)("%s: every case within 1 of the reference", async (_, float) => {
			for (const [name, sw, sh, win, w, h] of cases) {
				const src = noise(sw, sh, sw * 31 + sh);
				const options = { filter, premultiply: false, float };
				const got = await resizeRGBA(src, win, w, h, options);
				const want = referenceResize(src, win, w, h, options);
				expect(maxDiff(got, want), name).toBeLessThanOrEqual(1);
			}
		});
	});

	it("premultiplied alpha on random transparency, within 1 where alpha is not 0", async () => {
		for (const [name, sw, sh, win, w, h] of cases) {
			const src = noise(sw, sh, sw * 7 + sh, false);
			const options = { filter: "lanczos3", premultiply: true } as const;
			const got = await resizeRGBA(src, win, w, h, options);
			const want = referenceResize(src, win, w, h, options);
			for (let i = 0; i < got.data.length; i += 4) {
				const a = want.data[i + 3] as number;
				expect(Math.abs((got.data[i + 3] as number) - a), name).toBeLessThanOrEqual(1);
				// Colours behind alpha ≤ 2 are amplified ×127 or more: only check visible ones.
				if (a < 3) continue;
				for (let c = 0; c < 3; c++) {
					const d = Math.abs((got.data[i + c] as number) - (want.data[i + c] as number));
					expect(d, `${name} pixel ${i / 4} alpha ${a}`).toBeLessThanOrEqual(1);
				}
			}
		}
	});
});

describe("exactness", () => {
	it.each(FILTER_NAMES)("%s: a constant image stays exactly constant", async (filter) => {
		const colour = [200, 17, 99, 255];
		const src = image(53, 29, () => colour);
		for (const [win, w, h] of [
			[whole(src), 7, 5],
			[whole(src), 120, 61],
			[{ x: 3.3, y: 1.1, w: 40.4, h: 20.2 }, 17, 9],
		] as const) {
			for (const float of [false, true]) {
				const out = await resizeRGBA(src, win, w, h, { filter, premultiply: false, float });
				for (let i = 0; i < out.data.length; i += 4) {
					expect([...out.data.subarray(i, i + 4)]).toEqual(colour);
				}
			}
		}
		// Premultiplied: colour * alpha / 255 and back.
		const translucent = [10, 250, 128, 77];
		const glass = image(20, 20, () => translucent);
		const out = await resizeRGBA(glass, whole(glass), 6, 9, { filter, premultiply: true });
		for (let i = 0; i < out.data.length; i += 4) {
			expect([...out.data.subarray(i, i + 4)]).toEqual(translucent);
		}
	});

	it("an integer window equals resizing the same pixels cropped out", async () => {
		// Outside the window the image repeats the window's edge pixels, so
		// clamp-to-edge in the cropped copy sees the same taps (folded into one
		// weight there, so int16 weight rounding may differ by 1 level).
		const inner = noise(24, 16, 5);
		const at = (x: number, y: number) => {
			const cx = Math.min(23, Math.max(0, x - 10));
			const cy = Math.min(15, Math.max(0, y - 6));
			return [...inner.data.subarray((cy * 24 + cx) * 4, (cy * 24 + cx) * 4 + 4)];
		};
		const big = image(50, 30, at);
		for (const [w, h] of [
			[7, 5],
			[24, 16],
			[41, 33],
		] as const) {
			const options = { filter: "lanczos3", premultiply: false } as const;
			const fromWindow = await resizeRGBA(big, { x: 10, y: 6, w: 24, h: 16 }, w, h, options);
			const fromCrop = await resizeRGBA(inner, whole(inner), w, h, options);
			expect(maxDiff(fromWindow, fromCrop)).toBeLessThanOrEqual(1);
			const same = fromWindow.data.filter((v, i) => v === fromCrop.data[i]).length;
			expect(same / fromCrop.data.length).toBeGreaterThan(0.99);
		}
	});

	it("a same-size window at a whole-pixel offset is a copy", async () => {
		const src = noise(30, 20, 9);
		const out = await resizeRGBA(src, { x: 4, y: 3, w: 20, h: 12 }, 20, 12, {
			filter: "lanczos3",
			premultiply: false,
		});
		const want = image(20, 12, (x, y) => {
			const i = ((y + 3) * 30 + x + 4) * 4;
			return [...src.data.subarray(i, i + 4)];
		});
		expect(out.data).toEqual(want.data);
	});

	it("a half-pixel shift with the triangle filter averages neighbours", async () => {
		const src = image(12, 1, (x) => [x * 20, 255 - x * 20, x < 6 ? 0 : 255, 255]);
		const out = await resizeRGBA(src, { x: 0.5, y: 0, w: 11, h: 1 }, 11, 1, {
			filter: "triangle",
			premultiply: false,
		});
		for (let x = 0; x < 11; x++) {
			const mean = (c: number) =>
				Math.round(((src.data[x * 4 + c] as number) + (src.data[x * 4 + 4 + c] as number)) / 2);
			expect([...out.data.subarray(x * 4, x * 4 + 4)]).toEqual([mean(0), mean(1), mean(2), 255]);
		}
	});

	it.each([0.25, 0.5, 0.75, 1.5])(
		"a sub-pixel shift of %f moves an edge by that much",
		async (s) => {
			// 40 up to x = 18, a ramp to 200 over 4 pixels, 200 after (no clamping
			// of the filter's ringing). The window slides right by s, so the edge
			// lands s pixels further left in the output: its bright area grows by s.
			const src = image(48, 1, (x) => {
				const v = 40 + 160 * Math.min(1, Math.max(0, (x - 17.5) / 4));
				return [v, v, v, 255];
			});
			const bright = async (x: number) => {
				const out = await resizeRGBA(src, { x, y: 0, w: 40, h: 1 }, 40, 1, {
					filter: "lanczos3",
					premultiply: false,
				});
				let sum = 0;
				for (let i = 0; i < 40; i++) sum += ((out.data[i * 4] as number) - 40) / 160;
				return sum;
			};
			// Each output pixel rounds to 1/160 of the step: 40 of them stay within 0.05.
			expect(Math.abs((await bright(2 + s)) - (await bright(2)) - s)).toBeLessThan(0.05);
		},
	);
});

describe("alpha", () => {
	// Opaque red on the left, fully transparent green on the right.
	const src = image(16, 4, (x) => (x < 8 ? [255, 0, 0, 255] : [0, 255, 0, 0]));

	it("premultiplied: transparent pixels' hidden colour does not bleed into the edge", async () => {
		const out = await resizeRGBA(src, whole(src), 7, 2, { filter: "lanczos3", premultiply: true });
		let partial = 0;
		for (let i = 0; i < out.data.length; i += 4) {
			const a = out.data[i + 3] as number;
			if (a === 0) continue;
			if (a < 255) partial++;
			expect([...out.data.subarray(i, i + 3)]).toEqual([255, 0, 0]);
		}
		expect(partial).toBeGreaterThan(0);
	});

	it("without premultiplying, it does (which is why transparent sources premultiply)", async () => {
		const out = await resizeRGBA(src, whole(src), 7, 2, { filter: "lanczos3", premultiply: false });
		const greens = [];
		for (let i = 0; i < out.data.length; i += 4) {
			if ((out.data[i + 3] as number) > 0) greens.push(out.data[i + 1] as number);
		}
		expect(Math.max(...greens)).toBeGreaterThan(50);
	});
});

describe("area pre-shrink before the filter", () => {
	it.each([
		// window, output, gap → size to area-average to first
		[{ w: 1707, h: 1707 }, 150, 150, 3, { width: 569, height: 569 }],
		[{ w: 2560, h: 1707 }, 730, 487, 3, undefined], // 3.5x: under 2 x 3
		[{ w: 2560, h: 1707 }, 400, 100, 3, { width: 1280, height: 854 }], // the smaller factor
		[{ w: 1000, h: 1000 }, 100, 100, 2, { width: 200, height: 200 }],
		[{ w: 1000, h: 1000 }, 100, 100, 0, undefined],
		[{ w: 1000.5, h: 999.25 }, 99, 101, 3, { width: 334, height: 333 }], // 333.5 rounds up
	])("%j to %ix%i, gap %i: %j", (win, w, h, gap, want) => {
		expect(preShrinkSize({ x: 0, y: 0, ...win }, w, h, gap)).toEqual(want);
	});

	it("is an exact area average, then the filter (within 2 of the same two passes in double)", async () => {
		const src = noise(300, 200, 17);
		const win = { x: 10.5, y: 3.25, w: 280, h: 190.5 };
		const options = { filter: "lanczos3", premultiply: false, shrinkGap: 2 } as const;
		const got = await resizeRGBA(src, win, 20, 13, options);
		const small = preShrinkSize(win, 20, 13, 2);
		expect(small).toEqual({ width: 40, height: 27 });
		const { width = 0, height = 0 } = small ?? {};
		const boxed = referenceResize(src, win, width, height, { filter: "box", premultiply: false });
		const want = referenceResize(boxed, whole(boxed), 20, 13, options);
		expect(maxDiff(got, want)).toBeLessThanOrEqual(2);
		// Not the same as filtering directly (the test above would notice a skipped box pass).
		const direct = await resizeRGBA(src, win, 20, 13, { ...options, shrinkGap: 0 });
		expect(maxDiff(got, direct)).toBeGreaterThan(2);
	});

	it("keeps a constant image constant and is skipped for premultiplied alpha", async () => {
		const src = image(400, 300, () => [12, 34, 56, 255]);
		const out = await resizeRGBA(src, { x: 0.5, y: 0, w: 399, h: 300 }, 20, 15, {
			filter: "lanczos3",
			premultiply: false,
			shrinkGap: 3,
		});
		expect(new Set(out.data).size).toBeLessThanOrEqual(4);
		expect([...out.data.subarray(0, 4)]).toEqual([12, 34, 56, 255]);
		// Premultiplied: no pre-shrink, so it matches the one-pass reference.
		const glass = noise(120, 90, 4, false);
		const options = { filter: "lanczos3", premultiply: true, shrinkGap: 2 } as const;
		const got = await resizeRGBA(glass, whole(glass), 10, 9, options);
		const want = referenceResize(glass, whole(glass), 10, 9, options);
		for (let i = 0; i < got.data.length; i += 4) {
			expect(
				Math.abs((got.data[i + 3] as number) - (want.data[i + 3] as number)),
			).toBeLessThanOrEqual(1);
		}
	});
});

describe("extreme sizes", () => {
	it.each([
		[1, 40, 1, 7],
		[40, 1, 9, 1],
		[1, 1, 5, 3],
		[23, 17, 1, 1],
		[3, 2, 1, 1],
	])("%ix%i to %ix%i matches the reference", async (sw, sh, w, h) => {
		const src = noise(sw, sh, sw + 100 * sh);
		const options = { filter: "lanczos3", premultiply: false } as const;
		const got = await resizeRGBA(src, whole(src), w, h, options);
		expect(maxDiff(got, referenceResize(src, whole(src), w, h, options))).toBeLessThanOrEqual(1);
	});

	it("2560x1707 to a 150x150 crop matches the reference", async () => {
		// Smooth gradients with some noise, like a photo.
		const grain = noise(2560, 1707, 3);
		const src = image(2560, 1707, (x, y) => {
			const i = (y * 2560 + x) * 4;
			const n = ((grain.data[i] as number) - 128) / 8;
			return [x / 10 + n, y / 7 + n, (x + y) / 17 + n, 255];
		});
		const win = { x: 426.5, y: 0, w: 1707, h: 1707 };
		const options = { filter: "lanczos3", premultiply: false } as const;
		const got = await resizeRGBA(src, win, 150, 150, options);
		expect(maxDiff(got, referenceResize(src, win, 150, 150, options))).toBeLessThanOrEqual(1);
	});

	it("never holds the source in WASM memory: only the window's columns, a chunk of rows at a time", async () => {
		resetCodecs();
		// 64 MB of RGBA; the WASM heap stays a small fraction of it.
		const src = noise(4000, 4000, 8);
		const options = { filter: "lanczos3", premultiply: false } as const;
		const corner = await resizeRGBA(src, { x: 1995, y: 1995, w: 10, h: 10 }, 5, 5, options);
		expect(corner.data.length).toBe(100);
		const all = await resizeRGBA(src, whole(src), 100, 100, options);
		expect(all.data.length).toBe(100 * 100 * 4);
		expect((await wasmMemory()).resize).toBeLessThan(2 * 2 ** 20);
		// Still the right pixels: compare a band against the reference on a crop.
		const band = { x: 0, y: 1000, w: 4000, h: 400 };
		const got = await resizeRGBA(src, band, 50, 5, options);
		expect(maxDiff(got, referenceResize(src, band, 50, 5, options))).toBeLessThanOrEqual(1);
	});

	it.each([
		[{ x: -1, y: 0, w: 10, h: 10 }, 5, 5],
		[{ x: 0, y: 0, w: 21, h: 10 }, 5, 5],
		[{ x: 0, y: 0, w: 0, h: 10 }, 5, 5],
		[{ x: 0, y: 0, w: 10, h: 10 }, 0, 5],
		[{ x: 0, y: 0, w: 10, h: 10 }, 2.5, 5],
		[{ x: Number.NaN, y: 0, w: 10, h: 10 }, 5, 5],
	])(
		"a window outside the image or a bad size is a RangeError: %j -> %i x %i",
		async (win, w, h) => {
			const src = noise(20, 20, 1);
			await expect(
				resizeRGBA(src, win, w, h, { filter: "lanczos3", premultiply: false }),
			).rejects.toBeInstanceOf(RangeError);
		},
	);
});
