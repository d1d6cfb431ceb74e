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
} from "../cache/generation";
import { cacheKeyRequest, cacheKeyUrl } from "../cache/keys";
import { tierKey } from "../cache/tier";
import type { Config } from "../config";
import { PayloadTooLargeError } from "../http/errors";
import { type AcceptClass, negotiateFormat } from "../http/negotiate";
import type { OutputFormat } from "../image/formats";
import { extensionFormat, type OutputFormats, storedExtensions } from "../origin/extensions";
import { lookupUpload } from "../origin/lookup";
import type { Storage } from "../origin/storage";
import { uploadSizes } from "../render/plan";
import { derivativeSettings } from "../render/settings";
import { directory, generations, hot } from "../state";
import { fileOf, publicPath, splitUploadKey, uploadKeyOf, uploadKeys } from "../url/path";
import { mapLimited } from "../util/concurrency";
import { tableKey, tableSettings } from "../wp/size-table";
import type { PurgeRequest } from "./request";
import { purgeZone, type ZoneResult, zonePrefix } from "./zone";

export interface PurgeContext {
	readonly config: Config;
	readonly kv: KVNamespace;
	readonly storage: Storage;
	/** Where cache entries of bare keys live: PUBLIC_ORIGIN, else the admin request's origin. */
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

/**
 * An upload's key under every extension its files may carry: with
 * OUTPUT_FORMATS, `photo.jpg`'s sizes are `photo-730x487.webp`, served (and
 * remembered) under `photo.webp`.
 */
function keysAcrossFormats(uploadKey: string, mapping: OutputFormats): string[] {
	const upload = splitUploadKey(uploadKey);
	return storedExtensions(upload.ext, mapping).map((ext) => uploadKeys({ ...upload, ext }).upload);
}

/**
 * What to purge, per upload. With PUBLIC_ORIGIN every entry lives on that one
 * origin (ctx.origin), whatever host a purged URL names.
 */
function collect(req: PurgeRequest, origin: string, fixedOrigin: boolean, mapping: OutputFormats) {
	const originOf = (t: { readonly origin?: string }) =>
		fixedOrigin ? origin : (t.origin ?? origin);
	const uploads = new Map<string, UploadWork>();
	const originals: { key: string; origin: string }[] = [];
	const work = (named: string) => {
		// The upload as the serving path names it: extension lower-cased.
		const uploadKey = generationKey(named);
		let entry = uploads.get(uploadKey);
		if (!entry) {
			entry = { uploadKey, whole: false, urlKeys: new Set(), origins: new Set() };
			uploads.set(uploadKey, entry);
		}
		return entry;
	};
	for (const t of req.images) {
		for (const key of keysAcrossFormats(uploadKeyOf(t.path.key), mapping)) {
			const entry = work(key);
			entry.whole = true;
			entry.origins.add(originOf(t));
		}
	}
	for (const t of req.urls) {
		if (t.path.kind === "derivative") {
			const p = t.path;
			const entry = work(uploadKeys(p).upload);
			entry.urlKeys.add(p.key);
			entry.origins.add(originOf(t));
		} else {
			// Originals are streamed from R2, never kept in this worker's cache;
			// their URL still goes to the zone purge and the local delete.
			originals.push({ key: t.path.key, origin: originOf(t) });
		}
	}
	return { uploads: [...uploads.values()], originals };
}

/** Every derivative key WordPress makes for the upload, from its current dimensions. */
async function derivativesOf(ctx: PurgeContext, uploadKey: string): Promise<string[] | null> {
	const { dir, name, ext } = splitUploadKey(uploadKey);
	if (ext === "") return null;
	try {
		const meta = await lookupUpload(ctx.storage, { dir, name, ext }, ctx.config);
		return [...new Set(uploadSizes(meta, ctx.config.sizes).map((s) => s.key))];
	} catch {
		// Gone, unreadable or not an image: its sizes cannot be listed, but the
		// generation bump still makes whatever was cached unreachable.
		return null;
	}
}

/** Uploads looked up in R2 at once (three ranged reads each). */
const LOOKUP_CONCURRENCY = 6;
/** Local cache deletes in flight at once. */
const DELETE_CONCURRENCY = 16;

const ACCEPT_CLASSES: readonly AcceptClass[] = ["avif", "webp", "neither"];

/**
 * Every `variant.format` a derivative's cache entries can carry (undefined =
 * its own format), from the serving path's own negotiation, with AUTO_FORMAT
 * on or off (it may have changed since the entries were made).
 */
export function formatVariants(key: string): (OutputFormat | undefined)[] {
	const own = extensionFormat(key.slice(key.lastIndexOf(".") + 1)) ?? "jpeg";
	const variants = new Set<OutputFormat | undefined>([undefined]);
	for (const accept of ACCEPT_CLASSES) {
		for (const auto of [true, false]) {
			const output = negotiateFormat(own, accept, auto);
			if (output !== own) variants.add(output);
		}
	}
	return [...variants];
}

/** The derivative-tier objects of derivative keys: each in its own and its negotiated formats. */
export function tierObjects(keys: readonly string[]): string[] {
	return keys.flatMap((key) => {
		const own = extensionFormat(key.slice(key.lastIndexOf(".") + 1)) ?? "jpeg";
		return formatVariants(key).map((f) => (f === undefined ? key : tierKey(key, f, own)));
	});
}

/** What the purge starts from and what it will write. */
interface Plan {
	readonly uploads: readonly UploadWork[];
	readonly originals: readonly { key: string; origin: string }[];
	/** Records as KV returned them, and as this isolate was using them. */
	readonly stored: readonly UploadDoc[];
	readonly storedEpochs: EpochDoc;
	readonly memoDocs: readonly UploadDoc[];
	readonly memoEpochs: EpochDoc;
	/** The later of both (what the bump builds on), and the bumped records. */
	readonly docs: readonly UploadDoc[];
	readonly epochs: EpochDoc;
	readonly nextDocs: readonly UploadDoc[];
	readonly nextEpochs: EpochDoc;
	readonly epochsChange: boolean;
}

/** Read the current records and work out the new ones. A read failure throws before anything changed. */
async function plan(req: PurgeRequest, ctx: PurgeContext): Promise<Plan> {
	const fixedOrigin = ctx.config.publicOrigin !== undefined;
	const { uploads, originals } = collect(req, ctx.origin, fixedOrigin, ctx.config.outputFormats);
	const [stored, storedEpochs] = await Promise.all([
		Promise.all(uploads.map((u) => readUploadDoc(ctx.kv, u.uploadKey))),
		readEpochs(ctx.kv),
	]);
	// KV's answer may lag what this isolate served, or the other way round:
	// bump from the later of both, so the new generation is above either.
	const memoDocs = uploads.map(
		(u, i) => generations.known(u.uploadKey) ?? (stored[i] as UploadDoc),
	);
	const memoEpochs = generations.knownEpochs() ?? storedEpochs;
	const docs = uploads.map((_, i) => mergeUpload(stored[i] as UploadDoc, memoDocs[i] as UploadDoc));
	const epochs = mergeEpochs(storedEpochs, memoEpochs);
	let nextEpochs = epochs;
	if (req.prefix !== undefined) nextEpochs = bumpEpochs(nextEpochs, { prefix: req.prefix });
	if (req.everything) nextEpochs = bumpEpochs(nextEpochs, "everything");
	const nextDocs = uploads.map((u, i) =>
		bumpUpload(docs[i] as UploadDoc, u.whole ? undefined : [...u.urlKeys].map(fileOf)),
	);
	return {
		uploads,
		originals,
		stored,
		storedEpochs,
		memoDocs,
		memoEpochs,
		docs,
		epochs,
		nextDocs,
		nextEpochs,
		epochsChange: req.prefix !== undefined || req.everything,
	};
}

/** Step 1: store the new generations; each one stored takes effect in this isolate at once. */
async function storeGenerations(p: Plan, ctx: PurgeContext, req: PurgeRequest) {
	const ttl = ctx.config.generationMemoMs;
	const writes = p.uploads.map((u, i) => ({
		record: u.uploadKey,
		write: () => writeUploadDoc(ctx.kv, u.uploadKey, p.nextDocs[i] as UploadDoc),
		done: () => generations.remember(u.uploadKey, p.nextDocs[i] as UploadDoc, ttl),
	}));
	if (p.epochsChange) {
		writes.push({
			record: "epochs",
			write: () => writeEpochs(ctx.kv, p.nextEpochs),
			done: () => generations.rememberEpochs(p.nextEpochs, ttl),
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
	for (const u of p.uploads) directory.forget(u.uploadKey);
	if (req.prefix !== undefined) directory.forget(req.prefix);
	if (req.everything) directory.forget("");
	return { records: writes.length, failed };
}

/** Every cache key an old generation could have used for what was named (not prefixes). */
async function oldCacheKeys(p: Plan, ctx: PurgeContext) {
	const { config } = ctx;
	// Three ranged R2 reads per upload: a few uploads at a time.
	const listed = await mapLimited(p.uploads, LOOKUP_CONCURRENCY, (u) =>
		u.whole ? derivativesOf(ctx, u.uploadKey) : Promise.resolve([]),
	);
	// A size in its own format was stored with or without `Vary: Accept`
	// (AUTO_FORMAT may have changed since); a negotiated one always varies.
	const varying = [derivativeSettings(config, true)];
	const either = [...varying, derivativeSettings(config, false)];
	const derivativeSettingsOf = (format: OutputFormat | undefined) =>
		format === undefined ? either : varying;
	const table = [tableSettings(config)];
	const cacheKeys = new Set<string>();
	const derivativeKeys = new Set<string>();
	const unknownSizes: string[] = [];
	const add = (
		u: UploadWork,
		i: number,
		base: string,
		key: string,
		settingsOf: (format: OutputFormat | undefined) => readonly string[],
		formats: readonly (OutputFormat | undefined)[] = [undefined],
	) => {
		const gens = new Set([
			generationOf(key, p.stored[i] as UploadDoc, p.storedEpochs),
			generationOf(key, p.memoDocs[i] as UploadDoc, p.memoEpochs),
		]);
		for (const origin of u.origins) {
			for (const generation of gens) {
				for (const format of formats) {
					for (const s of settingsOf(format)) {
						cacheKeys.add(cacheKeyUrl(origin, base, key, { generation, format, settings: s }));
					}
				}
			}
		}
	};
	p.uploads.forEach((u, i) => {
		const known = listed[i];
		if (known === null) unknownSizes.push(u.uploadKey);
		for (const key of new Set([...(known ?? []), ...u.urlKeys])) {
			derivativeKeys.add(key);
			add(u, i, config.mountPath, key, derivativeSettingsOf, formatVariants(key));
		}
		// The upload's size table (GET <SIZES_PATH>/<upload>) describes all of it.
		if (u.whole) add(u, i, config.sizesPath, tableKey(splitUploadKey(u.uploadKey)), () => table);
	});
	for (const o of p.originals) cacheKeys.add(cacheKeyUrl(o.origin, config.mountPath, o.key));
	return { cacheKeys: [...cacheKeys], derivativeKeys: [...derivativeKeys], unknownSizes };
}

/** Step 2: this data centre's entries, gone now (and this isolate's hot copies). */
async function deleteLocal(cacheKeys: readonly string[]): Promise<number> {
	// Purges are rare: forgetting every hot derivative is simpler than matching keys.
	hot.clear();
	const deletions = await mapLimited(cacheKeys, DELETE_CONCURRENCY, (url) =>
		caches.default.delete(cacheKeyRequest(url)),
	);
	return deletions.filter(Boolean).length;
}

/** Step 3: Cloudflare's zone purge, when configured. */
async function purgeGlobal(
	req: PurgeRequest,
	ctx: PurgeContext,
	files: readonly string[],
): Promise<ZoneResult | undefined> {
	const { config } = ctx;
	if (!config.zonePurge) return undefined;
	const prefixes: string[] = [];
	for (const base of [config.mountPath, config.sizesPath]) {
		if (req.prefix !== undefined)
			prefixes.push(zonePrefix(ctx.origin, publicPath(base, req.prefix)));
		// Everything under our paths, not the whole zone: the site may share it.
		if (req.everything) prefixes.push(zonePrefix(ctx.origin, `${base}/`));
	}
	if (files.length === 0 && prefixes.length === 0) return undefined;
	return purgeZone(config.zonePurge, { files, prefixes });
}

/** What the generation step changed, for the report. */
function generationChanges(p: Plan) {
	return {
		changes: p.uploads.flatMap((u, i) =>
			(u.whole ? [u.uploadKey] : [...u.urlKeys]).map((key) => ({
				key,
				from: generationOf(key, p.docs[i] as UploadDoc, p.epochs),
				to: generationOf(key, p.nextDocs[i] as UploadDoc, p.nextEpochs),
			})),
		),
		epochs: p.epochsChange
			? {
					from: { all: p.epochs.all, prefixes: p.epochs.prefixes.length },
					to: { all: p.nextEpochs.all, prefixes: p.nextEpochs.prefixes.length },
				}
			: null,
	};
}

/** Refuse, before anything changes, a purge too large to carry out whole. */
function assertPurgeSize(cacheKeys: readonly string[], max: number): void {
	if (cacheKeys.length > max) {
		throw new PayloadTooLargeError(
			`This purge would touch ${cacheKeys.length} cache keys (at most ${max} per request, PURGE_MAX_CACHE_KEYS): send fewer images or urls per request, or a prefix`,
		);
	}
}

export async function runPurge(req: PurgeRequest, ctx: PurgeContext): Promise<PurgeOutcome> {
	const p = await plan(req, ctx);
	const { cacheKeys, derivativeKeys, unknownSizes } = await oldCacheKeys(p, ctx);
	assertPurgeSize(cacheKeys, ctx.config.purgeMaxCacheKeys);
	const stored = await storeGenerations(p, ctx, req);
	const deleted = await deleteLocal(cacheKeys);
	const tier = await purgeTier(ctx.tier, tierObjects(derivativeKeys), req.prefix, req.everything);
	const zone = await purgeGlobal(req, ctx, cacheKeys);
	const generationFailed = stored.failed.length > 0;
	const ok = !generationFailed && (zone?.ok ?? true);
	const report = {
		ok,
		purged: {
			images: p.uploads.filter((u) => u.whole).map((u) => u.uploadKey),
			urls: req.urls.map((t) => t.input),
			prefix: req.prefix ?? null,
			everything: req.everything,
		},
		generation: {
			ok: !generationFailed,
			...stored,
			...generationChanges(p),
			// Other isolates trust what they read for the memo time; KV's edge cache
			// and propagation add up to about a minute and a half more.
			elsewhereWithinSeconds: Math.ceil(ctx.config.generationMemoMs / 1000) + KV_CACHE_TTL_S + 60,
		},
		local: {
			cacheKeys: cacheKeys.length,
			deleted,
			unknownSizes,
			...(p.epochsChange ? { note: PREFIX_NOTE } : {}),
		},
		tier,
		global: zone ? { configured: true, ...zone } : { configured: Boolean(ctx.config.zonePurge) },
	};
	const counts = { uploads: p.uploads.length, cacheKeys: cacheKeys.length, deleted };
	return { ok, generationFailed, report, counts };
}

const PREFIX_NOTE =
	"entries under a prefix cannot be listed; the generation bump makes them unreachable";
