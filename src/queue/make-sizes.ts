/**
 * The consumer's work for one upload: make every size WordPress makes for it,
 * in each format asked for, from one decode (at the scale all of them need),
 * and keep them in the DERIVATIVES tier. Idempotent: a size already stored
 * with the same record (ETag and generation) is skipped, so a redelivered
 * message costs a few HEADs. Never writes ORIGINALS.
 */
import { type DerivativeTier, tierKey } from "../cache/tier";
import type { Config } from "../config";
import { variesByAccept } from "../http/negotiate";
import { avifEstimateMs, avifWithinBudget } from "../image/avif-budget";
import type { OutputFormat } from "../image/formats";
import { extensionFormat } from "../origin/extensions";
import type { UploadMeta } from "../origin/lookup";
import { Storage } from "../origin/storage";
import { renderPlan, uploadScale } from "../render/make";
import { type ServableSize, servableFiles } from "../render/plan";
import { derivativeEtag, derivativeSettings } from "../render/settings";
import { directory, findUpload, generationFor, renderGate } from "../state";
import { splitUploadKey } from "../url/path";
import { log } from "../util/log";

/** What one job did, for its log line and the tests. */
export interface SizesOutcome {
	readonly made: number;
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
	const counts = { made: 0, skipped: 0, overBudget: 0 };
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

/** One size in one format: skipped when stored as it would be made now. */
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
	const record = { etag, generation };
	const key = tierKey(size.key, format, own);
	if (await tier.has(key, record)) return "skipped";
	const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
	const onStale = () => directory.forget(meta.uploadKey);
	const scale = uploadScale(meta, config);
	const rendered = await renderGate.run(() =>
		renderPlan(storage, meta, size.render, format, config, { scale, onStale }),
	);
	await tier.put(key, rendered.bytes, rendered.contentType, record);
	return "made";
}
