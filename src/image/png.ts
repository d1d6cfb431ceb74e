/**
 * PNG: decoded by the squoosh PNG codec (Rust `png` crate: palette, grayscale,
 * 1–16-bit, tRNS, interlaced, all expanded to 8-bit RGBA; an APNG gives its
 * default image, as WordPress's GD does), encoded and compressed by oxipng
 * straight from RGBA. oxipng only makes lossless reductions: RGBA → RGB when
 * every pixel is opaque, → grayscale when every pixel is grey, → a palette
 * when there are at most 256 colours, and the smallest bit depth.
 */

import oxipngWasm from "@jsquash/oxipng/codec/pkg/squoosh_oxipng_bg.wasm";
import pngWasm from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm";
import { UnprocessableError } from "../http/errors";
import {
	type BindgenExports,
	instantiateBindgen,
	ObjectHeap,
	passBytes,
	returningBytes,
	throwFrom,
} from "./bindgen";
import { codecStats, Lazy } from "./codecs";
import type { RGBAImage } from "./orientation";

interface PngDecoder extends BindgenExports {
	decode(ptr: number, len: number): number;
}

interface PngInstance {
	readonly wasm: PngDecoder;
	readonly heap: ObjectHeap;
}

const decoder = new Lazy<PngInstance>(
	async () => {
		const heap = new ObjectHeap();
		const wasm = await instantiateBindgen<PngDecoder>(pngWasm, (exports) => ({
			__wbindgen_memory: () => heap.add(exports().memory),
			__wbg_buffer: (i: number) => heap.add((heap.get(i) as WebAssembly.Memory).buffer),
			__wbg_newwithbyteoffsetandlength: (buf: number, offset: number, len: number) =>
				heap.add(new Uint16Array(heap.get(buf) as ArrayBuffer, offset >>> 0, len >>> 0)),
			__wbindgen_object_drop_ref: (i: number) => heap.take(i),
			// The decoder hands over its RGBA buffer and the size: copy out, free, wrap.
			__wbg_newwithownedu8clampedarrayandsh: (ptr: number, len: number, w: number, h: number) => {
				const wasm = exports();
				const p = ptr >>> 0;
				const data = new Uint8ClampedArray(wasm.memory.buffer.slice(p, p + (len >>> 0)));
				wasm.__wbindgen_free(p, len >>> 0, 1);
				return heap.add({ data, width: w >>> 0, height: h >>> 0 } satisfies RGBAImage);
			},
			__wbindgen_throw: throwFrom(exports),
		}));
		return { wasm, heap };
	},
	(instance) => instance.wasm.memory.buffer.byteLength,
);

interface Oxipng extends BindgenExports {
	optimise_raw(
		retptr: number,
		ptr: number,
		len: number,
		width: number,
		height: number,
		level: number,
		interlace: number,
		optimizeAlpha: number,
	): void;
}

const optimiser = new Lazy<Oxipng>(
	() =>
		instantiateBindgen<Oxipng>(oxipngWasm, (exports) => ({ __wbindgen_throw: throwFrom(exports) })),
	(wasm) => wasm.memory.buffer.byteLength,
);

/**
 * A Rust panic surfaces as a JS Error thrown through the WASM stack, leaving
 * that instance's allocator in an unknown state. `Lazy.use` has already
 * dropped it (only if no other request had replaced it since: resetting
 * again here could throw away an instance another request just made).
 */
async function guarded<T, R>(lazy: Lazy<T>, what: string, fn: (instance: T) => R): Promise<R> {
	try {
		return await lazy.use(fn);
	} catch (err) {
		throw new UnprocessableError(`Could not ${what}`, { cause: err });
	}
}

export async function decodePng(bytes: Uint8Array): Promise<RGBAImage> {
	codecStats.decodes++;
	return guarded(decoder, "decode PNG", ({ wasm, heap }) => {
		const ptr = passBytes(wasm, bytes);
		return heap.take(wasm.decode(ptr, bytes.byteLength)) as RGBAImage;
	});
}

export interface PngEncodeOptions {
	/** oxipng effort, 0 (fast) – 6 (smallest); see PNG_LEVEL in the README. */
	readonly level: number;
}

export async function encodePng(image: RGBAImage, options: PngEncodeOptions): Promise<Uint8Array> {
	codecStats.encodes++;
	return guarded(optimiser, "encode PNG", (wasm) => {
		const ptr = passBytes(wasm, image.data);
		return returningBytes(wasm, (retptr) =>
			// Alpha optimisation may change the colour of fully transparent pixels
			// (invisible by definition) so they compress better.
			wasm.optimise_raw(
				retptr,
				ptr,
				image.data.byteLength,
				image.width,
				image.height,
				options.level,
				0,
				1,
			),
		);
	});
}

/** Test hook: drop the instances, as after a trap. */
export function resetPng(): void {
	decoder.reset();
	optimiser.reset();
}
