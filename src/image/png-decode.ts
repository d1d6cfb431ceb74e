/**
 * Our PNG decoder, row by row: IDAT inflated by the runtime's native zlib
 * (`DecompressionStream("deflate")`), or when it is small enough at once by
 * libdeflate in WASM (atOnce), each row unfiltered as it completes and
 * expanded to 8-bit RGBA the way the decoder it replaces (jSquash's, the Rust
 * `png` crate with EXPAND | STRIP_16) does: palette + tRNS looked up, 1/2/4-bit
 * grey scaled to 0-255, a tRNS colour key made transparent, 16-bit samples
 * cut to their high byte. An APNG gives its default image (IDAT), as GD does.
 * A consumer gets one row at a time, so a big PNG can be resized without its
 * pixels ever being held whole (pngRows, a RowSource for resize.ts). Adam7-interlaced files
 * need the whole image (every pass adds pixels to every region).
 */
import { InternalError, UnprocessableError } from "../http/errors";
import type { RGBAImage } from "./orientation";
import { heapAlloc, type PngExports, pngWasm } from "./png-wasm";
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

/** A run of rows of one width: the whole image, or one Adam7 pass. */
interface Segment {
	readonly width: number;
	readonly rows: number;
}

/** Slice size handed to the runtime's inflater: the file is not copied whole for it. */
const FEED_BYTES = 64 * 1024;
/** Inflated bytes copied into the WASM heap at a time. */
const IN_BYTES = 64 * 1024;
/** RGBA rows decoded per call, at most (at least one row). */
const STRIP_BYTES = 256 * 1024;
/**
 * Inflated (filtered) bytes inflated at once with libdeflate, at most; past
 * it, or if libdeflate declines, the runtime's stream, which hands out a few
 * KB per read: the 2560x1440 screenshot's decode took 159 ms through it, 24
 * at once (bench/png-decode.test.ts). At once, the codec's heap holds IDAT
 * (at most this and a little more: see #inflateWhole) and the inflated rows.
 */
const WHOLE_INFLATE_BYTES = 16 * 2 ** 20;
/** Samples per pixel, by colour type. */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** IDAT's inflated size if it is inflated at once (WHOLE_INFLATE_BYTES), else 0. */
function atOnce(info: PngInfo, segments: readonly Segment[]): number {
	const bits = (CHANNELS[info.colourType] ?? 4) * info.bitDepth;
	let total = 0;
	for (const { width, rows } of segments) {
		if (width > 0) total += rows * (1 + Math.ceil((width * bits) / 8));
	}
	return total <= WHOLE_INFLATE_BYTES ? total : 0;
}

/** IDAT's bytes in slices of FEED_BYTES (views, not copies). */
function slicesOf(idat: readonly Uint8Array[]): Uint8Array[] {
	const out: Uint8Array[] = [];
	for (const data of idat) {
		for (let at = 0; at < data.length; at += FEED_BYTES)
			out.push(data.subarray(at, at + FEED_BYTES));
	}
	return out;
}

/**
 * One run of the runtime's inflater over the slices, each written as a copy
 * (a stream may take ownership of what it is given); slice `careful` is
 * written a byte at a time. `failedAt()` is the slice being written when the
 * stream failed (the last one if closing failed).
 */
function inflateRun(slices: readonly Uint8Array[], careful: number) {
	const stream = new DecompressionStream("deflate");
	const writer = stream.writable.getWriter();
	let writing = 0;
	const feed = async () => {
		for (; writing < slices.length; writing++) {
			const slice = slices[writing] as Uint8Array;
			if (writing !== careful) await writer.write(slice.slice());
			else for (let i = 0; i < slice.length; i++) await writer.write(slice.slice(i, i + 1));
		}
		await writer.close();
	};
	feed().catch(() => {});
	const reader = stream.readable.getReader();
	return {
		reader,
		failedAt: () => Math.min(writing, slices.length - 1),
		stop: () => {
			reader.cancel().catch(() => {});
			writer.abort().catch(() => {});
		},
	};
}

/**
 * IDAT's zlib stream, inflated by the runtime a slice at a time (the file
 * is never copied whole). workerd's inflater fails on bytes after the end of
 * the stream, or a missing checksum, and drops what the failing write would
 * have given; libpng only warns, and WordPress sizes such files. So once,
 * after a failure, the stream is inflated again with the failing slice
 * written a byte at a time (nothing of it is lost) and the bytes already
 * read skipped; a second failure is the caller's. `stop()` ends both sides
 * without leaving a rejected promise behind (a pipe would).
 */
function inflate(idat: readonly Uint8Array[]) {
	const slices = slicesOf(idat);
	let run = inflateRun(slices, -1);
	let [delivered, skip, retried] = [0, 0, false];
	const read = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
		let got: ReadableStreamReadResult<Uint8Array>;
		try {
			got = await run.reader.read();
		} catch (err) {
			if (retried) throw err;
			retried = true;
			const careful = run.failedAt();
			run.stop();
			[run, skip] = [inflateRun(slices, careful), delivered];
			return read();
		}
		if (got.done) return got;
		const drop = Math.min(skip, got.value.length);
		skip -= drop;
		if (drop === got.value.length) return read();
		delivered += got.value.length - drop;
		return { done: false, value: got.value.subarray(drop) };
	};
	return { reader: { read }, stop: () => run.stop() };
}

/** Rows [y, y + rows) of a segment, RGBA, at heap offset `at` (valid until the next call). */
interface Strip {
	readonly segment: number;
	readonly y: number;
	readonly rows: number;
	readonly at: number;
}

const outOfMemory = () => new Error("PNG decoder: out of memory");

/**
 * IDAT's rows across the segments (the whole image, or Adam7's passes),
 * unfiltered and expanded to RGBA in WASM (wasm/png.c) a strip at a time,
 * from IDAT inflated at once (atOnce), or as the runtime inflates it: then
 * it holds two rows, a slice of inflated bytes and one strip. Reading stops
 * at the last row, so, as jSquash's decoder, trailing data and the zlib
 * checksum are not looked at (see inflate for the runtime's own view of
 * them). stop() must follow.
 */
class RowDecoder {
	readonly #todo: readonly (Segment & { i: number })[];
	readonly #idat: readonly Uint8Array[];
	/** The runtime's stream, started on the first read (never, when libdeflate inflated it all). */
	#inflater: ReturnType<typeof inflate> | undefined;
	#inflatedWhole = false;
	readonly wasm: PngExports;
	readonly #release: (failed: boolean) => void;
	#state = 0;
	#in = 0;
	#out = 0;
	#outBytes = 0;
	#chunk: Uint8Array = new Uint8Array(0);
	#chunkAt = 0;
	#inLen = 0;
	#inAt = 0;
	#s = 0;
	#y = 0;
	#failed = false;

	private constructor(
		info: PngInfo,
		segments: readonly Segment[],
		held: { instance: PngExports; release: (failed: boolean) => void },
	) {
		this.#todo = segments.map((s, i) => ({ ...s, i })).filter((s) => s.width > 0 && s.rows > 0);
		this.wasm = held.instance;
		this.#release = held.release;
		this.#idat = info.idat;
	}

	static async open(info: PngInfo, segments: readonly Segment[]): Promise<RowDecoder> {
		const decoder = new RowDecoder(info, segments, await pngWasm.hold());
		try {
			decoder.#allocate(info, atOnce(info, segments));
		} catch (err) {
			decoder.#failed = true;
			decoder.stop();
			throw err;
		}
		return decoder;
	}

	/** `whole`: IDAT's inflated size when it is inflated at once (atOnce), else 0. */
	#allocate(info: PngInfo, whole: number): void {
		const wasm = this.wasm;
		const widest = Math.max(1, ...this.#todo.map((s) => s.width));
		this.#state = wasm.pd_new(this.#todo[0]?.width ?? 1, info.colourType, info.bitDepth);
		if (!this.#state) throw outOfMemory();
		this.#outBytes = Math.max(STRIP_BYTES, widest * 4);
		this.#out = heapAlloc(wasm, this.#outBytes);
		if (!(whole > 0 && this.#inflateWhole(whole))) this.#in = heapAlloc(wasm, IN_BYTES);
		const heap = new Uint8Array(wasm.memory.buffer);
		if (info.palette) heap.set(info.palette, wasm.pd_palette(this.#state));
		if (info.key) wasm.pd_key(this.#state, info.key[0] ?? 0, info.key[1] ?? 0, info.key[2] ?? 0);
	}

	/** IDAT inflated at once into the input buffer by libdeflate; false (nothing held) if it could not. */
	#inflateWhole(bytes: number): boolean {
		const wasm = this.wasm;
		const n = this.#idat.reduce((sum, d) => sum + d.length, 0);
		// More IDAT than stored blocks of the rows would take is junk: the stream copes without holding it.
		if (n > bytes + (bytes >> 6) + 65_536) return false;
		const compressed = wasm.pe_malloc(n);
		const raw = compressed ? wasm.pe_malloc(bytes) : 0;
		let ok = false;
		if (raw) {
			const heap = new Uint8Array(wasm.memory.buffer);
			let at = compressed;
			for (const data of this.#idat) {
				heap.set(data, at);
				at += data.length;
			}
			ok = wasm.pd_inflate(compressed, n, raw, bytes) === 1;
		}
		wasm.pe_free(compressed);
		if (!ok) {
			wasm.pe_free(raw);
			return false;
		}
		[this.#in, this.#inLen, this.#inAt, this.#inflatedWhole] = [raw, bytes, 0, true];
		return true;
	}

	/** The next strip of rows; undefined after the last. */
	async next(): Promise<Strip | undefined> {
		try {
			return await this.#next();
		} catch (err) {
			if (!(err instanceof UnprocessableError)) this.#failed = true;
			throw err;
		}
	}

	async #next(): Promise<Strip | undefined> {
		if (this.#y === (this.#todo[this.#s]?.rows ?? -1)) this.#nextSegment();
		const segment = this.#todo[this.#s];
		if (!segment) return undefined;
		const rowBytes = segment.width * 4;
		const max = Math.min(Math.floor(this.#outBytes / rowBytes), segment.rows - this.#y);
		let rows = 0;
		while (rows < max) {
			if (this.#inAt === this.#inLen) await this.#more();
			const { wasm } = this;
			const at = this.#in + this.#inAt;
			const got = wasm.pd_rows(
				this.#state,
				at,
				this.#inLen - this.#inAt,
				this.#out + rows * rowBytes,
				max - rows,
			);
			this.#inAt += wasm.pd_consumed(this.#state);
			if (got < 0) throw bad("unknown filter type");
			rows += got;
		}
		const strip = { segment: segment.i, y: this.#y, rows, at: this.#out };
		this.#y += rows;
		return strip;
	}

	#nextSegment(): void {
		[this.#s, this.#y] = [this.#s + 1, 0];
		const segment = this.#todo[this.#s];
		if (segment && !this.wasm.pd_segment(this.#state, segment.width)) throw outOfMemory();
	}

	/** More inflated bytes into the heap: the rest of the last chunk, or the next one. */
	async #more(): Promise<void> {
		if (this.#inflatedWhole) throw bad("image data ends early");
		this.#inflater ??= inflate(this.#idat);
		while (this.#chunkAt === this.#chunk.length) {
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
			[this.#chunk, this.#chunkAt] = [read.value, 0];
		}
		const n = Math.min(IN_BYTES, this.#chunk.length - this.#chunkAt);
		new Uint8Array(this.wasm.memory.buffer, this.#in, n).set(
			this.#chunk.subarray(this.#chunkAt, this.#chunkAt + n),
		);
		this.#chunkAt += n;
		[this.#inLen, this.#inAt] = [n, 0];
	}

	/** Free the heap's part and let the instance go (idempotent). */
	stop(): void {
		this.#inflater?.stop();
		if (this.#state < 0) return;
		const { wasm } = this;
		if (!this.#failed) {
			wasm.pd_free(this.#state);
			wasm.pe_free(this.#in);
			wasm.pe_free(this.#out);
		}
		this.#state = -1;
		this.#release(this.#failed);
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

/** The rows IDAT holds: the image's, or the seven passes' (some may be empty). */
function segmentsOf({ width, height, interlaced }: PngInfo): Segment[] {
	if (!interlaced) return [{ width, rows: height }];
	return ADAM7.map(([x0, y0, dx, dy]) => ({
		width: Math.max(0, Math.ceil((width - x0) / dx)),
		rows: Math.max(0, Math.ceil((height - y0) / dy)),
	}));
}

/** Decode the whole image (interlaced files can only be decoded this way). */
export async function decodePngImage(bytes: Uint8Array): Promise<RGBAImage> {
	const info = readPng(bytes);
	const { width, height } = info;
	const data = new Uint8ClampedArray(width * height * 4);
	const pixels = new Uint32Array(data.buffer);
	const segments = segmentsOf(info);
	const decoder = await RowDecoder.open(info, segments);
	try {
		for (let strip = await decoder.next(); strip; strip = await decoder.next()) {
			const n = (segments[strip.segment] as Segment).width;
			const heap = decoder.wasm.memory.buffer;
			if (!info.interlaced) {
				data.set(new Uint8Array(heap, strip.at, strip.rows * n * 4), strip.y * width * 4);
				continue;
			}
			const [x0, y0, dx, dy] = ADAM7[strip.segment] as readonly [number, number, number, number];
			const rgba = new Uint32Array(heap, strip.at, strip.rows * n);
			for (let r = 0; r < strip.rows; r++) {
				const base = (y0 + (strip.y + r) * dy) * width + x0;
				const row = rgba.subarray(r * n, (r + 1) * n);
				// The last pass is whole rows: half the image, copied as such.
				if (dx === 1) pixels.set(row, base);
				else for (let i = 0; i < n; i++) pixels[base + i * dx] = row[i] as number;
			}
		}
	} finally {
		decoder.stop();
	}
	return { data, width, height };
}

/**
 * A non-interlaced PNG as a RowSource (resize.ts) whose rows arrive as IDAT
 * is inflated: each begin starts a fresh inflate (at once when atOnce
 * allows, the inflated rows then held in the codec's heap), rows above the
 * window are decoded and skipped, and only a strip of RGBA rows is held.
 */
export function pngRows(info: PngInfo): RowSource {
	if (info.interlaced) throw new InternalError("an interlaced PNG cannot be read row by row");
	codecStats.decodes++;
	const { width, height } = info;
	let decoder: RowDecoder | undefined;
	let strip: Strip | undefined;
	let [x0, cols] = [0, width];
	const segments = segmentsOf(info);
	const stop = () => {
		decoder?.stop();
		[decoder, strip] = [undefined, undefined];
	};
	return {
		width,
		height,
		async: true,
		begin(x, _y, w) {
			stop();
			[x0, cols] = [x, w];
		},
		async read(y, rows, into) {
			decoder ??= await RowDecoder.open(info, segments);
			for (let r = 0; r < rows; r++) {
				while (!strip || y + r >= strip.y + strip.rows) {
					strip = await decoder.next();
					if (!strip) throw new InternalError(`pngRows: row ${y + r} past the last`);
				}
				if (y + r < strip.y) throw new InternalError(`pngRows: row ${y + r} after ${strip.y}`);
				const at = strip.at + ((y + r - strip.y) * width + x0) * 4;
				into.set(new Uint8Array(decoder.wasm.memory.buffer, at, cols * 4), r * cols * 4);
			}
		},
		end: stop,
	};
}

/** Some palette entry is not opaque (tRNS). */
export function hasPaletteAlpha(info: PngInfo): boolean {
	return info.palette?.some((v, i) => i % 4 === 3 && v !== 255) ?? false;
}
