/**
 * Our PNG decoder, row by row: IDAT inflated by the runtime's native zlib
 * (`DecompressionStream("deflate")`), each row unfiltered as it completes and
 * expanded to 8-bit RGBA the way the decoder it replaces (jSquash's, the Rust
 * `png` crate with EXPAND | STRIP_16) does: palette + tRNS looked up, 1/2/4-bit
 * grey scaled to 0-255, a tRNS colour key made transparent, 16-bit samples
 * cut to their high byte. An APNG gives its default image (IDAT), as GD does.
 * A consumer gets one row at a time, so a big PNG can be resized without its
 * pixels ever being held whole (pngRows, a RowSource for resize.ts). Adam7-interlaced files
 * need the whole image (every pass adds pixels to every region).
 */
import { UnprocessableError } from "../http/errors";
import type { RGBAImage } from "./orientation";
import type { RowSource } from "./resize";
import { codecStats } from "./wasm-lazy";

export interface PngInfo {
	readonly width: number;
	readonly height: number;
	readonly bitDepth: number;
	readonly colourType: number;
	readonly interlaced: boolean;
	/** PLTE as RGBA (alpha from tRNS), 256 entries; missing ones opaque black. */
	readonly palette?: Uint8Array;
	/** tRNS colour key for grey (1 sample) or RGB (3 samples), at the file's bit depth. */
	readonly key?: readonly number[];
	/** The IDAT chunks' data, in order (views into the file). */
	readonly idat: readonly Uint8Array[];
}

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Readonly<Record<number, readonly number[]>> = {
	0: [1, 2, 4, 8, 16],
	2: [8, 16],
	3: [1, 2, 4, 8],
	4: [8, 16],
	6: [8, 16],
};

const bad = (why: string) => new UnprocessableError("Could not decode PNG", { detail: why });

const type = (bytes: Uint8Array, at: number) =>
	String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);

/** Walk the chunks up to IEND (CRCs are not checked, as jSquash's decoder does not). */
function chunks(bytes: Uint8Array): { type: string; data: Uint8Array }[] {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const out: { type: string; data: Uint8Array }[] = [];
	let at = 8;
	while (at + 8 <= bytes.length) {
		const length = view.getUint32(at);
		const name = type(bytes, at + 4);
		if (at + 8 + length > bytes.length) {
			throw bad(`${/^[A-Za-z]{4}$/.test(name) ? name : "a"} chunk runs past the end`);
		}
		out.push({ type: name, data: bytes.subarray(at + 8, at + 8 + length) });
		if (name === "IEND") break;
		at += 12 + length;
	}
	return out;
}

function header(data: Uint8Array): Omit<PngInfo, "palette" | "key" | "idat"> {
	if (data.length < 13) throw bad("short IHDR");
	const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
	const [width, height] = [view.getUint32(0), view.getUint32(4)];
	const [bitDepth, colourType, compression, filter, interlace] = [8, 9, 10, 11, 12].map(
		(i) => data[i] ?? 0,
	) as [number, number, number, number, number];
	if (!width || !height || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) throw bad("bad size");
	if (!DEPTHS[colourType]?.includes(bitDepth))
		throw bad(`colour type ${colourType} at ${bitDepth} bits`);
	if (compression !== 0 || filter !== 0 || interlace > 1) throw bad("unknown IHDR method");
	return { width, height, bitDepth, colourType, interlaced: interlace === 1 };
}

function paletteOf(plte: Uint8Array, trns: Uint8Array | undefined): Uint8Array {
	const palette = new Uint8Array(256 * 4);
	for (let i = 0; i < 256; i++) palette[i * 4 + 3] = 255;
	for (let i = 0; i < Math.min(256, Math.floor(plte.length / 3)); i++) {
		palette.set(plte.subarray(i * 3, i * 3 + 3), i * 4);
		palette[i * 4 + 3] = trns && i < trns.length ? (trns[i] as number) : 255;
	}
	return palette;
}

/** Parse a PNG's chunks: what the rows need, and where the compressed data is. */
export function readPng(bytes: Uint8Array): PngInfo {
	const list = chunks(bytes);
	const ihdr = list[0];
	if (ihdr?.type !== "IHDR") throw bad("no IHDR");
	const info = header(ihdr.data);
	const find = (name: string) => list.find((c) => c.type === name)?.data;
	const plte = find("PLTE");
	const trns = find("tRNS");
	const idat = list.filter((c) => c.type === "IDAT").map((c) => c.data);
	if (idat.length === 0) throw bad("no IDAT");
	if (info.colourType === 3 && !plte) throw bad("palette image without PLTE");
	let key: number[] | undefined;
	if (trns && (info.colourType === 0 || info.colourType === 2)) {
		const view = new DataView(trns.buffer, trns.byteOffset, trns.byteLength);
		const n = info.colourType === 0 ? 1 : 3;
		if (trns.length >= 2 * n) key = Array.from({ length: n }, (_, i) => view.getUint16(2 * i));
	}
	const palette = info.colourType === 3 && plte ? paletteOf(plte, trns) : undefined;
	return { ...info, palette, key, idat };
}

/** Bytes per complete pixel, at least 1 (the filters' distance). */
export const bytesPerPixel = (info: PngInfo) =>
	Math.max(1, ((CHANNELS[info.colourType] ?? 1) * info.bitDepth) >> 3);

/** Bytes of one row of `width` pixels, without its filter byte. */
export const strideOf = (info: PngInfo, width: number) =>
	Math.ceil((width * (CHANNELS[info.colourType] ?? 1) * info.bitDepth) / 8);

/** Undo the row's filter in place (prev is the unfiltered row above, zeros for the first). */
export function unfilter(kind: number, row: Uint8Array, prev: Uint8Array, bpp: number): void {
	const n = row.length;
	switch (kind) {
		case 0:
			return;
		case 1:
			for (let i = bpp; i < n; i++) row[i] = (row[i] as number) + (row[i - bpp] as number);
			return;
		case 2:
			for (let i = 0; i < n; i++) row[i] = (row[i] as number) + (prev[i] as number);
			return;
		case 3:
			for (let i = 0; i < bpp; i++) row[i] = (row[i] as number) + ((prev[i] as number) >> 1);
			for (let i = bpp; i < n; i++) {
				row[i] = (row[i] as number) + (((row[i - bpp] as number) + (prev[i] as number)) >> 1);
			}
			return;
		case 4:
			unpaeth(row, prev, bpp);
			return;
		default:
			throw bad(`filter type ${kind}`);
	}
}

function unpaeth(row: Uint8Array, prev: Uint8Array, bpp: number): void {
	for (let i = 0; i < bpp; i++) row[i] = (row[i] as number) + (prev[i] as number);
	for (let i = bpp; i < row.length; i++) {
		const a = row[i - bpp] as number;
		const b = prev[i] as number;
		const c = prev[i - bpp] as number;
		const pa = Math.abs(b - c);
		const pb = Math.abs(a - c);
		const pc = Math.abs(a + b - 2 * c);
		row[i] = (row[i] as number) + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
	}
}

/** Sample x of a row of `depth`-bit samples (1/2/4/8/16 bits). */
function sample(raw: Uint8Array, x: number, depth: number): number {
	if (depth === 8) return raw[x] as number;
	if (depth === 16) return ((raw[2 * x] as number) << 8) | (raw[2 * x + 1] as number);
	const perByte = 8 / depth;
	const byte = raw[(x / perByte) | 0] as number;
	return (byte >> (8 - depth * ((x % perByte) + 1))) & ((1 << depth) - 1);
}

/** The unfiltered row's `n` pixels as 8-bit RGBA into out. */
export function toRGBA(info: PngInfo, raw: Uint8Array, n: number, out: Uint8Array): void {
	const { colourType, bitDepth, key } = info;
	if (colourType === 3 || colourType === 0) {
		(colourType === 3 ? paletteRow : greyRow)(info, raw, n, out);
		return;
	}
	if (bitDepth === 8 && !key && fastRow(colourType, raw, n, out)) return;
	const ch = CHANNELS[colourType] as number;
	const step = bitDepth >> 3;
	for (let x = 0; x < n; x++) {
		const i = x * ch * step;
		const o = x * 4;
		if (colourType === 4) {
			const g = raw[i] as number;
			out[o] = g;
			out[o + 1] = g;
			out[o + 2] = g;
			out[o + 3] = raw[i + step] as number;
			continue;
		}
		out[o] = raw[i] as number;
		out[o + 1] = raw[i + step] as number;
		out[o + 2] = raw[i + 2 * step] as number;
		if (colourType === 6) out[o + 3] = raw[i + 3 * step] as number;
		else if (key) out[o + 3] = rgbKeyed(raw, x, bitDepth, key) ? 0 : 255;
		else out[o + 3] = 255;
	}
}

/** The common 8-bit RGBA and RGB rows without per-pixel branches. */
function fastRow(colourType: number, raw: Uint8Array, n: number, out: Uint8Array): boolean {
	if (colourType === 6) {
		out.set(raw.subarray(0, n * 4));
		return true;
	}
	if (colourType !== 2) return false;
	for (let x = 0, i = 0, o = 0; x < n; x++, i += 3, o += 4) {
		out[o] = raw[i] as number;
		out[o + 1] = raw[i + 1] as number;
		out[o + 2] = raw[i + 2] as number;
		out[o + 3] = 255;
	}
	return true;
}

function rgbKeyed(raw: Uint8Array, x: number, depth: number, key: readonly number[]): boolean {
	return (
		sample(raw, 3 * x, depth) === key[0] &&
		sample(raw, 3 * x + 1, depth) === key[1] &&
		sample(raw, 3 * x + 2, depth) === key[2]
	);
}

function greyRow(info: PngInfo, raw: Uint8Array, n: number, out: Uint8Array): void {
	const { bitDepth, key } = info;
	// 1/2/4-bit grey scales to 0-255 (×255, ×85, ×17); 16-bit keeps its high byte.
	const scale = bitDepth < 8 ? 255 / ((1 << bitDepth) - 1) : 1;
	for (let x = 0; x < n; x++) {
		const s = sample(raw, x, bitDepth);
		const g = bitDepth === 16 ? s >> 8 : s * scale;
		const o = x * 4;
		out[o] = g;
		out[o + 1] = g;
		out[o + 2] = g;
		out[o + 3] = key && s === key[0] ? 0 : 255;
	}
}

function paletteRow(info: PngInfo, raw: Uint8Array, n: number, out: Uint8Array): void {
	const palette = info.palette as Uint8Array;
	for (let x = 0; x < n; x++) {
		const p = sample(raw, x, info.bitDepth) * 4;
		const o = x * 4;
		out[o] = palette[p] as number;
		out[o + 1] = palette[p + 1] as number;
		out[o + 2] = palette[p + 2] as number;
		out[o + 3] = palette[p + 3] as number;
	}
}

/** A run of rows of one width: the whole image, or one Adam7 pass. */
export interface Segment {
	readonly width: number;
	readonly rows: number;
}

/** Slice size handed to the inflater: the file is never copied whole. */
const FEED_BYTES = 64 * 1024;

/**
 * IDAT's zlib stream, inflated by the runtime, written in copies of small
 * slices (the file is never copied whole; a stream may take ownership of
 * what it is given). `stop()` ends both sides without leaving a rejected
 * promise behind (a pipe would).
 */
function inflate(idat: readonly Uint8Array[]): {
	reader: ReadableStreamDefaultReader<Uint8Array>;
	stop: () => void;
} {
	const stream = new DecompressionStream("deflate");
	const writer = stream.writable.getWriter();
	const feed = async () => {
		for (const data of idat) {
			for (let at = 0; at < data.length; at += FEED_BYTES) {
				await writer.write(data.slice(at, at + FEED_BYTES));
			}
		}
		await writer.close();
	};
	feed().catch(() => {});
	const reader = stream.readable.getReader();
	return {
		reader,
		stop: () => {
			reader.cancel().catch(() => {});
			writer.abort().catch(() => {});
		},
	};
}

/**
 * IDAT's rows, unfiltered, pulled one at a time across the segments (the
 * whole image, or Adam7's passes). Only a row and its predecessor are held;
 * reading stops at the last row, so, as jSquash's decoder, trailing data and
 * the zlib checksum are not looked at.
 */
class RowReader {
	readonly #info: PngInfo;
	readonly #todo: readonly (Segment & { i: number })[];
	readonly #bpp: number;
	readonly #inflater: ReturnType<typeof inflate>;
	#chunk: Uint8Array = new Uint8Array(0);
	#at = 0;
	#s = 0;
	#y = 0;
	#row: Uint8Array;
	#prev: Uint8Array;

	constructor(info: PngInfo, segments: readonly Segment[]) {
		this.#info = info;
		this.#todo = segments.map((s, i) => ({ ...s, i })).filter((s) => s.width > 0 && s.rows > 0);
		this.#bpp = bytesPerPixel(info);
		this.#inflater = inflate(info.idat);
		this.#row = this.#rowBuffer();
		this.#prev = this.#rowBuffer();
	}

	#rowBuffer(): Uint8Array {
		const segment = this.#todo[this.#s];
		return new Uint8Array(segment ? strideOf(this.#info, segment.width) + 1 : 0);
	}

	/** The next row (reused after the next call), its segment and y; undefined after the last. */
	async next(): Promise<{ raw: Uint8Array; segment: number; y: number } | undefined> {
		const segment = this.#todo[this.#s];
		if (!segment) return undefined;
		const row = this.#row;
		for (let fill = 0; fill < row.length; ) {
			if (this.#at === this.#chunk.length) await this.#more();
			const take = Math.min(row.length - fill, this.#chunk.length - this.#at);
			row.set(this.#chunk.subarray(this.#at, this.#at + take), fill);
			fill += take;
			this.#at += take;
		}
		const body = row.subarray(1);
		unfilter(row[0] as number, body, this.#prev.subarray(1), this.#bpp);
		const out = { raw: body, segment: segment.i, y: this.#y };
		[this.#row, this.#prev] = [this.#prev, row];
		if (++this.#y === segment.rows) {
			[this.#s, this.#y] = [this.#s + 1, 0];
			[this.#row, this.#prev] = [this.#rowBuffer(), this.#rowBuffer()];
		}
		return out;
	}

	async #more(): Promise<void> {
		let read: ReadableStreamReadResult<Uint8Array>;
		try {
			read = await this.#inflater.reader.read();
		} catch (err) {
			throw new UnprocessableError("Could not decode PNG", {
				cause: err,
				detail: `inflate: ${String(err)}`,
			});
		}
		if (read.done) throw bad("image data ends early");
		[this.#chunk, this.#at] = [read.value, 0];
	}

	stop(): void {
		this.#inflater.stop();
	}
}

/**
 * Inflate IDAT and call onRow(raw, segment, y) with each row unfiltered, as
 * soon as it is complete (raw is reused for the next row).
 */
export async function inflateRows(
	info: PngInfo,
	segments: readonly Segment[],
	/** Returns false when no more rows are wanted. */
	onRow: (raw: Uint8Array, segment: number, y: number) => boolean | undefined,
): Promise<void> {
	const reader = new RowReader(info, segments);
	try {
		for (let row = await reader.next(); row; row = await reader.next()) {
			if (onRow(row.raw, row.segment, row.y) === false) return;
		}
	} finally {
		reader.stop();
	}
}

/** Adam7: first column and row, and steps, of each of the seven passes. */
const ADAM7 = [
	[0, 0, 8, 8],
	[4, 0, 8, 8],
	[0, 4, 4, 8],
	[2, 0, 4, 4],
	[0, 2, 2, 4],
	[1, 0, 2, 2],
	[0, 1, 1, 2],
] as const;

/** Decode the whole image (interlaced files can only be decoded this way). */
export async function decodePngImage(bytes: Uint8Array): Promise<RGBAImage> {
	const info = readPng(bytes);
	const { width, height } = info;
	const data = new Uint8ClampedArray(width * height * 4);
	const out = new Uint8Array(data.buffer);
	if (!info.interlaced) {
		await inflateRows(info, [{ width, rows: height }], (raw, _, y) => {
			toRGBA(info, raw, width, out.subarray(y * width * 4, (y + 1) * width * 4));
			return true;
		});
		return { data, width, height };
	}
	const passes = ADAM7.map(([x0, y0, dx, dy]) => ({
		width: Math.max(0, Math.ceil((width - x0) / dx)),
		rows: Math.max(0, Math.ceil((height - y0) / dy)),
	}));
	const tmp = new Uint8Array(width * 4);
	const pixels = new Uint32Array(data.buffer);
	const tmp32 = new Uint32Array(tmp.buffer);
	await inflateRows(info, passes, (raw, pass, y) => {
		const [x0, y0, dx, dy] = ADAM7[pass] as readonly [number, number, number, number];
		const n = (passes[pass] as Segment).width;
		toRGBA(info, raw, n, tmp);
		const base = (y0 + y * dy) * width;
		for (let i = 0; i < n; i++) pixels[base + x0 + i * dx] = tmp32[i] as number;
		return true;
	});
	return { data, width, height };
}

/**
 * A non-interlaced PNG as a RowSource (resize.ts) whose rows arrive as IDAT
 * is inflated: each begin starts a fresh inflate, rows above the window are
 * unfiltered and skipped, and only a row and its predecessor are held.
 */
export function pngRows(info: PngInfo): RowSource {
	if (info.interlaced) throw new RangeError("an interlaced PNG cannot be read row by row");
	codecStats.decodes++;
	const { width, height } = info;
	const rgba = new Uint8Array(width * 4);
	let reader: RowReader | undefined;
	let [x0, cols, next] = [0, width, 0];
	return {
		width,
		height,
		async: true,
		begin(x, _y, w) {
			reader?.stop();
			reader = new RowReader(info, [{ width, rows: height }]);
			[x0, cols, next] = [x, w, 0];
		},
		async read(y, rows, into) {
			if (!reader) throw new RangeError("pngRows: read before begin");
			for (let r = 0; r < rows; r++) {
				let row = await reader.next();
				for (; row && row.y < y + r; row = await reader.next()) next = row.y + 1;
				if (!row || row.y !== y + r) throw new RangeError(`pngRows: row ${y + r} after ${next}`);
				next = row.y + 1;
				toRGBA(info, row.raw, width, rgba);
				into.set(rgba.subarray(x0 * 4, (x0 + cols) * 4), r * cols * 4);
			}
		},
		end() {
			reader?.stop();
			reader = undefined;
		},
	};
}

/** Some palette entry is not opaque (tRNS). */
export function hasPaletteAlpha(info: PngInfo): boolean {
	return info.palette?.some((v, i) => i % 4 === 3 && v !== 255) ?? false;
}
