/**
 * Making derivatives: one decode of an upload's source shared by every size
 * that needs it (concurrent misses, the fan-out), the render settings every
 * ETag covers, and the fan-out that fills the persistent derivative tier.
 */
import { settingsHash, strongEtag } from "../cache/keys";
import { DerivativeTier } from "../cache/tier";
import type { Config, Limits } from "../config";
import { ImageError, UpstreamError } from "../http/errors";
import { variesByAccept } from "../http/negotiate";
import type { EncodeSettings, OutputFormat } from "../image/formats";
import { extensionFormat, type UploadMeta } from "../origin/lookup";
import { type Storage, WritableStorage } from "../origin/storage";
import type { DerivativePath } from "../url/path";
import { SharedTimeoutError, watch } from "../util/shared";
import { assertWithinLimits, isOutputLimit } from "./limits";
import {
	type DecodedSource,
	decodeSource,
	type Rendered,
	type ResizeSettings,
	render,
} from "./pipeline";
import { planRender, type RenderPlan, uploadSizes } from "./plan";
import { decodeScale } from "./scale";
import { DecodedSources } from "./sources";

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

export function encodeSettings(config: Config): EncodeSettings {
	return {
		jpegQuality: config.jpegQuality,
		jpegProgressive: JPEG_PROGRESSIVE,
		webpQuality: config.webpQuality,
		negotiatedWebpQuality: config.negotiatedWebpQuality,
		pngLevel: config.pngLevel,
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
	}
}

/** Bump when the pipeline's output changes for the same inputs. */
export const PIPELINE_VERSION = "5";

const derivativeSettingsMemo = new WeakMap<Config, Map<boolean, string>>();

/**
 * Hash of every setting that changes which derivatives exist or what their
 * entries hold: the size registry (a 404 or a crop may change), encoder
 * settings, resize settings, the pipeline version, and whether the entry
 * carries `Vary: Accept` (what AUTO_FORMAT changes for the file's own format;
 * a negotiated format is already in `variant.format`). Part of each
 * derivative's cache key (hits, negative 404s, purge) and of its ETag, so
 * derivative-tier objects made under other settings are ignored too.
 */
export function derivativeSettings(config: Config, varies: boolean): string {
	let memo = derivativeSettingsMemo.get(config);
	if (memo === undefined) {
		memo = new Map();
		derivativeSettingsMemo.set(config, memo);
	}
	let hash = memo.get(varies);
	if (hash === undefined) {
		hash = settingsHash([
			"derivative",
			config.sizes,
			encodeSettings(config),
			varies,
			RESIZE,
			PIPELINE_VERSION,
		]);
		memo.set(varies, hash);
	}
	return hash;
}

/** Decoded sources shared by every request of this isolate. */
export const sources = new DecodedSources<DecodedSource>();

export function sourceId(meta: UploadMeta): string {
	return `${meta.source.key}|${meta.source.etag}`;
}

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

/** The derivative tier, when a DERIVATIVES bucket is bound. */
export function derivativeTier(env: Env, limits: Limits): DerivativeTier | null {
	const bucket = (env as { DERIVATIVES?: R2Bucket }).DERIVATIVES;
	return bucket ? new DerivativeTier(new WritableStorage(bucket, limits.r2TimeoutMs)) : null;
}

/**
 * The scale (eighths of the stored size) to decode the source at so that
 * every one of `plans` can be made from it (JPEG shrink-on-load).
 */
export function scaleFor(meta: UploadMeta, plans: readonly RenderPlan[]): number {
	const needs = plans.map((p) => ({ crop: p.crop, width: p.resizeWidth, height: p.resizeHeight }));
	return decodeScale(meta.source.info.format, needs, RESIZE.decodeGap);
}

const uploadScales = new WeakMap<UploadMeta, WeakMap<Config, number>>();

/**
 * The scale one decode needs to make every size of the upload (the
 * fan-out's). Worked out once per looked-up upload and config: the serving
 * path, the shared decode and the fan-out all ask for it.
 */
export function uploadScale(meta: UploadMeta, config: Config): number {
	let byConfig = uploadScales.get(meta);
	if (byConfig === undefined) {
		byConfig = new WeakMap();
		uploadScales.set(meta, byConfig);
	}
	let scale = byConfig.get(config);
	if (scale === undefined) {
		scale = scaleFor(
			meta,
			plannedSizes(meta, config).map((p) => p.plan),
		);
		byConfig.set(config, scale);
	}
	return scale;
}

export interface RenderOptions {
	/** Gets the source read's time as `r2` if this call made it. */
	readonly timing?: Record<string, number>;
	/** Called when the source is not the version the lookup saw (forget the lookup). */
	readonly onStale?: () => void;
	/** Decode at this scale or larger (default: what this plan needs). */
	readonly scale?: number;
}

/**
 * Render one planned size. The source is read and decoded at most once per
 * isolate while its pixels are held (see DecodedSources), at `scale` eighths
 * of its size or more.
 */
export async function renderPlan(
	storage: Storage,
	meta: UploadMeta,
	plan: RenderPlan,
	output: OutputFormat,
	config: Config,
	{ timing = {}, onStale = () => {}, scale = scaleFor(meta, [plan]) }: RenderOptions = {},
): Promise<Rendered> {
	const { limits } = config;
	assertWithinLimits(meta, plan, limits);
	let readMs = 0;
	const { source } = meta;
	const decoding = () =>
		sources.get(
			sourceId(meta),
			scale,
			async (eighths) => {
				const started = performance.now();
				// Only the version we probed: its header is what the plan and the
				// limits were worked out from. Anything else means the lookup is stale.
				let read: Awaited<ReturnType<Storage["read"]>>;
				try {
					read = await storage.read(source.key, source.etag);
				} catch (err) {
					onStale();
					throw err;
				}
				if (!read) {
					onStale();
					throw new UpstreamError("Original changed while it was read", {
						detail: `get ${source.key}: gone since lookup`,
						timeout: true,
					});
				}
				readMs = performance.now() - started;
				return decodeSource(source.info.format, read.bytes, eighths);
			},
			Date.now(),
			// Several sizes of this upload at once: decode once for all of them.
			() => uploadScale(meta, config),
		);
	// The decode may belong to another request: watched, never awaited (util/shared.ts).
	// One that never settles (its request was cancelled) is dropped for the next.
	const pixels = async (): Promise<DecodedSource> => {
		const pending = decoding();
		try {
			return await watch(pending, limits.r2TimeoutMs + limits.renderBudgetMs);
		} catch (err) {
			if (err instanceof SharedTimeoutError) sources.drop(sourceId(meta), pending);
			throw err;
		}
	};
	const rendered = await render({
		source: pixels,
		format: meta.source.info.format,
		crop: plan.crop,
		width: plan.resizeWidth,
		height: plan.resizeHeight,
		orientation: plan.orientation,
		output,
		encode: encodeSettings(config),
		palette: meta.source.info.png?.colorType === 3,
		resize: RESIZE,
		deadline: Date.now() + limits.renderBudgetMs,
	});
	// The decode step waited for the read too; report it under r2.
	timing.r2 = (timing.r2 ?? 0) + readMs;
	rendered.timings.decode = Math.max(0, rendered.timings.decode - readMs);
	return rendered;
}

/**
 * Every file WordPress made for this upload (the one list from plan.ts), with
 * its render plan; sizes over the output limit are left out. Two size names
 * may share one file: it is listed once.
 */
export function plannedSizes(
	meta: UploadMeta,
	config: Config,
): { key: string; plan: RenderPlan }[] {
	const out: { key: string; plan: RenderPlan }[] = [];
	const seen = new Set<string>();
	for (const size of uploadSizes(meta, config.sizes)) {
		if (seen.has(size.key)) continue;
		seen.add(size.key);
		const plan = planRender(meta, size);
		try {
			assertWithinLimits(meta, plan, config.limits);
		} catch (err) {
			if (isOutputLimit(err)) continue;
			throw err;
		}
		out.push({ key: size.key, plan });
	}
	return out;
}

/**
 * The tier's object key for a derivative in an output format: its own key in
 * the file's own format, with the format appended for a negotiated variant
 * (`photo-730x487.jpeg` and `photo-730x487.jpeg.webp`).
 */
export function tierKey(key: string, output: OutputFormat, own: string): string {
	return output === own ? key : `${key}.${output}`;
}

/**
 * The fan-out running in this isolate, if any. At most one runs at a time:
 * it is background work on the same thread as the requests, so a burst of
 * misses for many uploads (a page of thumbnails) must not queue a full set of
 * renders per upload in front of them. A miss while one runs stores only its
 * own size; the other sizes are made when they are asked for.
 */
let fanning: { readonly id: string; readonly until: number } | undefined;
/**
 * A fan-out still marked running after this (ms) was cut off with its request
 * (waitUntil work ends ~30 s after a client goes) and never cleared the mark.
 */
const FAN_OUT_LEASE_MS = 5 * 60_000;

/**
 * After a miss that decoded the source: make the upload's other sizes from
 * the same decoded pixels and put them in the tier, one at a time (bounded
 * memory), skipping those already there. Only for uploads whose WordPress
 * dimensions are exact (otherwise names can be off by a pixel), and only when
 * no other fan-out is running in this isolate.
 */
export async function fanOut(
	storage: Storage,
	tier: DerivativeTier,
	meta: UploadMeta,
	path: DerivativePath,
	output: OutputFormat,
	config: Config,
	/** The current purge generation of a derivative key (see generation.ts). */
	generationOf: (key: string) => Promise<number>,
): Promise<number> {
	if (!meta.exact) return 0;
	const id = `${sourceId(meta)}|${output}`;
	const own = extensionFormat(path.ext) ?? "jpeg";
	if (fanning !== undefined && fanning.until > Date.now()) return 0;
	const mine = { id, until: Date.now() + FAN_OUT_LEASE_MS };
	fanning = mine;
	// The same settings hash the serving path keys this upload's entries by.
	const settings = derivativeSettings(config, variesByAccept(own, config.autoFormat));
	let made = 0;
	try {
		// One decode for all of them (the miss that started this made it at this scale).
		const scale = uploadScale(meta, config);
		for (const { key, plan } of plannedSizes(meta, config)) {
			if (key === path.key) continue;
			const generation = await generationOf(key);
			const record = {
				etag: await derivativeEtag(meta, plan, output, config, generation, settings),
				generation,
			};
			if (await tier.has(tierKey(key, output, own), record)) continue;
			const rendered = await renderPlan(storage, meta, plan, output, config, { scale });
			await tier.put(tierKey(key, output, own), rendered.bytes, rendered.contentType, record);
			made++;
		}
	} catch (err) {
		// Background work: log and stop; the next miss renders on demand.
		const message = err instanceof ImageError ? err.message : String(err);
		console.error(JSON.stringify({ level: "error", fanOut: path.key, message }));
	} finally {
		if (fanning === mine) fanning = undefined;
	}
	return made;
}
