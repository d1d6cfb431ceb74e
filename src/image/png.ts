/**
 * PNG: decoded by our decoder (png-decode.ts: palette, grey, 1–16-bit, tRNS,
 * interlaced, all expanded to 8-bit RGBA; an APNG gives its default image,
 * as WordPress's GD does). Sizes are encoded by our encoder (png-encode.ts)
 * on the request path; oxipng (optimizePng) only runs in the background,
 * where its search for smaller bytes costs no one a wait.
 */

import oxipngWasm from "@jsquash/oxipng/codec/pkg/squoosh_oxipng_bg.wasm";
import {
	type BindgenExports,
	instantiateBindgen,
	passBytes,
	returningBytes,
	throwFrom,
} from "./bindgen";
import type { RGBAImage } from "./orientation";
import { decodePngImage } from "./png-decode";
import { encodePngFast } from "./png-encode";
import { codecError, codecStats, Lazy } from "./wasm-lazy";

interface Oxipng extends BindgenExports {
	optimise(
		retptr: number,
		ptr: number,
		len: number,
		level: number,
		interlace: number,
		optimizeAlpha: number,
	): void;
}

const optimiser = new Lazy<Oxipng>(
	"oxipng",
	() =>
		instantiateBindgen<Oxipng>(oxipngWasm, (exports) => ({ __wbindgen_throw: throwFrom(exports) })),
	(wasm) => wasm.memory.buffer.byteLength,
);

/** Decode a whole PNG with our decoder (png-decode.ts); failures are the source's. */
export async function decodePng(bytes: Uint8Array): Promise<RGBAImage> {
	codecStats.decodes++;
	try {
		return await decodePngImage(bytes);
	} catch (err) {
		throw codecError(err, "source", "Could not decode PNG", "decode PNG");
	}
}

/**
 * Encode a size for the request path: our encoder (png-encode.ts), fast, in
 * the smallest exact colour type; oxipng is left to the background.
 */
export async function encodePng(image: RGBAImage): Promise<Uint8Array> {
	codecStats.encodes++;
	// (not a RangeError: that would read as out of memory, see codecError)
	if (image.data.length !== image.width * image.height * 4) {
		throw new TypeError(
			`PNG encode: ${image.data.length} bytes for ${image.width}x${image.height}`,
		);
	}
	return encodePngFast(image);
}

/** Smallest saving (fraction of the bytes) for which optimizePng keeps oxipng's file. */
export const OPTIMIZE_MIN_SAVING = 0.05;

/**
 * oxipng over an encoded PNG at `level` (0-6, PNG_LEVEL): the background
 * step the queue runs on PNG sizes (src/queue/optimize.ts), never the request
 * path. Returns oxipng's file only if it is at least 5% smaller (less would
 * not pay for a second validator and the tier write), otherwise null.
 * oxipng only makes lossless
 * reductions; its alpha optimisation may change the colour of fully
 * transparent pixels, which are invisible by definition.
 */
export async function optimizePng(bytes: Uint8Array, level: number): Promise<Uint8Array | null> {
	codecStats.optimizations++;
	let optimised: Uint8Array;
	try {
		optimised = await optimiser.use((wasm) => {
			const ptr = passBytes(wasm, bytes);
			return returningBytes(wasm, (retptr) =>
				wasm.optimise(retptr, ptr, bytes.byteLength, level, 0, 1),
			);
		});
	} catch (err) {
		// A Rust panic leaves the instance's allocator unknown; Lazy.use has
		// dropped it. The bytes it was given are to blame (codecError).
		throw codecError(err, "source", "Could not optimise PNG", "optimise PNG");
	}
	return optimised.byteLength <= bytes.byteLength * (1 - OPTIMIZE_MIN_SAVING) ? optimised : null;
}

/** Test hook: drop the instances, as after a trap. */
export function resetPng(): void {
	optimiser.reset();
}
