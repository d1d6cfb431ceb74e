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
import { renderPlan, streamJob, uploadScale } from "../render/make";
import { type ServableSize, servableFiles } from "../render/plan";
import { derivativeEtag, derivativeSettings, optimizedEtag } from "../render/settings";
import { renderStreamedMany, streams } from "../render/stream";
import { directory, findUpload, generationFor, renderGate } from "../state";
import { splitUploadKey } from "../url/path";
import { log } from "../util/log";
import { yieldToRequests } from "../util/shared";
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
	const pending: Pending[] = [];
	for (const size of files) {
		for (const format of job.formats) {
			const step = await planOne(job, meta, size, format);
			if (typeof step === "string") counts[step]++;
			else pending.push(step);
		}
	}
	const store = async (item: Pending, bytes: Uint8Array) => {
		counts[await storeOne(job, item, bytes)]++;
	};
	// The miss's own copy is optimised as stored (read only now, one at a time).
	const toRender: Pending[] = [];
	for (const item of pending) {
		const { etag, generation } = item.want;
		const ours = item.ours ? await job.tier.get(item.key, { etag, generation }) : null;
		if (ours) await store(item, ours.bytes);
		else toRender.push(item);
	}
	await renderEach(job, meta, toRender, store);
	if (counts.overBudget > 0) logOverBudget(job, files, counts.overBudget);
	return counts;
}

function logOverBudget(job: Job, files: readonly ServableSize[], overBudget: number): void {
	const largest = files.at(-1);
	log("info", {
		queue: "avif",
		upload: job.upload,
		overBudget,
		message: "stays on WebP: AVIF encode over budget",
		estimateMs: largest ? Math.round(avifEstimateMs(largest.plan.width, largest.plan.height)) : 0,
	});
}

/** A size in one format this job still has to store, and what it is stored as. */
interface Pending {
	readonly size: ServableSize;
	readonly format: OutputFormat;
	readonly key: string;
	readonly want: TierWant;
	/** The miss's own copy (our encoder's) is in the tier: optimised, not rendered again. */
	readonly ours: boolean;
}

/** What one size in one format needs: nothing (skipped, over budget), or a render and a put. */
async function planOne(
	job: Job,
	meta: UploadMeta,
	size: ServableSize,
	format: OutputFormat,
): Promise<Pending | "skipped" | "overBudget"> {
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
	return { size, format, key, want, ours: stored?.etag === etag };
}

/** Put one size's bytes in the tier; a PNG's through oxipng first (optimize.ts). */
async function storeOne(job: Job, item: Pending, bytes: Uint8Array): Promise<keyof SizesOutcome> {
	const { tier, config } = job;
	const { key, want, format } = item;
	const { etag, generation } = want;
	if (!want.optimized) {
		await tier.put(key, bytes, MIME[format], { etag, generation });
		return "made";
	}
	const { width, height } = item.size.plan;
	await yieldToRequests();
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

/**
 * Render each pending size and hand it to `store` as soon as it is made, so
 * a failure keeps what was done: from the upload's shared decode, one gate
 * turn per size; or, for a big source that streams (render/stream.ts), in
 * passes of sizes that each read and decode the file once
 * (renderStreamedMany), one gate turn per pass.
 */
async function renderEach(
	job: Job,
	meta: UploadMeta,
	pending: readonly Pending[],
	store: (item: Pending, bytes: Uint8Array) => Promise<void>,
): Promise<void> {
	const { env, config } = job;
	const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
	const onStale = () => directory.forget(meta.uploadKey);
	const scale = uploadScale(meta, config);
	if (!streams(meta, scale, config.limits)) {
		for (const item of pending) {
			const { size, format } = item;
			await yieldToRequests();
			const made = await renderGate.run(() =>
				renderPlan(storage, meta, size.render, format, config, { scale, onStale, streamed: false }),
			);
			await store(item, made.bytes);
		}
		return;
	}
	for (const format of new Set(pending.map((p) => p.format))) {
		const items = pending.filter((p) => p.format === format);
		const plans = items.map((p) => p.size.render);
		await renderStreamedMany(storage, meta, plans, format, streamJob(meta, config, {}, onStale), {
			run: async (work) => {
				await yieldToRequests();
				return renderGate.run(work);
			},
			made: (k, made) => store(items[k] as Pending, made.bytes),
		});
	}
}
