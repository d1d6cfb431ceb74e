/**
 * Carrying out a purge, by three mechanisms (see README "Admin: purging"):
 *
 * 1. generation: the KV records are bumped, so every cache entry made under
 *    the old generation is unreachable everywhere (this isolate at once,
 *    others within the memo time plus KV's propagation). This is what makes a
 *    purge global; without it the purge fails.
 * 2. local: the old entries of this data centre are deleted from the Cache
 *    API (frees them now; only possible for keys that can be listed).
 * 3. global: when configured, Cloudflare's zone purge API drops the old
 *    entries in every data centre.
 *
 * The outcome says which of them took effect; it is a success only when the
 * generation was stored and the global purge (if configured) was accepted.
 */
import { cacheKeyRequest, cacheKeyUrl } from "../cache";
import type { Config } from "../config";
import {
	bumpEpochs,
	bumpUpload,
	type EpochDoc,
	generationKey,
	generationOf,
	KV_CACHE_TTL_S,
	mergeEpochs,
	mergeUpload,
	readEpochs,
	readUploadDoc,
	type UploadDoc,
	writeEpochs,
	writeUploadDoc,
} from "../generation";
import { lookupUpload } from "../originals";
import { publicPath, splitUploadKey, uploadKeyOf } from "../path";
import { uploadSizes } from "../plan";
import { directory, generations } from "../serve";
import type { Storage } from "../storage";
import type { PurgeRequest } from "./request";
import { purgeZone, type ZoneResult, zonePrefix } from "./zone";

export interface PurgeContext {
	readonly config: Config;
	readonly kv: KVNamespace;
	readonly storage: Storage;
	/** The admin request's origin: where cache entries of bare keys live. */
	readonly origin: string;
	/**
	 * The persistent derivative tier (optional `DERIVATIVES` bucket), never the
	 * ORIGINALS bucket. Its objects record the generation they were made for,
	 * so the bump already retires them; deleting them frees the space.
	 */
	readonly tier?: R2Bucket;
}

/** Most tier objects a prefix purge lists and deletes (the rest are retired by the bump). */
export const MAX_TIER_LIST = 1000;

interface TierResult {
	readonly configured: boolean;
	/** Keys deleted (R2 ignores keys that were not there). */
	readonly keys?: number;
	readonly error?: string;
	readonly note?: string;
}

async function purgeTier(
	bucket: R2Bucket | undefined,
	keys: readonly string[],
	prefix: string | undefined,
	everything: boolean,
): Promise<TierResult> {
	if (!bucket) return { configured: false };
	try {
		const doomed = new Set(keys);
		let note: string | undefined;
		if (prefix !== undefined) {
			const listed = await bucket.list({ prefix, limit: MAX_TIER_LIST });
			for (const o of listed.objects) doomed.add(o.key);
			if (listed.truncated)
				note = `over ${MAX_TIER_LIST} objects under the prefix: the rest are retired by the generation`;
		}
		if (everything) note = "not listed: every object is retired by the generation";
		const all = [...doomed];
		for (let i = 0; i < all.length; i += 1000) await bucket.delete(all.slice(i, i + 1000));
		return { configured: true, keys: all.length, ...(note ? { note } : {}) };
	} catch (err) {
		// Not a failed purge: the generation already retired these objects.
		return { configured: true, error: String(err) };
	}
}

export interface PurgeOutcome {
	/** True when the purge took effect everywhere it was asked to. */
	readonly ok: boolean;
	readonly generationFailed: boolean;
	readonly report: Record<string, unknown>;
	/** Numbers for the one log line. */
	readonly counts: {
		readonly uploads: number;
		readonly cacheKeys: number;
		readonly deleted: number;
	};
}

interface UploadWork {
	readonly uploadKey: string;
	whole: boolean;
	/** Derivative keys named by URL purges. */
	readonly urlKeys: Set<string>;
	readonly origins: Set<string>;
}

const fileOf = (key: string) => key.slice(key.lastIndexOf("/") + 1);

function collect(req: PurgeRequest, origin: string) {
	const uploads = new Map<string, UploadWork>();
	const originals: { key: string; origin: string }[] = [];
	const work = (uploadKey: string) => {
		const id = generationKey(uploadKey);
		let entry = uploads.get(id);
		if (!entry) {
			entry = { uploadKey, whole: false, urlKeys: new Set(), origins: new Set() };
			uploads.set(id, entry);
		}
		return entry;
	};
	for (const t of req.images) {
		const entry = work(uploadKeyOf(t.path.key));
		entry.whole = true;
		entry.origins.add(t.origin ?? origin);
	}
	for (const t of req.urls) {
		if (t.path.kind === "derivative") {
			const p = t.path;
			const entry = work(`${p.dir}${p.name}.${p.ext}`);
			entry.urlKeys.add(p.key);
			entry.origins.add(t.origin ?? origin);
		} else {
			// Originals are streamed from R2, never kept in this worker's cache;
			// their URL still goes to the zone purge and the local delete.
			originals.push({ key: t.path.key, origin: t.origin ?? origin });
		}
	}
	return { uploads: [...uploads.values()], originals };
}

/** Every derivative key WordPress makes for the upload, from its current dimensions. */
async function derivativesOf(ctx: PurgeContext, uploadKey: string): Promise<string[] | null> {
	const { dir, name, ext } = splitUploadKey(uploadKey);
	if (ext === "") return null;
	try {
		const meta = await lookupUpload(ctx.storage, dir, name, ext, ctx.config.limits);
		return [...new Set(uploadSizes(meta, ctx.config.sizes).map((s) => s.key))];
	} catch {
		// Gone, unreadable or not an image: its sizes cannot be listed, but the
		// generation bump still makes whatever was cached unreachable.
		return null;
	}
}

export async function runPurge(req: PurgeRequest, ctx: PurgeContext): Promise<PurgeOutcome> {
	const { config, kv } = ctx;
	const ttl = config.generationMemoMs;
	const { uploads, originals } = collect(req, ctx.origin);

	// Current records. A read failure throws (503/502) before anything changed.
	const [stored, storedEpochs] = await Promise.all([
		Promise.all(uploads.map((u) => readUploadDoc(kv, u.uploadKey))),
		readEpochs(kv),
	]);
	// What this isolate was using until now: KV's answer may lag it, or it KV.
	const memoDocs = uploads.map((u, i) => generations.known(u.uploadKey) ?? stored[i]);
	const memoEpochs = generations.knownEpochs() ?? storedEpochs;
	// Bump from the later of both, so the new generation is above either.
	const docs = uploads.map((_, i) => mergeUpload(stored[i] as UploadDoc, memoDocs[i] as UploadDoc));
	const epochs = mergeEpochs(storedEpochs, memoEpochs);
	const epochsChange = req.prefix !== undefined || req.everything;

	// 1. generation
	let nextEpochs: EpochDoc = epochs;
	if (req.prefix !== undefined) nextEpochs = bumpEpochs(nextEpochs, { prefix: req.prefix });
	if (req.everything) nextEpochs = bumpEpochs(nextEpochs, "everything");
	const nextDocs = uploads.map((u, i) => {
		const doc = docs[i] as UploadDoc;
		return bumpUpload(doc, u.whole ? undefined : [...u.urlKeys].map(fileOf));
	});
	const writes: { record: string; write: () => Promise<void>; done: () => void }[] = uploads.map(
		(u, i) => ({
			record: u.uploadKey,
			write: () => writeUploadDoc(kv, u.uploadKey, nextDocs[i] as UploadDoc),
			done: () => generations.remember(u.uploadKey, nextDocs[i] as UploadDoc, ttl),
		}),
	);
	if (epochsChange) {
		writes.push({
			record: "epochs",
			write: () => writeEpochs(kv, nextEpochs),
			done: () => generations.rememberEpochs(nextEpochs, ttl),
		});
	}
	const settled = await Promise.allSettled(writes.map((w) => w.write()));
	const failed: { record: string; error: string }[] = [];
	settled.forEach((result, i) => {
		const w = writes[i];
		if (!w) return;
		if (result.status === "fulfilled") w.done();
		else failed.push({ record: w.record, error: String(result.reason?.message ?? result.reason) });
	});
	for (const u of uploads) directory.forget(u.uploadKey);
	if (req.prefix !== undefined) directory.forget(req.prefix);
	if (req.everything) directory.forget("");

	// 2. local: every cache key an old generation could have used, here.
	const listed = await Promise.all(
		uploads.map((u) => (u.whole ? derivativesOf(ctx, u.uploadKey) : Promise.resolve([]))),
	);
	const cacheKeys = new Set<string>();
	const derivativeKeys = new Set<string>();
	const unknownSizes: string[] = [];
	uploads.forEach((u, i) => {
		const known = listed[i];
		const kvDoc = stored[i] as UploadDoc;
		const memoDoc = memoDocs[i] as UploadDoc;
		if (known === null) unknownSizes.push(u.uploadKey);
		for (const key of new Set([...(known ?? []), ...u.urlKeys])) {
			derivativeKeys.add(key);
			const gens = new Set([
				generationOf(key, kvDoc, storedEpochs),
				generationOf(key, memoDoc, memoEpochs),
			]);
			for (const origin of u.origins) {
				for (const generation of gens) {
					cacheKeys.add(cacheKeyUrl(origin, config.mountPath, key, { generation }));
				}
			}
		}
		if (!u.whole) return;
		// The upload's size table (GET <SIZES_PATH>/<upload>) describes all of it.
		const tableGens = new Set([
			generationOf(u.uploadKey, kvDoc, storedEpochs),
			generationOf(u.uploadKey, memoDoc, memoEpochs),
		]);
		for (const origin of u.origins) {
			for (const generation of tableGens) {
				cacheKeys.add(cacheKeyUrl(origin, config.sizesPath, u.uploadKey, { generation }));
			}
		}
	});
	for (const o of originals) cacheKeys.add(cacheKeyUrl(o.origin, config.mountPath, o.key));
	const deletions = await Promise.all(
		[...cacheKeys].map((url) => caches.default.delete(cacheKeyRequest(url))),
	);
	const deleted = deletions.filter(Boolean).length;
	const tier = await purgeTier(ctx.tier, [...derivativeKeys], req.prefix, req.everything);

	// 3. global
	const prefixes: string[] = [];
	for (const base of [config.mountPath, config.sizesPath]) {
		if (req.prefix !== undefined)
			prefixes.push(zonePrefix(ctx.origin, publicPath(base, req.prefix)));
		// Everything under our paths, not the whole zone: the site may share it.
		if (req.everything) prefixes.push(zonePrefix(ctx.origin, `${base}/`));
	}
	let zone: ZoneResult | undefined;
	if (config.zonePurge && (cacheKeys.size > 0 || prefixes.length > 0)) {
		zone = await purgeZone(config.zonePurge, { files: [...cacheKeys], prefixes });
	}

	const generationFailed = failed.length > 0;
	const ok = !generationFailed && (zone?.ok ?? true);
	const report = {
		ok,
		purged: {
			images: uploads.filter((u) => u.whole).map((u) => u.uploadKey),
			urls: req.urls.map((t) => t.input),
			prefix: req.prefix ?? null,
			everything: req.everything,
		},
		generation: {
			ok: !generationFailed,
			records: writes.length,
			failed,
			changes: [
				...uploads.map((u, i) => {
					const doc = docs[i] as UploadDoc;
					const next = nextDocs[i] as UploadDoc;
					const keys = u.whole ? [u.uploadKey] : [...u.urlKeys];
					return keys.map((key) => ({
						key,
						from: generationOf(key, doc, epochs),
						to: generationOf(key, next, nextEpochs),
					}));
				}),
			].flat(),
			epochs: !epochsChange
				? null
				: {
						from: { all: epochs.all, prefixes: epochs.prefixes.length },
						to: { all: nextEpochs.all, prefixes: nextEpochs.prefixes.length },
					},
			// Other isolates trust what they read for the memo time; KV's edge cache
			// and propagation add up to about a minute.
			elsewhereWithinSeconds: Math.ceil(ttl / 1000) + KV_CACHE_TTL_S + 60,
		},
		local: {
			cacheKeys: cacheKeys.size,
			deleted,
			unknownSizes,
			...(req.prefix !== undefined || req.everything
				? {
						note: "entries under a prefix cannot be listed; the generation bump makes them unreachable",
					}
				: {}),
		},
		tier,
		global: zone ? { configured: true, ...zone } : { configured: Boolean(config.zonePurge) },
	};
	return {
		ok,
		generationFailed,
		report,
		counts: { uploads: uploads.length, cacheKeys: cacheKeys.size, deleted },
	};
}
