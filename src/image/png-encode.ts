/**
 * Our PNG encoder, fast enough for the request path: the smallest colour
 * type that holds the pixels exactly (grey when every pixel is grey, a
 * palette when there are at most 256 colours, else RGB or RGBA), a filter
 * per row chosen from None/Sub/Up/Average/Paeth by the least entropy of its
 * output (see pickFilter; palette rows unfiltered, as libpng leaves them),
 * and the runtime's native zlib through
 * `CompressionStream("deflate")` (zlib format, which is what IDAT holds; zlib's
 * default level, as GD's `imagepng`). oxipng's search for smaller bytes runs
 * later, in the background (optimizePng in png.ts).
 */
import type { RGBAImage } from "./orientation";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG colour types (IHDR). */
export const COLOUR = { grey: 0, rgb: 2, palette: 3, greyAlpha: 4, rgba: 6 } as const;

/** How the pixels are written: colour type, bit depth, and the palette if any. */
export interface Layout {
	readonly colourType: number;
	readonly bitDepth: number;
	/** Bytes per complete pixel (filter distance); 1 for palette. */
	readonly bpp: number;
	/** RGBA (as u32, little-endian) of each palette entry, transparent ones first. */
	readonly palette?: Uint32Array;
	/** Palette index of each RGBA colour. */
	readonly index?: Map<number, number>;
}

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();

/** CRC-32 (ISO 3309, as PNG chunks use it). */
export function crc32(bytes: Uint8Array, crc = 0): number {
	let c = ~crc >>> 0;
	for (let i = 0; i < bytes.length; i++) {
		c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
	}
	return ~c >>> 0;
}

/** One chunk: length, type, data, CRC of type + data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
	const out = new Uint8Array(12 + data.length);
	const view = new DataView(out.buffer);
	view.setUint32(0, data.length);
	for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
	out.set(data, 8);
	view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
	return out;
}

/** Distinct RGBA colours (u32) in first-seen order, or null past `max`. */
function colours(pixels: Uint32Array, max: number): number[] | null {
	const seen = new Map<number, true>();
	let last = -1;
	for (let i = 0; i < pixels.length; i++) {
		const p = pixels[i] as number;
		if (p === last) continue;
		last = p;
		if (!seen.has(p)) {
			if (seen.size === max) return null;
			seen.set(p, true);
		}
	}
	return [...seen.keys()];
}

/** Every pixel fully opaque / every pixel grey (r = g = b). */
function survey(data: Uint8ClampedArray): { opaque: boolean; grey: boolean } {
	let opaque = true;
	let grey = true;
	for (let i = 0; i < data.length && (opaque || grey); i += 4) {
		if (data[i + 3] !== 255) opaque = false;
		if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) grey = false;
	}
	return { opaque, grey };
}

function paletteLayout(list: number[]): Layout {
	// Transparent entries first, so tRNS stops at the last one.
	const sorted = [...list.filter((c) => c >>> 24 !== 255), ...list.filter((c) => c >>> 24 === 255)];
	const n = sorted.length;
	const bitDepth = n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8;
	const index = new Map<number, number>();
	for (const [i, c] of sorted.entries()) index.set(c, i);
	return { colourType: COLOUR.palette, bitDepth, bpp: 1, palette: Uint32Array.from(sorted), index };
}

/** The smallest exact layout for these pixels. */
export function chooseLayout(image: RGBAImage): Layout {
	const { opaque, grey } = survey(image.data);
	if (grey) {
		return opaque
			? { colourType: COLOUR.grey, bitDepth: 8, bpp: 1 }
			: { colourType: COLOUR.greyAlpha, bitDepth: 8, bpp: 2 };
	}
	const pixels = new Uint32Array(
		image.data.buffer,
		image.data.byteOffset,
		image.data.byteLength / 4,
	);
	const list = colours(pixels, 256);
	if (list) return paletteLayout(list);
	return opaque
		? { colourType: COLOUR.rgb, bitDepth: 8, bpp: 3 }
		: { colourType: COLOUR.rgba, bitDepth: 8, bpp: 4 };
}

/** Bytes of one unfiltered row in `layout`. */
export function rowBytes(layout: Layout, width: number): number {
	return layout.colourType === COLOUR.palette
		? Math.ceil((width * layout.bitDepth) / 8)
		: width * layout.bpp;
}

/** Row y of the image in the layout's pixel format, into `out` (rowBytes long). */
function packRow(image: RGBAImage, y: number, layout: Layout, out: Uint8Array): void {
	const { data, width } = image;
	const base = y * width * 4;
	switch (layout.colourType) {
		case COLOUR.rgba:
			out.set(data.subarray(base, base + width * 4));
			return;
		case COLOUR.rgb:
			for (let x = 0, i = base, o = 0; x < width; x++, i += 4, o += 3) {
				out[o] = data[i] as number;
				out[o + 1] = data[i + 1] as number;
				out[o + 2] = data[i + 2] as number;
			}
			return;
		case COLOUR.grey:
			for (let x = 0; x < width; x++) out[x] = data[base + x * 4] as number;
			return;
		case COLOUR.greyAlpha:
			for (let x = 0; x < width; x++) {
				out[2 * x] = data[base + x * 4] as number;
				out[2 * x + 1] = data[base + x * 4 + 3] as number;
			}
			return;
		default:
			packIndices(image, y, layout, out);
	}
}

function packIndices(image: RGBAImage, y: number, layout: Layout, out: Uint8Array): void {
	const { width } = image;
	const pixels = new Uint32Array(image.data.buffer, image.data.byteOffset + y * width * 4, width);
	const index = layout.index as Map<number, number>;
	const depth = layout.bitDepth;
	const perByte = 8 / depth;
	out.fill(0);
	for (let x = 0; x < width; x++) {
		const v = index.get(pixels[x] as number) ?? 0;
		const shift = 8 - depth * ((x % perByte) + 1);
		const at = (x / perByte) | 0;
		out[at] = (out[at] as number) | (v << shift);
	}
}

function paeth(a: number, b: number, c: number): number {
	const p = a + b - c;
	const pa = Math.abs(p - a);
	const pb = Math.abs(p - b);
	const pc = Math.abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Per-row scratch: five byte histograms (None, Sub, Up, Average, Paeth) and n·log2(n). */
interface Picker {
	readonly hist: Uint32Array;
	readonly nlogn: Float64Array;
}

function picker(stride: number): Picker {
	const nlogn = new Float64Array(stride + 1);
	for (let n = 1; n <= stride; n++) nlogn[n] = n * Math.log2(n);
	return { hist: new Uint32Array(5 * 256), nlogn };
}

/**
 * The filter whose output bytes have the least entropy (Shannon, over the
 * row's byte histogram). libpng's heuristic, the least sum of |signed
 * bytes|, left goldfish-600x420 1.4% over GD's bytes; this one picks
 * filters deflate codes 1-2% smaller (BENCHMARKS.md) for the same pass.
 */
function pickFilter(cur: Uint8Array, prev: Uint8Array, bpp: number, p: Picker): number {
	const { hist, nlogn } = p;
	hist.fill(0);
	for (let i = 0; i < cur.length; i++) {
		const x = cur[i] as number;
		const a = i >= bpp ? (cur[i - bpp] as number) : 0;
		const b = prev[i] as number;
		const c = i >= bpp ? (prev[i - bpp] as number) : 0;
		(hist[x] as number)++;
		(hist[256 + ((x - a) & 0xff)] as number)++;
		(hist[512 + ((x - b) & 0xff)] as number)++;
		(hist[768 + ((x - ((a + b) >> 1)) & 0xff)] as number)++;
		(hist[1024 + ((x - paeth(a, b, c)) & 0xff)] as number)++;
	}
	let best = 0;
	let min = Number.POSITIVE_INFINITY;
	for (let f = 0; f < 5; f++) {
		// n·H = n·log2(n) − Σ c·log2(c): minimise −Σ c·log2(c).
		let sum = 0;
		for (let v = f * 256; v < f * 256 + 256; v++) sum -= nlogn[hist[v] as number] as number;
		if (sum < min) [best, min] = [f, sum];
	}
	return best;
}

/** Write the row filtered with `type` into out (out[0] = type). */
export function filterRow(
	type: number,
	cur: Uint8Array,
	prev: Uint8Array,
	bpp: number,
	out: Uint8Array,
): void {
	out[0] = type;
	for (let i = 0; i < cur.length; i++) {
		const x = cur[i] as number;
		const a = i >= bpp ? (cur[i - bpp] as number) : 0;
		const b = prev[i] as number;
		const c = i >= bpp ? (prev[i - bpp] as number) : 0;
		const pred =
			type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
		out[i + 1] = x - pred;
	}
}

/**
 * Rows `from` to `to` of the image, packed and filtered (none when `filter`
 * is false): IDAT's uncompressed contents, or a run of them.
 */
export function filteredRows(
	image: RGBAImage,
	layout: Layout,
	filter = true,
	from = 0,
	to = image.height,
): Uint8Array {
	const stride = rowBytes(layout, image.width);
	const out = new Uint8Array((stride + 1) * (to - from));
	let prev = new Uint8Array(stride);
	let cur = new Uint8Array(stride);
	if (from > 0) packRow(image, from - 1, layout, prev);
	const adaptive = filter && layout.colourType !== COLOUR.palette ? picker(stride) : undefined;
	for (let y = from; y < to; y++) {
		packRow(image, y, layout, cur);
		const type = adaptive ? pickFilter(cur, prev, layout.bpp, adaptive) : 0;
		const at = (y - from) * (stride + 1);
		filterRow(type, cur, prev, layout.bpp, out.subarray(at, at + stride + 1));
		[prev, cur] = [cur, prev];
	}
	return out;
}

/** zlib-format deflate by the runtime (workerd's and Node's native zlib). */
export async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
	const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

function header(image: RGBAImage, layout: Layout): Uint8Array {
	const ihdr = new Uint8Array(13);
	const view = new DataView(ihdr.buffer);
	view.setUint32(0, image.width);
	view.setUint32(4, image.height);
	ihdr[8] = layout.bitDepth;
	ihdr[9] = layout.colourType;
	// compression 0, filter method 0, no interlace
	return chunk("IHDR", ihdr);
}

/** PLTE and, if any entry is not opaque, tRNS up to the last such entry. */
function paletteChunks(palette: Uint32Array): Uint8Array[] {
	const plte = new Uint8Array(palette.length * 3);
	let transparent = 0;
	palette.forEach((c, i) => {
		plte[3 * i] = c & 0xff;
		plte[3 * i + 1] = (c >>> 8) & 0xff;
		plte[3 * i + 2] = (c >>> 16) & 0xff;
		if (c >>> 24 !== 255) transparent = i + 1;
	});
	const trns = Uint8Array.from(palette.subarray(0, transparent), (c) => c >>> 24);
	return transparent ? [chunk("PLTE", plte), chunk("tRNS", trns)] : [chunk("PLTE", plte)];
}

function concat(parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.length;
	}
	return out;
}

/**
 * Few distinct colours for the pixels (at most one per 64): screenshots,
 * diagrams. Their rows can deflate smaller unfiltered: a glyph or icon that
 * repeats repeats byte for byte, while a filter's residue also depends on
 * what lies above it.
 */
function fewColours(image: RGBAImage): boolean {
	const pixels = new Uint32Array(
		image.data.buffer,
		image.data.byteOffset,
		image.data.byteLength / 4,
	);
	return colours(pixels, Math.max(256, pixels.length >> 6)) !== null;
}

/** 4 runs of 1/16 of the rows, filtered or not: what decides between the two. */
function sample(image: RGBAImage, layout: Layout, filter: boolean): Uint8Array {
	const { height } = image;
	const run = Math.max(1, height >> 4);
	const parts: Uint8Array[] = [];
	for (let k = 0; k < 4; k++) {
		const y = Math.max(0, Math.min(height - run, Math.floor(((2 * k + 1) * height) / 8 - run / 2)));
		parts.push(filteredRows(image, layout, filter, y, y + run));
	}
	return concat(parts);
}

/**
 * IDAT's contents: adaptively filtered rows, or for images of few colours
 * unfiltered ones when a sample of each deflates smaller (dashboard
 * screenshot at 730 wide: 144,831 B unfiltered, 164,188 filtered; a soft
 * glow's rows are 3x larger unfiltered, so the sample decides).
 */
async function idatRows(image: RGBAImage, layout: Layout): Promise<Uint8Array> {
	if (layout.colourType !== COLOUR.palette && fewColours(image)) {
		const [a, b] = await Promise.all([
			deflate(sample(image, layout, true)),
			deflate(sample(image, layout, false)),
		]);
		if (b.length < a.length) return filteredRows(image, layout, false);
	}
	return filteredRows(image, layout);
}

/** Encode RGBA pixels as a PNG in the smallest exact layout (see chooseLayout). */
export async function encodePngFast(
	image: RGBAImage,
	layout = chooseLayout(image),
): Promise<Uint8Array> {
	const idat = await deflate(await idatRows(image, layout));
	return concat([
		Uint8Array.from(SIGNATURE),
		header(image, layout),
		...(layout.palette ? paletteChunks(layout.palette) : []),
		chunk("IDAT", idat),
		chunk("IEND", new Uint8Array(0)),
	]);
}
