/**
 * The fan-out: after a miss decoded an upload's source, make its other sizes
 * from the same decoded pixels and keep them in the derivative tier, so later
 * misses in any data centre read them back instead of decoding.
 */
import type { DerivativeTier } from "../cache/tier";
import { tierKey } from "../cache/tier";
import type { Config } from "../config";
import { variesByAccept } from "../http/negotiate";
import type { OutputFormat } from "../image/formats";
import type { ImageFormat } from "../image/probe";
import { extensionFormat } from "../origin/extensions";
import type { UploadMeta } from "../origin/lookup";
import type { Storage } from "../origin/storage";
import { fanOutLock } from "../state";
import type { DerivativePath } from "../url/path";
import { log } from "../util/log";
import { renderPlan, scaleFor, streamJob, uploadScale } from "./make";
import { servableFiles } from "./plan";
import { derivativeEtag, derivativeSettings } from "./settings";
import { renderStreamedMany, streams } from "./stream";

/** Everything one fan-out needs: where to read and write, and what to make. */
export interface FanOutJob {
	readonly storage: Storage;
	readonly tier: DerivativeTier;
	readonly meta: UploadMeta;
	/** The size whose miss started this (already stored). */
	readonly path: DerivativePath;
	readonly output: OutputFormat;
	readonly config: Config;
	/** The current purge generation of a derivative key (see cache/generation.ts). */
	readonly generationOf: (key: string) => Promise<number>;
}

/**
 * Make the upload's other sizes and put them in the tier, one at a time
 * (bounded memory), skipping those already there. Only for uploads whose
 * WordPress dimensions are exact (otherwise names can be off by a pixel), and
 * only when no other fan-out runs in this isolate (see state.ts).
 */
export async function fanOut(job: FanOutJob): Promise<number> {
	if (!job.meta.exact) return 0;
	const release = fanOutLock.take();
	if (!release) return 0;
	try {
		return await fillTier(job);
	} catch (err) {
		// Background work: log and stop; the next miss renders on demand.
		const message = err instanceof Error ? err.message : String(err);
		log("error", { fanOut: job.path.key, message });
		return 0;
	} finally {
		release();
	}
}

async function fillTier(job: FanOutJob): Promise<number> {
	const { storage, tier, meta, path, output, config } = job;
	const own = extensionFormat(path.ext) ?? "jpeg";
	// One decode for all of them (the miss that started this made it at this scale).
	const scale = uploadScale(meta, config);
	const missing = await missingSizes(job, own);
	// Big JPEGs and PNGs: one streamed decode per pass feeds the missing sizes (render/stream.ts).
	const batch = streams(meta, scale, config.limits)
		? await renderStreamedMany(
				storage,
				meta,
				missing.map((m) => m.plan),
				output,
				streamJob(meta, config),
				(plans) => scaleFor(meta, plans),
			)
		: undefined;
	for (const [k, { key, plan, record }] of missing.entries()) {
		const rendered =
			batch?.[k] ?? (await renderPlan(storage, meta, plan, output, config, { scale }));
		await tier.put(tierKey(key, output, own), rendered.bytes, rendered.contentType, record);
	}
	return missing.length;
}

/** The upload's sizes not yet in the tier as they would be made now. */
async function missingSizes(job: FanOutJob, own: string) {
	const { tier, meta, path, output, config } = job;
	// The same settings hash the serving path keys this upload's entries by.
	const settings = derivativeSettings(
		config,
		variesByAccept(own as ImageFormat, config.autoFormat),
	);
	const missing = [];
	for (const { key, render: plan } of servableFiles(meta, config)) {
		if (key === path.key) continue;
		const generation = await job.generationOf(key);
		const etag = await derivativeEtag(meta, plan, output, config, generation, settings);
		const record = { etag, generation };
		if (!(await tier.has(tierKey(key, output, own), record))) missing.push({ key, plan, record });
	}
	return missing;
}
