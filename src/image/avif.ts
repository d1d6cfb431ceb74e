/**
 * AVIF through libavif (jSquash's Emscripten builds: dav1d decoder, libaom
 * encoder, single-threaded since a Worker has no threads), instantiated from
 * statically imported `.wasm` modules like the other codecs. Decoding gives
 * the primary image's 8-bit RGBA; irot/imir are not applied here (the probe
 * reports them as an EXIF-style orientation, see probe.ts). An animated AVIF
 * (avis) decodes to its first frame.
 */
import avifDecFactory, { type AVIFModule as DecModule } from "@jsquash/avif/codec/dec/avif_dec.js";
import avifDecWasm from "@jsquash/avif/codec/dec/avif_dec.wasm";
import avifEncFactory, {
	type AVIFModule as EncModule,
	type EncodeOptions,
} from "@jsquash/avif/codec/enc/avif_enc.js";
import avifEncWasm from "@jsquash/avif/codec/enc/avif_enc.wasm";
import { defaultOptions as avifDefaults } from "@jsquash/avif/meta.js";
import { initEmscriptenModule } from "@jsquash/avif/utils.js";
import { UnprocessableError } from "../http/errors";
import type { RGBAImage } from "./orientation";
import { codecStats, describe, emscriptenHeap, Lazy } from "./wasm-lazy";

const decoder = new Lazy<DecModule>(
	"avif-decode",
	() => initEmscriptenModule(avifDecFactory, avifDecWasm),
	emscriptenHeap,
);
const encoder = new Lazy<EncModule>(
	"avif-encode",
	() => initEmscriptenModule(avifEncFactory, avifEncWasm),
	emscriptenHeap,
);

/** A copy the codec's heap cannot change under us (the result may be a view of it). */
function own(data: Uint8ClampedArray): Uint8ClampedArray {
	return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

export async function decodeAvif(bytes: Uint8Array): Promise<RGBAImage> {
	codecStats.decodes++;
	// Emscripten's ImageData stand-in (workerd has none).
	let image: { data: Uint8ClampedArray; width: number; height: number } | null;
	try {
		image = await decoder.use((m) => m.decode(bytes, 8));
	} catch (err) {
		// Corrupt or truncated data can abort inside libavif/dav1d: the file's fault.
		throw new UnprocessableError("Could not decode AVIF", {
			cause: err,
			detail: describe("decode avif", err),
		});
	}
	if (!image)
		throw new UnprocessableError("Could not decode AVIF", {
			detail: "avif: libavif found no image",
		});
	return { data: own(image.data), width: image.width, height: image.height };
}

export interface AvifEncodeOptions {
	/** 0–100 (libavif's quality scale; 100 is not lossless here). */
	readonly quality: number;
	/** libaom speed 0–10: higher is faster and a little larger. */
	readonly speed: number;
}

export async function encodeAvif(
	image: RGBAImage,
	options: AvifEncodeOptions,
): Promise<Uint8Array> {
	codecStats.encodes++;
	const settings: EncodeOptions = {
		...avifDefaults,
		quality: options.quality,
		speed: options.speed,
		// Alpha at full quality, as for WebP: cut-out edges stay clean.
		qualityAlpha: 100,
	};
	const out = await encoder.use((m) =>
		m.encode(image.data, image.width, image.height, settings)?.slice(),
	);
	if (!out) throw new UnprocessableError("Could not encode AVIF");
	return out;
}

/** Largest WASM heap each instance reached in this isolate (bytes): AVIF is the hungriest codec. */
export function avifPeakHeap(): { decoder: number; encoder: number } {
	return { decoder: decoder.peakHeap, encoder: encoder.peakHeap };
}

/** Test hook: drop the instances, as after a trap. */
export function resetAvif(): void {
	decoder.reset();
	encoder.reset();
}
