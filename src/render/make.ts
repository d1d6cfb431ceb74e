/**
 * Making one derivative: its source read and decoded at most once per isolate
 * while the pixels are held (shared by concurrent misses and the queue consumer, see
 * sources.ts), at the scale every size of the upload needs, then the pipeline.
 */
import type { Config } from "../config";
import type { OutputFormat } from "../image/formats";
import type { UploadMeta } from "../origin/lookup";
import type { Storage } from "../origin/storage";
import { sources } from "../state";
import { memoized } from "../util/memo";
import { SharedTimeoutError, watch } from "../util/shared";
import { animates, renderAnimated } from "./animated";
import { type DecodedSource, decodeSource, type Rendered, render } from "./pipeline";
import { type RenderPlan, servableSizes } from "./plan";
import { readSource } from "./read";
import { decodeScale, needOf } from "./scale";
import { encodeSettings, RESIZE } from "./settings";
import { renderStreamed, type StreamJob, streams } from "./stream";

/** The shared-decode id of an upload's source: changes whenever its bytes do. */
export function sourceId(meta: UploadMeta): string {
	return `${meta.source.key}|${meta.source.etag}`;
}

/**
 * The scale (eighths of the stored size) to decode the source at so that
 * every one of `plans` can be made from it (JPEG shrink-on-load).
 */
export function scaleFor(meta: UploadMeta, plans: readonly RenderPlan[]): number {
	return decodeScale(meta.source.info.format, plans.map(needOf), RESIZE.decodeGap);
}

/**
 * The scale one decode needs to make every size of the upload (the
 * queue consumer's, src/queue/make-sizes.ts). Worked out once per looked-up upload and config: the
 * shared decode and the consumer ask for it.
 */
export const uploadScale = memoized((meta: UploadMeta, config: Config): number =>
	scaleFor(
		meta,
		servableSizes(meta, config).map((s) => s.render),
	),
);

/** What a streamed render of `meta` needs from the config (render/stream.ts). */
export function streamJob(
	meta: UploadMeta,
	config: Config,
	timing: Record<string, number> = {},
	onStale: () => void = () => {},
): Omit<StreamJob, "scale"> {
	return {
		id: sourceId(meta),
		limits: config.limits,
		encode: encodeSettings(config),
		resize: RESIZE,
		sizesFormat: meta.sizesFormat,
		timing,
		onStale,
	};
}

export interface RenderOptions {
	/** Gets the source read's time as `r2` if this call made it. */
	readonly timing?: Record<string, number>;
	/** Called when the source is not the version the lookup saw (forget the lookup). */
	readonly onStale?: () => void;
	/** Decode at this scale or larger (default: what this plan needs). */
	readonly scale?: number;
	/** Stream this size (stream.ts) or take the shared whole decode (default: as `streams` decides; tests set it for a reference). */
	readonly streamed?: boolean;
}

/** readSource, reporting how long it took. */
async function timedRead(
	storage: Storage,
	meta: UploadMeta,
	onRead: (ms: number) => void,
	onStale: () => void,
): Promise<Uint8Array> {
	const started = performance.now();
	const bytes = await readSource(storage, meta, onStale);
	onRead(performance.now() - started);
	return bytes;
}

/**
 * The decoded source at `scale` or larger, shared within the isolate. A
 * decode another request started is watched, never awaited (util/shared.ts);
 * one that never settles (its request was cancelled) is dropped for the next.
 */
async function decodedSource(
	storage: Storage,
	meta: UploadMeta,
	config: Config,
	scale: number,
	onRead: (ms: number) => void,
	onStale: () => void,
): Promise<DecodedSource> {
	const { limits } = config;
	const decode = async (eighths: number) => {
		const bytes = await timedRead(storage, meta, onRead, onStale);
		return decodeSource(meta.source.info.format, bytes, eighths);
	};
	// Several sizes of this upload at once: decode once for all of them.
	const pending = sources.get(sourceId(meta), scale, decode, Date.now(), () =>
		uploadScale(meta, config),
	);
	try {
		return await watch(pending, limits.r2TimeoutMs + limits.renderBudgetMs);
	} catch (err) {
		if (err instanceof SharedTimeoutError) sources.drop(sourceId(meta), pending);
		throw err;
	}
}

/**
 * The source's pixels at `scale` eighths or more, shared like a render's
 * (the smallest decode an upload has, for a look at all of it).
 */
export function decodedPixels(
	storage: Storage,
	meta: UploadMeta,
	config: Config,
	scale: number,
): Promise<DecodedSource> {
	return decodedSource(
		storage,
		meta,
		config,
		scale,
		() => {},
		() => {},
	);
}

/**
 * Render one planned size whose limits were checked (see servableSizes and
 * the serving path), from a source decoded at `scale` eighths or more; an
 * animated GIF with ANIMATED_GIF on goes through renderAnimated instead.
 */
export async function renderPlan(
	storage: Storage,
	meta: UploadMeta,
	plan: RenderPlan,
	output: OutputFormat,
	config: Config,
	{
		timing = {},
		onStale = () => {},
		scale = scaleFor(meta, [plan]),
		streamed = streams(meta, uploadScale(meta, config), config.limits),
	}: RenderOptions = {},
): Promise<Rendered> {
	// Big JPEGs and PNGs: each size streams at its own scale instead of one whole decode.
	if (streamed) {
		const job = { ...streamJob(meta, config, timing, onStale), scale: scaleFor(meta, [plan]) };
		return renderStreamed(storage, meta, plan, output, job);
	}
	let readMs = 0;
	const onRead = (ms: number) => (readMs = ms);
	const deadline = Date.now() + config.limits.renderBudgetMs;
	const rendered = animates(meta.source.info, output, config)
		? await renderAnimated({
				bytes: () => timedRead(storage, meta, onRead, onStale),
				crop: plan.crop,
				width: plan.resizeWidth,
				height: plan.resizeHeight,
				resize: RESIZE,
				maxPixels: config.limits.maxAnimationPixels,
				deadline,
			})
		: await render({
				source: () => decodedSource(storage, meta, config, scale, onRead, onStale),
				format: meta.source.info.format,
				crop: plan.crop,
				width: plan.resizeWidth,
				height: plan.resizeHeight,
				orientation: plan.orientation,
				output,
				negotiated: output !== meta.sizesFormat,
				encode: encodeSettings(config),
				palette: meta.source.info.png?.colorType === 3,
				resize: RESIZE,
				deadline,
			});
	// The decode step waited for the read too; report it under r2.
	timing.r2 = (timing.r2 ?? 0) + readMs;
	rendered.timings.decode = Math.max(0, rendered.timings.decode - readMs);
	return rendered;
}
