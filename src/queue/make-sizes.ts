/**
 * The consumer's work for one upload: make every size WordPress makes for it,
 * in each format asked for, from one decode (at the scale all of them need),
 * and keep them in the DERIVATIVES tier; PNG sizes then go through oxipng
 * (optimize.ts), the size a miss already stored included. Idempotent: a size
 * already stored as this job would leave it (ETag and generation; a PNG also
 * after its oxipng pass) is skipped, so a redelivered message costs a few
 * HEADs. Never writes ORIGINALS.
 */
import { type DerivativeTier, type TierRecord, type TierWant, tierKey } from "../cache/tier";
import type { Config } from "../config";
import { variesByAccept } from "../http/negotiate";
import { avifEstimateMs, avifWithinBudget } from "../image/avif-budget";
import type { OutputFormat } from "../image/formats";
import { MIME } from "../image/probe";
import { extensionFormat } from "../origin/extensions";
import type { UploadMeta } from "../origin/lookup";
import { Storage } from "../origin/storage";
import { renderPlan, uploadScale } from "../render/make";
import { type ServableSize, servableFiles } from "../render/plan";
import { derivativeEtag, derivativeSettings, optimizedEtag } from "../render/settings";
import { directory, findUpload, generationFor, renderGate } from "../state";
import { splitUploadKey } from "../url/path";
import { log } from "../util/log";
import { optimizeSize } from "./optimize";

/** What one job did, for its log line and the tests. */
export interface SizesOutcome {
	/** Stored as rendered (a PNG: our encoder's file, oxipng saved < 5% or was not run). */
	readonly made: number;
	/** PNG sizes stored as oxipng's file (≥ 5% smaller). */
	readonly optimized: number;
	readonly skipped: number;
	/** Sizes left on WebP because their AVIF would be over the encode budget. */
	readonly overBudget: number;
}

interface Job {
	readonly env: Env;
	readonly config: Config;
	readonly tier: DerivativeTier;
	readonly upload: string;
	readonly formats: readonly OutputFormat[];
}

/** Look the upload up at its current generation (throws the serving path's typed errors). */
async function lookup(job: Job): Promise<UploadMeta> {
	const { env, config, upload } = job;
	const generation = await generationFor(env, config, upload, upload);
	return findUpload(env, config, splitUploadKey(upload), generation);
}

export async function makeSizes(job: Job): Promise<SizesOutcome> {
	const meta = await lookup(job);
	const counts = { made: 0, optimized: 0, skipped: 0, overBudget: 0 };
	// Without the upload itself its WordPress size is known only to ±1 px:
	// names could be off by one, so only misses make those sizes.
	if (!meta.exact) return counts;
	const files = servableFiles(meta, job.config);
	for (const size of files) {
		for (const format of job.formats) {
			const done = await makeOne(job, meta, size, format);
			counts[done]++;
		}
	}
	if (counts.overBudget > 0) {
		const largest = files.at(-1);
		log("info", {
			queue: "avif",
			upload: job.upload,
			overBudget: counts.overBudget,
			message: "stays on WebP: AVIF encode over budget",
			estimateMs: largest ? Math.round(avifEstimateMs(largest.plan.width, largest.plan.height)) : 0,
		});
	}
	return counts;
}

/** One size in one format: skipped when stored as this job would leave it. */
async function makeOne(
	job: Job,
	meta: UploadMeta,
	size: ServableSize,
	format: OutputFormat,
): Promise<keyof SizesOutcome> {
	const { env, config, tier, upload } = job;
	if (format === "avif" && !avifWithinBudget(size.plan.width, size.plan.height))
		return "overBudget";
	const own = extensionFormat(splitUploadKey(upload).ext) ?? "jpeg";
	// The same settings hash and generation the serving path keys the entry by.
	const settings = derivativeSettings(config, variesByAccept(own, config.autoFormat));
	const generation = await generationFor(env, config, upload, size.key);
	const etag = await derivativeEtag(meta, size.render, format, config, generation, settings);
	const want: TierWant =
		format === "png"
			? { etag, generation, optimized: await optimizedEtag(etag) }
			: { etag, generation };
	const key = tierKey(size.key, format, own);
	const stored = await tier.record(key);
	if (finished(stored, want)) return "skipped";
	// A miss's own copy (our encoder's) is optimised as stored, not rendered again.
	const ours = stored?.etag === etag ? await tier.get(key, { etag, generation }) : null;
	const bytes = ours?.bytes ?? (await renderSize(job, meta, size, format)).bytes;
	if (!want.optimized) {
		await tier.put(key, bytes, MIME[format], { etag, generation });
		return "made";
	}
	const { width, height } = size.plan;
	const optimized = await optimizeSize(bytes, width, height, config.pngLevel, key);
	const { oxipng } = optimized;
	// oxipng's file is other bytes: stored under its own ETag, so no validator matches both.
	const record = { etag: oxipng === "smaller" ? want.optimized : etag, generation, oxipng };
	await tier.put(key, optimized.bytes, MIME.png, record);
	return oxipng === "smaller" ? "optimized" : "made";
}

/** Whether the stored record is what this job would leave (a PNG: after its oxipng pass). */
function finished(stored: TierRecord | null, want: TierWant): boolean {
	if (!stored || stored.generation !== want.generation) return false;
	if (!want.optimized) return stored.etag === want.etag;
	return (
		stored.etag === want.optimized || (stored.etag === want.etag && stored.oxipng !== undefined)
	);
}

/** Render one size from the upload's shared decode, at the scale every size needs. */
async function renderSize(job: Job, meta: UploadMeta, size: ServableSize, format: OutputFormat) {
	const { env, config } = job;
	const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
	const onStale = () => directory.forget(meta.uploadKey);
	const scale = uploadScale(meta, config);
	return renderGate.run(() =>
		renderPlan(storage, meta, size.render, format, config, { scale, onStale }),
	);
}
