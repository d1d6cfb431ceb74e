/**
 * The WASM codecs: mozjpeg (decode, encode) and the squoosh resize kernel.
 * Each module is instantiated once per isolate from a statically imported
 * `.wasm` module (workerd cannot compile WASM from bytes at run time), through
 * a promise that is cleared if it rejects. A call that traps (out of memory,
 * `unreachable`) drops that instance, so the next request gets a fresh one
 * instead of a poisoned heap.
 */

import mozjpegDecFactory, {
	type MozJPEGModule as DecModule,
} from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import mozjpegDecWasm from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import mozjpegEncFactory, {
	type MozJPEGModule as EncModule,
	type EncodeOptions,
} from "@jsquash/jpeg/codec/enc/mozjpeg_enc.js";
import mozjpegEncWasm from "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm";
import { defaultOptions as mozjpegDefaults } from "@jsquash/jpeg/meta.js";
import { initEmscriptenModule } from "@jsquash/jpeg/utils.js";
import resizeWasm from "@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm";
import { ImageError, UnprocessableError, UnsupportedFormatError } from "../errors";
import { Shared, SharedTimeoutError } from "../shared";
import type { Rect, RGBAImage } from "./orientation";
import { type ImageInfo, jpegHasEnd } from "./probe";

/** Counters the tests and the bench read: how much real work was done. */
export const codecStats = {
	decodes: 0,
	resizes: 0,
	encodes: 0,
	instantiations: 0,
	/** Codec calls that threw (the instance was dropped). */
	traps: 0,
	/** Instances dropped because their heap grew past KEEP_HEAP_BYTES. */
	shed: 0,
};

/** A lazily created WASM instance that can be thrown away after a trap. */
/**
 * A WASM heap only ever grows, and the instance keeps it for the isolate's
 * life: after one 8-megapixel render the three codecs would hold ~200 MiB,
 * more than a Worker's 128 MiB. An instance whose heap ends a call above this
 * is dropped (the garbage collector reclaims it) and the next call makes a
 * small one, which costs a few milliseconds next to such a render.
 */
export const KEEP_HEAP_BYTES = 32 * 2 ** 20;

/**
 * Longest a call waits for an instance being created (by any request). It
 * takes milliseconds; one still pending after this was started by a request
 * that was cancelled, and is replaced.
 */
const CREATE_WAIT_MS = 10_000;

export class Lazy<T> {
	#instance: Shared<T> | undefined;
	/** Largest heap any of this codec's instances reached (bytes). */
	peakHeap = 0;
	constructor(
		readonly create: () => Promise<T>,
		/** The instance's heap size; without one it is never shed. */
		readonly heapBytes: (instance: T) => number = () => 0,
	) {}

	/** The current instance's handle, made on first use (cleared if creation fails). */
	#current(): Shared<T> {
		if (!this.#instance || this.#instance.stale(CREATE_WAIT_MS)) {
			codecStats.instantiations++;
			const created = this.create();
			const shared = new Shared(created);
			this.#instance = shared;
			created.catch(() => {
				if (this.#instance === shared) this.#instance = undefined;
			});
		}
		return this.#instance;
	}

	/** The instance; one another request is still creating is watched, not awaited. */
	get(): Promise<T> {
		return this.#wait(this.#current());
	}

	/** Wait for `pending`; one that never settles is dropped for the next caller. */
	async #wait(pending: Shared<T>): Promise<T> {
		try {
			return await pending.get(CREATE_WAIT_MS);
		} catch (err) {
			if (err instanceof SharedTimeoutError && this.#instance === pending) this.reset();
			throw err;
		}
	}

	/** Forget the instance; the next get() makes a new one. */
	reset(): void {
		this.#instance = undefined;
	}

	/**
	 * Run fn on the instance; if anything is thrown out of it, discard the
	 * instance and rethrow. Besides real traps (RuntimeError, RangeError on
	 * OOM), libjpeg's error handler leaves through Emscripten's exit(), which
	 * throws an `ExitStatus` object mid-call: the C stack pointer and the
	 * decoder's heap allocations are then never restored, so the instance is
	 * no longer trusted either.
	 */
	async use<R>(fn: (instance: T) => R): Promise<R> {
		const pending = this.#current();
		const instance = await this.#wait(pending);
		try {
			return fn(instance);
		} catch (err) {
			codecStats.traps++;
			// Only if no one has replaced it since (another request's trap).
			if (this.#instance === pending) this.reset();
			throw err;
		} finally {
			const heap = this.heapBytes(instance);
			this.peakHeap = Math.max(this.peakHeap, heap);
			if (heap > KEEP_HEAP_BYTES && this.#instance === pending) {
				codecStats.shed++;
				this.reset();
			}
		}
	}
}

export const emscriptenHeap = (m: unknown) => (m as { HEAP8: Int8Array }).HEAP8.buffer.byteLength;
const decoder = new Lazy<DecModule>(
	() => initEmscriptenModule(mozjpegDecFactory, mozjpegDecWasm),
	emscriptenHeap,
);
const encoder = new Lazy<EncModule>(
	() => initEmscriptenModule(mozjpegEncFactory, mozjpegEncWasm),
	emscriptenHeap,
);

interface ResizeExports {
	readonly memory: WebAssembly.Memory;
	resize(
		retptr: number,
		ptr: number,
		len: number,
		iw: number,
		ih: number,
		ow: number,
		oh: number,
		filter: number,
		premultiply: number,
		linearRGB: number,
	): void;
	__wbindgen_add_to_stack_pointer(delta: number): number;
	__wbindgen_malloc(size: number, align: number): number;
	__wbindgen_free(ptr: number, size: number, align: number): void;
}

// Our own glue for the squoosh resize kernel (it imports nothing). Unlike the
// generated wasm-bindgen glue it can make a fresh instance after a trap, and
// it copies the crop window straight into WASM memory instead of building a
// cropped copy in JS first.
const resizer = new Lazy<ResizeExports>(
	async () => {
		const instance = await WebAssembly.instantiate(resizeWasm, {});
		return instance.exports as unknown as ResizeExports;
	},
	(wasm) => wasm.memory.buffer.byteLength,
);

export const FILTERS = { triangle: 0, catrom: 1, mitchell: 2, lanczos3: 3 } as const;
export type Filter = keyof typeof FILTERS;

export interface ResizeOptions {
	readonly filter: Filter;
	readonly premultiply: boolean;
	readonly linearRGB: boolean;
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

export async function decodeJpeg(bytes: Uint8Array): Promise<RGBAImage> {
	// libjpeg fills a cut-off file with grey and calls it a success.
	if (!jpegHasEnd(bytes)) throw new UnprocessableError("Original JPEG is truncated");
	codecStats.decodes++;
	let image: Awaited<ReturnType<DecModule["decode"]>>;
	try {
		image = await decoder.use((m) => m.decode(bytes, false));
	} catch (err) {
		if (err instanceof ImageError) throw err;
		// A libjpeg error (bad Huffman table, unsupported variant) or a trap on
		// this file's data: the file is at fault, and the instance is gone.
		throw new UnprocessableError("Could not decode JPEG", {
			cause: err,
			detail: describe("decode", err),
		});
	}
	if (!image) throw new UnprocessableError("Could not decode JPEG");
	return { data: image.data, width: image.width, height: image.height };
}

/** Emscripten throws plain objects (`ExitStatus {status}`); say what it was. */
export function describe(step: string, err: unknown): string {
	if (err instanceof Error) return `${step}: ${err.name}: ${err.message}`;
	const name = (err as { name?: unknown } | null)?.name;
	const status = (err as { status?: unknown } | null)?.status;
	return `${step}: ${String(name ?? typeof err)}${status === undefined ? "" : ` status ${status}`}`;
}

/** Resize the `crop` window of `src` to width × height. */
export async function resizeRGBA(
	src: RGBAImage,
	crop: Rect,
	width: number,
	height: number,
	options: ResizeOptions,
): Promise<RGBAImage> {
	codecStats.resizes++;
	return resizer.use((wasm) => {
		const rowBytes = crop.w * 4;
		const len = rowBytes * crop.h;
		const ptr = wasm.__wbindgen_malloc(len, 1);
		const heap = new Uint8Array(wasm.memory.buffer);
		for (let y = 0; y < crop.h; y++) {
			const from = ((crop.y + y) * src.width + crop.x) * 4;
			heap.set(src.data.subarray(from, from + rowBytes), ptr + y * rowBytes);
		}
		const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
		try {
			// The kernel frees its input and returns a (ptr, len) pair at retptr.
			wasm.resize(
				retptr,
				ptr,
				len,
				crop.w,
				crop.h,
				width,
				height,
				FILTERS[options.filter],
				options.premultiply ? 1 : 0,
				options.linearRGB ? 1 : 0,
			);
			const ret = new Int32Array(wasm.memory.buffer, retptr, 2);
			const outPtr = ret[0] ?? 0;
			const outLen = ret[1] ?? 0;
			const data = new Uint8ClampedArray(wasm.memory.buffer.slice(outPtr, outPtr + outLen));
			wasm.__wbindgen_free(outPtr, outLen, 1);
			return { data, width, height };
		} finally {
			wasm.__wbindgen_add_to_stack_pointer(16);
		}
	});
}

export interface JpegEncodeOptions {
	readonly quality: number;
	readonly progressive: boolean;
	/** Optimal Huffman tables (always on for progressive). Default true. */
	readonly optimizeCoding?: boolean;
	/** Chroma subsampling factor (2 = 4:2:0, 1 = 4:4:4). Default 2. */
	readonly chromaSubsample?: number;
	/** Trellis quantisation across progressive scans. Default false. */
	readonly trellisMultipass?: boolean;
}

export async function encodeJpeg(
	image: RGBAImage,
	options: JpegEncodeOptions,
): Promise<Uint8Array> {
	codecStats.encodes++;
	const settings: EncodeOptions = {
		...mozjpegDefaults,
		quality: options.quality,
		progressive: options.progressive,
		optimize_coding: options.optimizeCoding ?? mozjpegDefaults.optimize_coding,
		auto_subsample: options.chromaSubsample === undefined,
		chroma_subsample: options.chromaSubsample ?? mozjpegDefaults.chroma_subsample,
		trellis_multipass: options.trellisMultipass ?? mozjpegDefaults.trellis_multipass,
	};
	return encoder.use((m) => m.encode(image.data, image.width, image.height, settings).slice());
}

/** Current WASM heap sizes (bytes), for the bench and the memory tests. */
export async function wasmMemory(): Promise<Record<string, number>> {
	const [dec, enc, res] = await Promise.all([decoder.get(), encoder.get(), resizer.get()]);
	return {
		decode: decoder.heapBytes(dec),
		encode: encoder.heapBytes(enc),
		resize: resizer.heapBytes(res),
	};
}

/** The largest heap each codec has reached in this isolate (bytes). */
export function wasmPeakMemory(): Record<string, number> {
	return { decode: decoder.peakHeap, encode: encoder.peakHeap, resize: resizer.peakHeap };
}

/** Test hook: drop every instance, as after a trap, and forget the peaks. */
export function resetCodecs(): void {
	for (const codec of [decoder, encoder, resizer] as Lazy<unknown>[]) {
		codec.reset();
		codec.peakHeap = 0;
	}
}
