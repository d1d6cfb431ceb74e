/**
 * R2 event notifications on the uploads bucket. A written upload (or its
 * `-scaled`/`-rotated` copy, or a size file stored next to it) gets all its
 * sizes pre-rendered into the tier; a deleted one, or one written over an
 * upload this worker already served, is purged everywhere first (generation
 * bump, tier objects, zone purge when configured) with the admin purge.
 */
import { runPurge } from "../admin/purge";
import type { PurgeRequest } from "../admin/request";
import { generationKey } from "../cache/generation";
import type { Config } from "../config";
import { Storage } from "../origin/storage";
import { fileOf, parseFileName, parseKey, splitUploadKey, uploadKeyOf } from "../url/path";
import { log } from "../util/log";
import { type BucketEvent, isDeletion } from "./messages";

/** A `-WxH` size file's name (not the upload, not a `-scaled`/`-rotated` copy). */
function isSizeFile(key: string): boolean {
	return parseFileName(fileOf(key))?.size !== undefined;
}

/** The upload an object of the bucket belongs to, as the serving path names it. */
export function uploadOfObject(key: string): string {
	return generationKey(uploadKeyOf(key));
}

/** The derivative a tier object holds (`x-150x150.jpg` for `x-150x150.jpg.webp` too). */
function derivativeOfTierObject(key: string): string {
	const bare = key.replace(/\.(webp|avif)$/, "");
	return uploadOfObject(bare) !== bare ? bare : key;
}

/**
 * The derivatives the tier holds for the upload. Any at all: a write is an
 * overwrite of something served, and what was made from the old bytes must
 * go. They also name the sizes of an upload that is gone (no lookup can).
 */
export async function tierDerivatives(
	bucket: R2Bucket | undefined,
	upload: string,
): Promise<string[]> {
	if (!bucket) return [];
	const { dir, name } = splitUploadKey(upload);
	const listed = await bucket.list({ prefix: `${dir}${name}-`, limit: 1000 });
	const keys = listed.objects.map((o) => derivativeOfTierObject(o.key));
	return [...new Set(keys.filter((k) => uploadOfObject(k) === upload))];
}

/**
 * Purge one upload as `POST <admin>/purge {"images": [upload]}` would. Cache
 * keys carry the request's origin unless PUBLIC_ORIGIN is set; without it the
 * queue knows no origin, so it bumps the generation (which retires every
 * entry everywhere) and deletes tier objects, but sends no zone purge.
 */
export async function purgeUpload(
	env: Env,
	config: Config,
	upload: string,
	/** Derivative keys known from the tier (a deleted upload's sizes cannot be looked up). */
	known: readonly string[],
) {
	const origin = config.publicOrigin ?? "https://origin.invalid";
	const req: PurgeRequest = {
		images: [{ input: upload, path: parseKey(upload) }],
		urls: known.map((key) => ({ input: key, path: parseKey(key) })),
		everything: false,
	};
	const outcome = await runPurge(req, {
		config: config.publicOrigin ? config : { ...config, zonePurge: undefined },
		kv: env.PURGE_STATE,
		storage: new Storage(env.ORIGINALS, config.limits.r2TimeoutMs),
		origin,
		tier: (env as { DERIVATIVES?: R2Bucket }).DERIVATIVES,
	});
	log(outcome.ok ? "info" : "error", {
		event: "purge",
		by: "bucket-event",
		upload,
		count: outcome.counts,
		outcome: outcome.ok ? "ok" : "incomplete",
	});
	if (outcome.generationFailed) throw new Error(`purge of ${upload}: generation not stored`);
	return outcome;
}

/** What the events of one batch for one upload call for. */
export interface UploadEvents {
	/** Purge first: deleted, or written over an upload already served. */
	readonly purge: boolean;
	/** Then make its sizes: the last event wrote the object. */
	readonly prerender: boolean;
	/** Its derivatives the tier holds now. */
	readonly known: readonly string[];
}

export async function planUploadEvents(
	env: Env,
	upload: string,
	events: readonly BucketEvent[],
): Promise<UploadEvents> {
	const last = events.at(-1);
	const deleted = events.some((e) => isDeletion(e.action));
	const prerender = last !== undefined && !isDeletion(last.action);
	// Only the upload or its full-size copy changes what its sizes are made
	// from: a size file written next to it does not (and a tier object
	// reported by a misdirected notification can never start a purge loop).
	const rewritten = events.some((e) => !isDeletion(e.action) && !isSizeFile(e.key));
	const tier = (env as { DERIVATIVES?: R2Bucket }).DERIVATIVES;
	const known = await tierDerivatives(tier, upload);
	return { purge: deleted || (rewritten && known.length > 0), prerender, known };
}
