/**
 * What shapes a derivative's bytes besides its source and geometry: the
 * resize and encoder settings and the pipeline version. They go into every
 * derivative's ETag and cache key, so a change makes old entries unreachable
 * instead of served.
 */
import { settingsHash, strongEtag } from "../cache/keys";
import type { Config } from "../config";
import type { EncodeSettings, OutputFormat } from "../image/formats";
import type { UploadMeta } from "../origin/lookup";
import { memoized } from "../util/memo";
import type { ResizeSettings } from "./pipeline";
import type { RenderPlan } from "./plan";

/**
 * Resize settings; part of every derivative's ETag (through PIPELINE_VERSION).
 * Our SIMD kernel (src/image/resize.ts): lanczos3 in sRGB from the crop
 * window. An area pre-shrink leaving lanczos >= 3x to reduce (opaque sources
 * only) cut the seed photo's 150x150 from 12 to 10 ms for 0.04 dB (gap 2: 7 ms,
 * -0.19 dB); catrom lost 0.3-0.5 dB (BENCHMARKS.md). Premultiplied alpha is
 * used only for sources with transparent pixels (see the render pipeline).
 * JPEG shrink-on-load (decodeGap): decode at the smallest M/8 scale that
 * leaves lanczos >= 1.5x to reduce. Golden-test PSNR against full-size
 * decodes: gap 1.5 -0.03 dB on average (worst -0.24), gap 2 -0.002 (worst
 * -0.05), gap 1 -0.14 (worst -0.83: the block-wise scaled IDCT needs the
 * filter after it); seed photo misses at 1.5 were 20-35% faster than at 2.
 */
export const RESIZE: ResizeSettings = {
	filter: "lanczos3",
	premultiply: true,
	shrinkGap: 3,
	decodeGap: 1.5,
};

/**
 * libjpeg-turbo (see encodeJpeg): baseline (sequential) with optimised
 * Huffman tables and 4:2:0 chroma. Progressive cost ~3× the encode time for
 * ~5% fewer bytes at the same pixels (BENCHMARKS.md).
 */
export const JPEG_PROGRESSIVE = false;

/**
 * Bump when the pipeline's output changes for the same inputs. 6: sources
 * past 8 MiB of shared decode stream (render/stream.ts), so their sizes
 * decode at their own scale, and a streamed PNG with alpha resizes
 * premultiplied.
 */
export const PIPELINE_VERSION = "6";

export function encodeSettings(config: Config): EncodeSettings {
	return {
		jpegQuality: config.jpegQuality,
		jpegProgressive: JPEG_PROGRESSIVE,
		webpQuality: config.webpQuality,
		negotiatedWebpQuality: config.negotiatedWebpQuality,
		pngLevel: config.pngLevel,
		avifQuality: config.avifQuality,
		avifSpeed: config.avifSpeed,
		animatedGif: config.animatedGif,
	};
}

/** The encoder settings that shape the bytes of `output`, for its ETag. */
function encoderTag(output: OutputFormat, config: Config): string {
	switch (output) {
		case "jpeg":
			return `q${config.jpegQuality}`;
		case "webp":
			return `webp-q${config.webpQuality}-n${config.negotiatedWebpQuality}`;
		case "png":
			return `png-o${config.pngLevel}`;
		case "gif":
			return config.animatedGif ? "gif-anim" : "gif";
		case "avif":
			return `avif-q${config.avifQuality}-s${config.avifSpeed}`;
	}
}

/**
 * Hash of every setting that shapes a derivative's bytes or its entry:
 * encoder settings, resize settings, the pipeline version, and whether the
 * entry carries `Vary: Accept` (what AUTO_FORMAT changes for the file's own
 * format; a negotiated format is already in `variant.format`). Part of each
 * derivative's cache key (hits, negative 404s, purge) and of its ETag, so
 * derivative-tier objects made under other settings are ignored too. Not the
 * size registry: a size's bytes do not depend on which other sizes exist, so
 * registering one more re-renders nothing (a remembered 404 carries the
 * registry instead: see registryTag).
 */
export const derivativeSettings = memoized((config: Config, varies: boolean): string =>
	settingsHash(["derivative", encodeSettings(config), varies, RESIZE, PIPELINE_VERSION]),
);

/** The size registry a remembered 404 was decided under (a new size may exist now). */
export const registryTag = memoized((config: Config, _: "sizes"): string =>
	settingsHash(["sizes", config.sizes]),
);

/** A derivative's strong ETag: its source version, geometry, settings and generation. */
export function derivativeEtag(
	meta: UploadMeta,
	plan: RenderPlan,
	output: OutputFormat,
	config: Config,
	generation: number,
	/** derivativeSettings() for this derivative's entry. */
	settings: string,
) {
	return strongEtag([
		meta.source.key,
		meta.source.etag,
		plan.width,
		plan.height,
		plan.crop.x,
		plan.crop.y,
		plan.crop.w,
		plan.crop.h,
		plan.orientation,
		output,
		encoderTag(output, config),
		RESIZE.filter,
		RESIZE.premultiply ? "pm" : "",
		PIPELINE_VERSION,
		settings,
		`g${generation}`,
	]);
}

/**
 * The ETag of the queue's oxipng copy of a PNG derivative made as `etag`:
 * other bytes (same pixels), so another validator, derived only from `etag`
 * (which covers the source, geometry, settings, PNG_LEVEL and generation) so
 * every isolate and the queue agree on it.
 */
export function optimizedEtag(etag: string): Promise<string> {
	return strongEtag([etag, "oxipng"]);
}
