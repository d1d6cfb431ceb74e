/**
 * Our PNG encoder, fast enough for the request path: the smallest colour
 * type that holds the pixels exactly (grey when every pixel is grey, a
 * palette when there are at most 256 colours, else RGB or RGBA), a filter
 * per row chosen from None/Sub/Up/Average/Paeth by the least entropy of its
 * output (palette rows unfiltered, as libpng leaves them), deflated by
 * libdeflate; both in WASM (png-deflate.ts). oxipng's search for smaller
 * bytes runs later, in the background (optimizePng in png.ts).
 */

import { concat } from "../util/bytes";
import type { RGBAImage } from "./orientation";
import { deflateHeap, filterRows } from "./png-deflate";
import { heapAlloc, type PngExports, pngWasm } from "./png-wasm";
import { codecError } from "./wasm-lazy";

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

/** Palette row y as packed indices, into `out` (rowBytes long); palette rows stay unfiltered. */
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

/**
 * Rows [from, to) as IDAT holds them, into a new heap allocation: palette
 * indices packed here (filter type 0, as libpng leaves palette rows), every
 * other layout packed and filtered (adaptive, or none) in WASM.
 */
function rowsInHeap(
	wasm: PngExports,
	image: RGBAImage,
	layout: Layout,
	adaptive: boolean,
	span: readonly [number, number],
): HeapRows {
	const stride = rowBytes(layout, image.width) + 1;
	const length = stride * (span[1] - span[0]);
	const ptr = heapAlloc(wasm, length);
	if (layout.colourType !== COLOUR.palette) {
		filterRows(wasm, image, layout, adaptive, span, ptr);
		return { ptr, length };
	}
	const heap = new Uint8Array(wasm.memory.buffer, ptr, length);
	for (let y = span[0]; y < span[1]; y++) {
		const at = (y - span[0]) * stride;
		heap[at] = 0;
		packIndices(image, y, layout, heap.subarray(at + 1, at + stride));
	}
	return { ptr, length };
}

interface HeapRows {
	readonly ptr: number;
	readonly length: number;
}

/** Deflate rows made by rowsInHeap, and free them. */
function deflateRows(wasm: PngExports, rows: HeapRows): Uint8Array {
	try {
		return deflateHeap(wasm, rows.ptr, rows.length);
	} finally {
		wasm.pe_free(rows.ptr);
	}
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

/** 4 runs of 1/16 of the rows, filtered or not, deflated: what decides between the two. */
function sampleBytes(wasm: PngExports, image: RGBAImage, layout: Layout, adaptive: boolean) {
	const { height } = image;
	const run = Math.max(1, height >> 4);
	let bytes = 0;
	for (let k = 0; k < 4; k++) {
		const y = Math.max(0, Math.min(height - run, Math.floor(((2 * k + 1) * height) / 8 - run / 2)));
		bytes += deflateRows(wasm, rowsInHeap(wasm, image, layout, adaptive, [y, y + run])).length;
	}
	return bytes;
}

/**
 * Whether to filter rows adaptively: yes, except for images of few colours
 * whose sample deflates smaller unfiltered (dashboard screenshot at 730
 * wide: 144,831 B unfiltered, 164,188 filtered; a soft glow's rows are 3x
 * larger unfiltered, so the sample decides).
 */
function adaptiveFilters(wasm: PngExports, image: RGBAImage, layout: Layout): boolean {
	if (layout.colourType === COLOUR.palette) return false;
	if (!fewColours(image)) return true;
	return sampleBytes(wasm, image, layout, true) <= sampleBytes(wasm, image, layout, false);
}

/** IDAT's contents: the zlib stream of the filtered rows. */
async function idat(image: RGBAImage, layout: Layout): Promise<Uint8Array> {
	try {
		return await pngWasm.use((wasm) => {
			const adaptive = adaptiveFilters(wasm, image, layout);
			return deflateRows(wasm, rowsInHeap(wasm, image, layout, adaptive, [0, image.height]));
		});
	} catch (err) {
		throw codecError(err, "ours", "Could not encode PNG", "encode PNG");
	}
}

/** Encode RGBA pixels as a PNG in the smallest exact layout (see chooseLayout). */
export async function encodePngFast(
	image: RGBAImage,
	layout = chooseLayout(image),
): Promise<Uint8Array> {
	return concat([
		Uint8Array.from(SIGNATURE),
		header(image, layout),
		...(layout.palette ? paletteChunks(layout.palette) : []),
		chunk("IDAT", await idat(image, layout)),
		chunk("IEND", new Uint8Array(0)),
	]);
}
