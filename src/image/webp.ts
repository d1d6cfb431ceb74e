/**
 * WebP through libwebp (Emscripten builds from jSquash): lossy, lossless and
 * alpha. The encoder is the SIMD build; workerd's V8 runs WASM SIMD, and the
 * tests instantiate it there. Animated WebP is refused before this point
 * (see `assertDecodable` in formats.ts, via `assertWithinLimits` in limits.ts): libwebp's simple decoder cannot read it.
 */
import webpDecFactory, { type WebPModule as DecModule } from "@jsquash/webp/codec/dec/webp_dec.js";
import webpDecWasm from "@jsquash/webp/codec/dec/webp_dec.wasm";
import type { WebPModule as EncModule, EncodeOptions } from "@jsquash/webp/codec/enc/webp_enc.js";
import webpEncFactory from "@jsquash/webp/codec/enc/webp_enc_simd.js";
import webpEncWasm from "@jsquash/webp/codec/enc/webp_enc_simd.wasm";
import { defaultOptions as webpDefaults } from "@jsquash/webp/meta.js";
import { initEmscriptenModule } from "@jsquash/webp/utils.js";
import { UnprocessableError } from "../http/errors";
import type { RGBAImage } from "./orientation";
import { codecError, codecStats, emscriptenHeap, Lazy } from "./wasm-lazy";

const decoder = new Lazy<DecModule>(
	"webp-decode",
	() => initEmscriptenModule(webpDecFactory, webpDecWasm),
	emscriptenHeap,
);
const encoder = new Lazy<EncModule>(
	"webp-encode",
	() => initEmscriptenModule(webpEncFactory, webpEncWasm),
	emscriptenHeap,
);

export async function decodeWebp(bytes: Uint8Array): Promise<RGBAImage> {
	codecStats.decodes++;
	let image: Awaited<ReturnType<DecModule["decode"]>>;
	try {
		image = await decoder.use((m) => m.decode(bytes));
	} catch (err) {
		// As for JPEG: the file's data made the decoder fail (422), unless the
		// heap could not grow (503); the instance is gone.
		throw codecError(err, "source", "Could not decode WebP", "decode webp");
	}
	if (!image) throw new UnprocessableError("Could not decode WebP");
	return { data: image.data, width: image.width, height: image.height };
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

/**
 * Whether a WebP file's image is VP8L (lossless). Walks the RIFF chunks:
 * simple files start with it, extended (VP8X) ones carry it after ICCP/ANIM.
 */
export function isLosslessWebp(bytes: Uint8Array): boolean {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const tag = (i: number) => String.fromCharCode(...bytes.subarray(i, i + 4));
	for (let i = 12; i + 8 <= bytes.byteLength; ) {
		const name = tag(i);
		if (name === "VP8L") return true;
		if (name === "VP8 ") return false;
		i += 8 + view.getUint32(i + 4, true) + (view.getUint32(i + 4, true) & 1);
	}
	return false;
}

/** Test hook: drop the instances, as after a trap. */
export function resetWebp(): void {
	decoder.reset();
	encoder.reset();
}
