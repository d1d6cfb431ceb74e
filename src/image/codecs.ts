/**
 * The WASM codecs: our libjpeg-turbo build (wasm/jpeg.c: JPEG decode at M/8
 * scale, and encode), and the `Lazy` holder every WASM module (also the
 * resize kernel, resize.ts) lives in.
 * Each module is instantiated once per isolate from a statically imported
 * `.wasm` module (workerd cannot compile WASM from bytes at run time), through
 * a promise that is cleared if it rejects. A call that traps (out of memory,
 * `unreachable`) drops that instance, so the next request gets a fresh one
 * instead of a poisoned heap.
 */

import {
	ImageError,
	OverloadedError,
	UnprocessableError,
	UnsupportedFormatError,
} from "../http/errors";
import { Shared, SharedTimeoutError } from "../util/shared";
import jpegWasm from "../wasm/jpeg.wasm";
import type { RGBAImage } from "./orientation";
import { type ImageInfo, jpegHasEnd } from "./probe";

/** Counters the tests and the bench read: how much real work was done. */
export const codecStats = {
	decodes: 0,
	/** Pixels JPEG decodes produced (a scaled decode makes fewer). */
	decodedPixels: 0,
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

/** The codecs wasmMemory() reports and resetCodecs() resets, by name. */
const codecs = new Map<string, Lazy<unknown>>();

export class Lazy<T> {
	#instance: Shared<T> | undefined;
	/** Largest heap any of this codec's instances reached (bytes). */
	peakHeap = 0;
	constructor(
		readonly create: () => Promise<T>,
		/** The instance's heap size; without one it is never shed. */
		readonly heapBytes: (instance: T) => number = () => 0,
		/** Its key in wasmMemory() / wasmPeakMemory(), if it is reported there. */
		name?: string,
	) {
		if (name) codecs.set(name, this as Lazy<unknown>);
	}

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
interface JpegExports {
	readonly memory: WebAssembly.Memory;
	alloc(size: number): number;
	release(ptr: number): void;
	/** Address of the last call's [width, height, byte length, warnings] (u32). */
	result(): number;
	decode(ptr: number, len: number, scaleNum: number): number;
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
	"jpeg",
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
		if (err instanceof ImageError) throw err;
		// Out of memory is this isolate's state, not the file's fault: retry later.
		if (
			err instanceof RangeError ||
			(err instanceof LibjpegError && err.message === "out of memory")
		) {
			throw new OverloadedError("Busy, try again shortly", {
				cause: err,
				detail: describe("decode", err),
			});
		}
		// A libjpeg error (bad Huffman table, unsupported variant) or a trap on
		// this file's data: the file is at fault, and the instance is gone.
		throw new UnprocessableError("Could not decode JPEG", {
			cause: err,
			detail: describe("decode", err),
		});
	}
}

/** Emscripten throws plain objects (`ExitStatus {status}`); say what it was. */
export function describe(step: string, err: unknown): string {
	if (err instanceof Error) return `${step}: ${err.name}: ${err.message}`;
	const name = (err as { name?: unknown } | null)?.name;
	const status = (err as { status?: unknown } | null)?.status;
	return `${step}: ${String(name ?? typeof err)}${status === undefined ? "" : ` status ${status}`}`;
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

/** Current WASM heap sizes (bytes), for the bench and the memory tests. */
export async function wasmMemory(): Promise<Record<string, number>> {
	const entries = await Promise.all(
		[...codecs].map(async ([name, codec]) => [name, codec.heapBytes(await codec.get())] as const),
	);
	return Object.fromEntries(entries);
}

/** The largest heap each codec has reached in this isolate (bytes). */
export function wasmPeakMemory(): Record<string, number> {
	return Object.fromEntries([...codecs].map(([name, codec]) => [name, codec.peakHeap]));
}

/** Test hook: drop every instance, as after a trap, and forget the peaks. */
export function resetCodecs(): void {
	for (const codec of codecs.values()) {
		codec.reset();
		codec.peakHeap = 0;
	}
}
