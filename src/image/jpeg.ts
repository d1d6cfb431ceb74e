/**
 * Our JPEG codec: libjpeg-turbo 2.1.5 built to WASM with SIMD (wasm/jpeg.c,
 * built by wasm/build-jpeg.sh into src/wasm/jpeg.wasm): decode at M/8 scale,
 * and encode. One instance per isolate through `Lazy` (wasm-lazy.ts).
 */

import { UnprocessableError, UnsupportedFormatError } from "../http/errors";
import jpegWasm from "../wasm/jpeg.wasm";
import type { RGBAImage } from "./orientation";
import { type ImageInfo, jpegHasEnd } from "./probe";
import type { RowSource } from "./resize";
import { codecError, codecStats, Lazy } from "./wasm-lazy";

interface JpegExports {
	readonly memory: WebAssembly.Memory;
	alloc(size: number): number;
	release(ptr: number): void;
	/** Address of the last call's [width, height, byte length, warnings] (u32). */
	result(): number;
	decode(ptr: number, len: number, scaleNum: number): number;
	/** Returns the address of u32 [scaled w, scaled h, first column, columns, first row, rows ptr, max rows]. */
	stream_start(
		ptr: number,
		len: number,
		scaleNum: number,
		x: number,
		w: number,
		y: number,
		maxRows: number,
	): number;
	/** Decodes up to `rows` more rows into the stream's buffer; returns how many. */
	stream_read(rows: number): number;
	stream_end(): void;
	encode(
		ptr: number,
		width: number,
		height: number,
		quality: number,
		progressive: number,
		subsample: number,
		tables: number,
	): number;
}

/** A libjpeg error (error_exit), thrown out of the WASM call by its `fail` import. */
export class LibjpegError extends Error {
	override readonly name = "LibjpegError";
}

/** WASI calls only libjpeg's unused stderr printer can reach: refused (EBADF). */
const noFiles = { fd_close: () => 8, fd_seek: () => 8, fd_write: () => 8 };

const jpegCodec = new Lazy<JpegExports>(
	"jpeg",
	async () => {
		let memory: WebAssembly.Memory | undefined;
		const fail = (ptr: number) => {
			const bytes = memory ? new Uint8Array(memory.buffer, ptr) : new Uint8Array();
			const end = bytes.indexOf(0);
			throw new LibjpegError(new TextDecoder().decode(bytes.subarray(0, Math.max(0, end))));
		};
		const instance = await WebAssembly.instantiate(jpegWasm, {
			env: { fail },
			wasi_snapshot_preview1: noFiles,
		});
		const exports = instance.exports as unknown as JpegExports;
		memory = exports.memory;
		return exports;
	},
	(wasm) => wasm.memory.buffer.byteLength,
);

/**
 * Copy `input` into the codec's heap, run `call` on it, and copy out the
 * buffer it returns (its length is the call's result[2]); both are freed.
 * Returns that copy and the call's [width, height, byte length, warnings].
 */
function throughHeap(
	wasm: JpegExports,
	input: Uint8Array | Uint8ClampedArray,
	call: (ptr: number) => number,
): { out: ArrayBuffer; result: [number, number, number, number] } {
	const ptr = wasm.alloc(input.byteLength);
	if (!ptr) throw new RangeError("JPEG codec: out of memory");
	new Uint8Array(wasm.memory.buffer, ptr, input.byteLength).set(input);
	const made = call(ptr);
	wasm.release(ptr);
	// (read after the call: it may have grown memory)
	const r = new Uint32Array(wasm.memory.buffer, wasm.result(), 4);
	const result: [number, number, number, number] = [r[0] ?? 0, r[1] ?? 0, r[2] ?? 0, r[3] ?? 0];
	const out = wasm.memory.buffer.slice(made, made + result[2]);
	wasm.release(made);
	return { out, result };
}

/**
 * Which JPEGs the bundled decoder can read, judged from the header alone so a
 * file it cannot read is refused before it is downloaded: 8-bit, greyscale or
 * YCbCr. libjpeg cannot turn CMYK/YCCK into RGBA, and this build has no
 * 12-bit support (it would exit mid-decode).
 */
export function assertJpegDecodable(info: ImageInfo): void {
	const jpeg = info.jpeg;
	if (info.format !== "jpeg" || !jpeg) return;
	if (jpeg.precision !== 8) {
		throw new UnsupportedFormatError(`${jpeg.precision}-bit JPEG originals are not supported`);
	}
	if (jpeg.components !== 1 && jpeg.components !== 3) {
		throw new UnsupportedFormatError(
			jpeg.components === 4
				? "CMYK JPEG originals are not supported"
				: `JPEG with ${jpeg.components} components is not supported`,
		);
	}
}

/**
 * Decode a JPEG to RGBA at `scaleNum`/8 of its stored size (1..8; each side
 * rounded up). libjpeg scales in the inverse DCT, so a smaller decode is
 * also a cheaper one: pixel i of the result covers stored pixels
 * [8i/scaleNum, 8(i+1)/scaleNum).
 */
export async function decodeJpeg(bytes: Uint8Array, scaleNum = 8): Promise<RGBAImage> {
	if (!Number.isInteger(scaleNum) || scaleNum < 1 || scaleNum > 8) {
		throw new RangeError(`JPEG scale ${scaleNum}/8`);
	}
	// libjpeg fills a cut-off file with grey and calls it a success.
	if (!jpegHasEnd(bytes)) throw new UnprocessableError("Original JPEG is truncated");
	codecStats.decodes++;
	try {
		return await jpegCodec.use((wasm) => {
			const { out, result } = throughHeap(wasm, bytes, (ptr) =>
				wasm.decode(ptr, bytes.byteLength, scaleNum),
			);
			const [width, height] = result;
			codecStats.decodedPixels += width * height;
			return { data: new Uint8ClampedArray(out), width, height };
		});
	} catch (err) {
		// Out of memory is this isolate's state (503); a libjpeg error (bad
		// Huffman table, unsupported variant) or a trap on this file's data is
		// the file's fault (422). Either way the instance is gone.
		throw codecError(err, "source", "Could not decode JPEG", "decode");
	}
}

export interface JpegEncodeOptions {
	readonly quality: number;
	readonly progressive: boolean;
	/** Chroma subsampling factor (2 = 4:2:0, 1 = 4:4:4). Default 2. */
	readonly chromaSubsample?: number;
	/** Quantisation tables: 0 = JPEG Annex K (libjpeg's), 3 = Robidoux (mozjpeg's). Default 3. */
	readonly tables?: 0 | 3;
}

/**
 * libjpeg-turbo's encoder: baseline or progressive, optimised Huffman coding,
 * no trellis quantisation (BENCHMARKS.md: mozjpeg's trellis cost 5-7x the
 * encode time for 0-4% fewer bytes). Tables scaled by `quality` with
 * libjpeg's curve: Robidoux's by default, or Annex K (as WordPress's GD and
 * Imagick editors and sharp use them).
 */
export async function encodeJpeg(
	image: RGBAImage,
	options: JpegEncodeOptions,
): Promise<Uint8Array> {
	codecStats.encodes++;
	return jpegCodec.use((wasm) => {
		const { out } = throughHeap(wasm, image.data, (ptr) =>
			wasm.encode(
				ptr,
				image.width,
				image.height,
				options.quality,
				options.progressive ? 1 : 0,
				options.chromaSubsample ?? 2,
				options.tables ?? 3,
			),
		);
		return new Uint8Array(out);
	});
}

/** libjpeg's size for a side decoded at scaleNum/8 (rounded up). */
export const scaledSide = (side: number, scaleNum: number) => Math.ceil((side * scaleNum) / 8);

/**
 * A JPEG decoded at scaleNum/8 as a RowSource: the decoder starts when the
 * resize says which rows and columns it needs, decodes only those columns'
 * iMCUs (jpeg_crop_scanline), skips the rows above (jpeg_skip_scanlines),
 * and hands over a chunk of rows at a time. The compressed bytes are copied
 * into the codec's heap for that run only. `stored` is the header's size.
 */
function jpegRowSource(
	wasm: JpegExports,
	bytes: Uint8Array,
	scaleNum: number,
	stored: { width: number; height: number },
): RowSource {
	let ptr = 0;
	let x0 = 0;
	let info = new Uint32Array(7);
	const width = scaledSide(stored.width, scaleNum);
	const height = scaledSide(stored.height, scaleNum);
	const fail = (err: unknown) =>
		codecError(err, "source", "Could not decode JPEG", "stream decode");
	return {
		width,
		height,
		begin(x, y, w, _h, chunk) {
			x0 = x;
			try {
				ptr = wasm.alloc(bytes.byteLength);
				if (!ptr) throw new RangeError("JPEG codec: out of memory");
				new Uint8Array(wasm.memory.buffer, ptr, bytes.byteLength).set(bytes);
				const at = wasm.stream_start(ptr, bytes.byteLength, scaleNum, x, w, y, chunk);
				info = new Uint32Array(wasm.memory.buffer, at, 7).slice();
			} catch (err) {
				throw fail(err);
			}
			if (info[0] !== width || info[1] !== height || info[4] !== y) {
				throw new UnprocessableError("Original changed while it was read", {
					detail: `stream at ${info[0]}x${info[1]} row ${info[4]}, expected ${width}x${height} row ${y}`,
				});
			}
			codecStats.decodedPixels += (info[3] ?? 0) * (height - y);
		},
		read(_y, rows, into) {
			let got = 0;
			try {
				got = wasm.stream_read(rows);
			} catch (err) {
				throw fail(err);
			}
			if (got !== rows) throw new UnprocessableError("Original JPEG is truncated");
			const [, , first = 0, columns = 0, , buffer = 0] = info;
			const heap = new Uint8Array(wasm.memory.buffer);
			const rowBytes = into.byteLength / rows;
			// The decoder's columns start at the iMCU boundary at or before the window's.
			const offset = (x0 - first) * 4;
			for (let r = 0; r < rows; r++) {
				const from = buffer + r * columns * 4 + offset;
				into.set(heap.subarray(from, from + rowBytes), r * rowBytes);
			}
		},
		end() {
			wasm.stream_end();
			if (ptr) wasm.release(ptr);
			ptr = 0;
		},
	};
}

/**
 * Stream a JPEG decoded at scaleNum/8 (1..8) into `consume` (a resize:
 * resizeRows) a chunk of rows at a time, only the rows and columns it reads:
 * the whole decode is never held. libjpeg failures are typed as in
 * decodeJpeg (422, or 503 when out of memory); anything else `consume`
 * throws comes out as it was.
 */
export async function jpegRows<R>(
	bytes: Uint8Array,
	scaleNum: number,
	stored: { width: number; height: number },
	consume: (rows: RowSource) => Promise<R>,
): Promise<R> {
	if (!Number.isInteger(scaleNum) || scaleNum < 1 || scaleNum > 8) {
		throw new RangeError(`JPEG scale ${scaleNum}/8`);
	}
	if (!jpegHasEnd(bytes)) throw new UnprocessableError("Original JPEG is truncated");
	codecStats.decodes++;
	return jpegCodec.use((wasm) => consume(jpegRowSource(wasm, bytes, scaleNum, stored)));
}
