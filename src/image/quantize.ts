/**
 * Palette reduction for sizes of palette PNGs (logos, icons, diagrams).
 * Resizing blends neighbouring colours, so a 16-colour logo comes out with
 * a thousand colours, and as an RGBA PNG nearly twice the bytes of a palette
 * one. We keep up to 256 colours, chosen by weighted median cut in RGBA:
 * the source's flat colours survive exactly (each is a heavy cluster of its
 * own) and the anti-aliased rims get the rest. Pure: no I/O.
 */
import type { RGBAImage } from "./orientation";

const MAX_COLOURS = 256;

/**
 * Palette entries for an image of this many pixels: one per 256 pixels, 64
 * to 256. PLTE + tRNS are 4 uncompressed bytes an entry, a third of a
 * 150x150 logo's file at 256 entries; at 87 it came under GD's truecolor
 * file (2.1 vs 2.2 KB) and stayed within 55 dB PSNR of the 256-colour one.
 */
export function paletteColours(pixels: number): number {
	return Math.max(64, Math.min(MAX_COLOURS, Math.floor(pixels / 256)));
}

interface Box {
	/** Indices into the unique-colour arrays. */
	readonly members: Uint32Array;
	/** Sum of pixel counts of the members. */
	readonly weight: number;
}

const channel = (rgba: number, c: number) => (rgba >>> (c * 8)) & 0xff;

function widest(colours: Uint32Array, box: Box): { c: number; range: number } {
	let best = { c: 0, range: -1 };
	for (let c = 0; c < 4; c++) {
		let lo = 255;
		let hi = 0;
		for (const m of box.members) {
			const v = channel(colours[m] ?? 0, c);
			if (v < lo) lo = v;
			if (v > hi) hi = v;
		}
		if (hi - lo > best.range) best = { c, range: hi - lo };
	}
	return best;
}

/** Split a box at the weighted median of its widest channel. */
function split(colours: Uint32Array, counts: Uint32Array, box: Box): [Box, Box] | null {
	const { c, range } = widest(colours, box);
	if (range <= 0 || box.members.length < 2) return null;
	const sorted = [...box.members].sort(
		(a, b) => channel(colours[a] ?? 0, c) - channel(colours[b] ?? 0, c),
	);
	let acc = 0;
	let cut = 1;
	for (; cut < sorted.length; cut++) {
		acc += counts[sorted[cut - 1] ?? 0] ?? 0;
		if (acc * 2 >= box.weight) break;
	}
	cut = Math.min(Math.max(cut, 1), sorted.length - 1);
	const left = Uint32Array.from(sorted.slice(0, cut));
	const right = Uint32Array.from(sorted.slice(cut));
	const weigh = (m: Uint32Array) => m.reduce((s, i) => s + (counts[i] ?? 0), 0);
	return [
		{ members: left, weight: weigh(left) },
		{ members: right, weight: weigh(right) },
	];
}

/**
 * The image with at most 256 distinct RGBA colours. An image that already has
 * that few comes back unchanged (the encoder then writes it as a palette losslessly).
 */
export function quantize(image: RGBAImage, maxColours = MAX_COLOURS): RGBAImage {
	const pixels = new Uint32Array(
		image.data.buffer,
		image.data.byteOffset,
		image.data.byteLength / 4,
	);
	const histogram = new Map<number, number>();
	for (const p of pixels) histogram.set(p, (histogram.get(p) ?? 0) + 1);
	if (histogram.size <= maxColours) return image;
	const colours = Uint32Array.from(histogram.keys());
	const counts = Uint32Array.from(histogram.values());
	const boxes = medianCut(colours, counts, pixels.length, maxColours);
	const palette = boxes.map((box) => boxColour(colours, counts, box));
	const mapped = new Map<number, number>();
	for (const col of colours) mapped.set(col, nearest(palette, col));
	const out = new Uint32Array(pixels.length);
	for (let i = 0; i < pixels.length; i++) out[i] = mapped.get(pixels[i] ?? 0) ?? 0;
	return { data: new Uint8ClampedArray(out.buffer), width: image.width, height: image.height };
}

/** Split the heaviest box (by weight × spread of members) until there are enough. */
function medianCut(colours: Uint32Array, counts: Uint32Array, total: number, maxColours: number) {
	const boxes: Box[] = [{ members: colours.map((_, i) => i), weight: total }];
	const done: Box[] = [];
	while (boxes.length > 0 && boxes.length + done.length < maxColours) {
		boxes.sort((a, b) => b.weight * b.members.length - a.weight * a.members.length);
		const box = boxes.shift() as Box;
		const halves = split(colours, counts, box);
		if (halves) boxes.push(...halves);
		else done.push(box);
	}
	return [...boxes, ...done];
}

type Rgba = [number, number, number, number];

/**
 * A box's colour: the count-weighted mean of its members (alpha-weighted for
 * RGB, so invisible pixels do not pull visible colours).
 */
function boxColour(colours: Uint32Array, counts: Uint32Array, box: Box): Rgba {
	let [r, g, b, a, n, aw] = [0, 0, 0, 0, 0, 0];
	for (const m of box.members) {
		const col = colours[m] ?? 0;
		const k = counts[m] ?? 0;
		const alpha = channel(col, 3);
		const w = k * (alpha + 1);
		r += channel(col, 0) * w;
		g += channel(col, 1) * w;
		b += channel(col, 2) * w;
		aw += w;
		a += alpha * k;
		n += k;
	}
	return [r / aw, g / aw, b / aw, a / n].map(Math.round) as Rgba;
}

/** The nearest palette entry to a colour (alpha-aware distance), packed as a pixel. */
function nearest(palette: readonly Rgba[], col: number): number {
	const [r, g, b, a] = [channel(col, 0), channel(col, 1), channel(col, 2), channel(col, 3)];
	let best = 0;
	let bestD = Number.POSITIVE_INFINITY;
	palette.forEach(([pr, pg, pb, pa], i) => {
		const da = pa - a;
		const vis = (Math.max(a, pa) + 1) / 256;
		const d = ((pr - r) ** 2 + (pg - g) ** 2 + (pb - b) ** 2) * vis + 3 * da * da;
		if (d < bestD) {
			bestD = d;
			best = i;
		}
	});
	const [pr = 0, pg = 0, pb = 0, pa = 0] = palette[best] ?? [];
	return ((pa << 24) | (pb << 16) | (pg << 8) | pr) >>> 0;
}
