/**
 * WebP. Decoding through our build of libwebp 1.2.4's decoder
 * (wasm/webp_decode.c, built by wasm/build-webp-decode.sh into
 * src/wasm/webp-decode.wasm): whole images as WebPDecodeRGBA makes them
 * (lossy, lossless, alpha), and a lossy image without alpha streamed, cropped
 * and scaled by libwebp as it decodes (webpRows). Encoding through jSquash's
 * SIMD build of libwebp's encoder; workerd's V8 runs WASM SIMD, and the tests
 * instantiate it there. Animated WebP is refused before this point (see
 * `assertDecodable` in formats.ts, via `assertSourceWithinLimits` in
 * limits.ts): libwebp's still-image decoder cannot read it.
 */
import type { WebPModule as EncModule, EncodeOptions } from "@jsquash/webp/codec/enc/webp_enc.js";
import webpEncFactory from "@jsquash/webp/codec/enc/webp_enc_simd.js";
import webpEncWasm from "@jsquash/webp/codec/enc/webp_enc_simd.wasm";
import { defaultOptions as webpDefaults } from "@jsquash/webp/meta.js";
import { initEmscriptenModule } from "@jsquash/webp/utils.js";
import { InternalError, UnprocessableError } from "../http/errors";
import webpDecodeWasm from "../wasm/webp-decode.wasm";
import type { RGBAImage } from "./orientation";
import type { RowSource } from "./resize";
import { codecError, codecStats, emscriptenHeap, Lazy } from "./wasm-lazy";

interface WebpExports {
	readonly memory: WebAssembly.Memory;
	alloc(size: number): number;
	release(ptr: number): void;
	/** Address of the last call's [width, height, byte length, status] (u32). */
	result(): number;
	/** A malloc'd RGBA buffer, or 0 (status in result). */
	decode(ptr: number, len: number): number;
	/** Address of u32 [width, height, rows buffer, max rows], or 0 (status in result). */
	stream_start(
		ptr: number,
		len: number,
		x: number,
		y: number,
		w: number,
		h: number,
		width: number,
		height: number,
		first: number,
		maxRows: number,
	): number;
	/** Rows handed over at the start of the rows buffer; -1 on error (status in result). */
	stream_read(rows: number): number;
	stream_end(): void;
}

const decoder = new Lazy<WebpExports>(
	"webp-decode",
	async () => (await WebAssembly.instantiate(webpDecodeWasm, {})).exports as unknown as WebpExports,
	(wasm) => wasm.memory.buffer.byteLength,
);
const encoder = new Lazy<EncModule>(
	"webp-encode",
	() => initEmscriptenModule(webpEncFactory, webpEncWasm),
	emscriptenHeap,
);

/** libwebp's VP8StatusCode names, for the log line. */
const STATUS = [
	"ok",
	"out of memory",
	"invalid parameter",
	"bitstream error",
	"unsupported feature",
	"suspended",
	"aborted",
	"not enough data",
];

/**
 * The error for a libwebp status: out of memory (503); an invalid parameter
 * (a region we asked for) or an abort (our row sink's) is our bug (500); a
 * truncated file or bad data is the file's (422).
 */
function statusError(wasm: WebpExports, step: string): Error {
	const status = new Uint32Array(wasm.memory.buffer, wasm.result(), 4)[3] ?? 0;
	const detail = `${step}: libwebp ${STATUS[status] ?? status}`;
	if (status === 1) return new RangeError(`WebP decoder: out of memory (${step})`);
	if (status === 2 || status === 6) return new InternalError("Could not decode WebP", { detail });
	if (status === 7) return new UnprocessableError("Original WebP is truncated", { detail });
	return new UnprocessableError("Could not decode WebP", { detail });
}

/** `bytes` copied into the decoder's heap (the caller releases it). */
function copyIn(wasm: WebpExports, bytes: Uint8Array): number {
	const ptr = wasm.alloc(bytes.byteLength);
	if (!ptr) throw new RangeError("WebP decoder: out of memory");
	new Uint8Array(wasm.memory.buffer, ptr, bytes.byteLength).set(bytes);
	return ptr;
}

/** Decode a whole WebP (any kind but animated) to RGBA, as libwebp's WebPDecodeRGBA does. */
export async function decodeWebp(bytes: Uint8Array): Promise<RGBAImage> {
	codecStats.decodes++;
	try {
		return await decoder.use((wasm) => {
			const ptr = copyIn(wasm, bytes);
			const out = wasm.decode(ptr, bytes.byteLength);
			wasm.release(ptr);
			if (!out) throw statusError(wasm, "decode webp");
			const [width = 0, height = 0, length = 0] = new Uint32Array(
				wasm.memory.buffer,
				wasm.result(),
				3,
			);
			const data = new Uint8ClampedArray(wasm.memory.buffer.slice(out, out + length));
			wasm.release(out);
			return { data, width, height };
		});
	} catch (err) {
		// The file's data made the decoder fail (422), unless the heap could
		// not grow (503); the instance is gone either way.
		throw codecError(err, "source", "Could not decode WebP", "decode webp");
	}
}

/**
 * What a streamed WebP decode makes: the crop [x, x + w) × [y, y + h) of
 * the stored pixels (x and y even: chroma is subsampled), scaled by libwebp's
 * area-averaging rescaler to width × height (at most w × h).
 */
export interface WebpRegion {
	readonly x: number;
	readonly y: number;
	readonly w: number;
	readonly h: number;
	readonly width: number;
	readonly height: number;
}

/**
 * `region` of a lossy WebP as a RowSource: the decoder starts when the
 * resize says which rows it needs (those above are decoded and dropped),
 * and hands over a chunk of rows at a time; the compressed bytes are copied
 * into its heap for that run only.
 */
function webpRowSource(wasm: WebpExports, bytes: Uint8Array, region: WebpRegion): RowSource {
	let ptr = 0;
	let x0 = 0;
	let buffer = 0;
	const fail = (err: unknown) => codecError(err, "source", "Could not decode WebP", "stream webp");
	return {
		width: region.width,
		height: region.height,
		begin(x, y, _w, _h, chunk) {
			x0 = x;
			try {
				ptr = copyIn(wasm, bytes);
				const { x: cx, y: cy, w, h, width, height } = region;
				const at = wasm.stream_start(ptr, bytes.byteLength, cx, cy, w, h, width, height, y, chunk);
				if (!at) throw statusError(wasm, "stream webp");
				buffer = new Uint32Array(wasm.memory.buffer, at, 4)[2] ?? 0;
			} catch (err) {
				throw fail(err);
			}
		},
		read(_y, rows, into) {
			const got = wasm.stream_read(rows);
			if (got < 0) throw fail(statusError(wasm, "stream webp"));
			if (got !== rows) throw new UnprocessableError("Original WebP is truncated");
			const heap = new Uint8Array(wasm.memory.buffer);
			const rowBytes = into.byteLength / rows;
			for (let r = 0; r < rows; r++) {
				const from = buffer + (r * region.width + x0) * 4;
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
 * Stream `region` of a lossy WebP without alpha into `consume` (a resize:
 * resizeRows) a chunk of rows at a time: neither the image nor the region is
 * ever held whole. libwebp's failures are typed as in decodeWebp (422, or
 * 503 when out of memory); a lossless or alpha file is a 422 (the header
 * said otherwise: limits.ts never streams those).
 */
export async function webpRows<R>(
	bytes: Uint8Array,
	region: WebpRegion,
	consume: (rows: RowSource) => Promise<R>,
): Promise<R> {
	codecStats.decodes++;
	return decoder.use((wasm) => consume(webpRowSource(wasm, bytes, region)));
}

export interface WebpEncodeOptions {
	readonly quality: number;
	readonly lossless: boolean;
}

export async function encodeWebp(
	image: RGBAImage,
	options: WebpEncodeOptions,
): Promise<Uint8Array> {
	codecStats.encodes++;
	const settings: EncodeOptions = {
		...webpDefaults,
		quality: options.lossless ? 75 : options.quality,
		lossless: options.lossless ? 1 : 0,
		// Alpha is kept losslessly: edges of logos and cut-outs stay clean.
		alpha_quality: 100,
	};
	const out = await encoder.use((m) =>
		m.encode(image.data, image.width, image.height, settings)?.slice(),
	);
	// libwebp refused our own pixels (e.g. a side over 16383): our bug, not the
	// source's (formats.ts answers 500).
	if (!out) throw new Error(`libwebp could not encode ${image.width}x${image.height}`);
	return out;
}
