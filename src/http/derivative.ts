/**
 * The derivative route: a size made on demand and kept in the edge cache.
 * Named steps: identify the entry → a hit (isolate memory, then the Cache
 * API) → prepare the miss (lookup, plan, limits, headers, 304) → the shared
 * render (or tier read) → the response. Originals are streamed by original.ts.
 */
import type { Context } from "hono";
import { hotResponse, sharedMaxAgeMs } from "../cache/hot";
import { cacheKeyRequest, cacheKeyUrl, ifNoneMatchHits, keyOrigin } from "../cache/keys";
import {
	type DerivativeTier,
	derivativeTier,
	TierRead,
	type TierWant,
	tierKey,
} from "../cache/tier";
import type { Config } from "../config";
import type { OutputFormat } from "../image/formats";
import { MIME } from "../image/probe";
import { extensionFormat } from "../origin/extensions";
import type { UploadMeta } from "../origin/lookup";
import { Storage } from "../origin/storage";
import { enqueueSizes } from "../queue/producer";
import { assertOutputWithinLimits, assertSourceWithinLimits } from "../render/limits";
import { renderPlan } from "../render/make";
import { matchSize, planRender, type RenderPlan } from "../render/plan";
import { derivativeEtag, derivativeSettings, optimizedEtag, registryTag } from "../render/settings";
import {
	directory,
	findUpload,
	generationFor,
	hot,
	inflight,
	type Made,
	renderGate,
} from "../state";
import { type DerivativePath, otherForms, publicPath, uploadKeys } from "../url/path";
import { log } from "../util/log";
import { keepAlive } from "../util/shared";
import { standInHeaders } from "./avif";
import { ForbiddenError, NotFoundError } from "./errors";
import { acceptClass, negotiateFormat, variesByAccept } from "./negotiate";
import { answerObject, fetchObject } from "./original";
import { type AppEnv, finish, REGISTRY_HEADER, SECURITY_HEADERS, serverTiming } from "./respond";
import { verifyPath } from "./signing";

/** What identifies the entry a request asks for, known before any R2 read. */
interface Wanted {
	readonly path: DerivativePath;
	readonly signed: boolean;
	readonly generation: number;
	/** The file's own format (its extension) and the one served. */
	readonly own: OutputFormat;
	readonly output: OutputFormat;
	readonly settings: string;
	readonly keyUrl: string;
	readonly timing: Record<string, number>;
}

/** A miss worked out: what to make and the headers to answer with. */
interface Miss {
	readonly meta: UploadMeta;
	readonly plan: RenderPlan;
	readonly etag: string;
	/** A PNG entry's other ETag: the queue's oxipng copy of its bytes (optimizedEtag). */
	readonly optimized?: string;
	readonly headers: Headers;
	/** The tier's object for this entry, read while the upload was looked up. */
	readonly early?: Promise<TierRead | null>;
}

/** Start reading the entry's tier object now: its key needs no lookup, its record is checked later. */
function earlyTierRead(c: Context<AppEnv>, wanted: Wanted): Promise<TierRead | null> | undefined {
	const tier = derivativeTier(c.env, c.var.config.limits);
	if (!tier) return undefined;
	const read = tier.read(tierObject(wanted)).catch(() => null);
	keepAlive(c.executionCtx)(read);
	return read;
}

export async function serveDerivative(c: Context<AppEnv>, path: DerivativePath): Promise<Response> {
	const wanted = await identify(c, path);
	const hit = await cachedHit(c, wanted);
	if (hit) return hit;
	c.set("negativeCacheKey", wanted.keyUrl);
	const early = earlyTierRead(c, wanted);
	const found = await storedOrUpload(c, wanted);
	if ("object" in found) return serveStored(c, wanted, found.key, found.object);
	const miss = { ...(await prepareMiss(c, wanted, found.meta)), early };
	const unchanged = await notModified(c, wanted, miss);
	if (unchanged) return unchanged;
	const made = await sharedMake(c, wanted, miss);
	return missResponse(c, wanted, miss, made);
}

/**
 * A client that already holds the bytes a miss would answer with needs no
 * render at all. For a PNG those may be the queue's oxipng copy in the tier
 * (same pixels, other bytes and ETag): a client holding ours gets that copy,
 * not a 304.
 */
async function notModified(c: Context<AppEnv>, wanted: Wanted, miss: Miss) {
	const header = c.req.header("If-None-Match") ?? null;
	if (!header) return undefined;
	const stored =
		miss.optimized && miss.early && TierRead.check(await miss.early, accepts(wanted, miss));
	const etag = stored ? stored.etag : miss.etag;
	if (!ifNoneMatchHits(header, etag)) return undefined;
	const headers = new Headers(miss.headers);
	headers.set("ETag", etag);
	headers.set("X-Cache", "MISS");
	return new Response(null, { status: 304, headers });
}

/**
 * Whether this request may make any size (see signing.ts). A `sig` that does
 * not verify is a 403 even for a registered size: the client meant to sign.
 * Without a configured key, query strings mean nothing and `sig` is ignored.
 */
async function signedRequest(c: Context<AppEnv>, path: DerivativePath): Promise<boolean> {
	const secret = c.var.config.urlSigningKey;
	const sig = c.req.query("sig");
	if (secret === undefined || sig === undefined) return false;
	if (!(await verifyPath(secret, publicPath(c.var.config.mountPath, path.key), sig))) {
		throw new ForbiddenError("Bad signature", { detail: `bad sig for ${path.key}` });
	}
	return true;
}

/**
 * The entry's cache key: purge generation (KV, memoised), output format and
 * settings. Negotiation is decided from the name alone, so a HIT needs no R2
 * read; the key carries the format only when it is not the file's own.
 */
async function identify(c: Context<AppEnv>, path: DerivativePath): Promise<Wanted> {
	const { config } = c.var;
	const started = performance.now();
	const signed = await signedRequest(c, path);
	const uploadKey = uploadKeys(path).upload;
	const keep = keepAlive(c.executionCtx);
	const generation = await generationFor(c.env, config, uploadKey, path.key, keep);
	// Unknown extensions never render: they are refused when prepared.
	const own = (extensionFormat(path.ext) ?? "jpeg") as OutputFormat;
	const accept = acceptClass(c.req.header("Accept"));
	const output = negotiateFormat(own, accept, config.autoFormat, path);
	const settings = derivativeSettings(config, variesByAccept(own, config.autoFormat));
	const origin = keyOrigin(config.publicOrigin, c.req.url);
	const variant =
		output === own ? { generation, settings } : { generation, format: output, settings };
	const keyUrl = cacheKeyUrl(origin, config.mountPath, path.key, variant);
	const timing = { kv: performance.now() - started };
	return { path, signed, generation, own, output, settings, keyUrl, timing };
}

/** How long a response may stay hot: within its Cache-Control and the generation memo. */
function hotMaxAgeMs(config: Config, headers: Headers): number {
	return Math.min(sharedMaxAgeMs(headers.get("Cache-Control")), config.generationMemoMs);
}

/** A HIT from the isolate's memory, else from the Cache API; undefined on a miss. */
async function cachedHit(c: Context<AppEnv>, wanted: Wanted): Promise<Response | undefined> {
	const { keyUrl } = wanted;
	const kept = hot.get(keyUrl);
	if (kept) return finish(c, hotResponse(kept), "HIT");
	const started = performance.now();
	const cached = await caches.default.match(cacheKeyRequest(keyUrl));
	wanted.timing.cache = performance.now() - started;
	if (cached?.status === 200) {
		// Small enough to keep in the isolate: the next HIT skips the lookup.
		const length = Number(cached.headers.get("Content-Length"));
		if (length > 0 && length <= hot.maxEntryBytes) {
			const bytes = new Uint8Array(await cached.arrayBuffer());
			hot.put(keyUrl, bytes, cached.headers, Date.now(), hotMaxAgeMs(c.var.config, cached.headers));
			return finish(c, new Response(bytes, { headers: cached.headers }), "HIT");
		}
		return finish(c, cached, "HIT");
	}
	// A remembered 404 was for unsigned requests (a signed one may make the
	// size) and for the registry it was decided under.
	const registry = registryTag(c.var.config, "sizes");
	if (cached && !wanted.signed && cached.headers.get(REGISTRY_HEADER) === registry) {
		return finish(c, cached, "HIT");
	}
	return undefined;
}

/**
 * An object stored under the requested name is served as stored (a size
 * WordPress wrote years ago, or an upload whose own name ends in -WxH); only
 * a name with no object is rendered. Its read runs alongside the upload's
 * lookup, so a miss waits for no extra R2 round trip.
 */
async function storedOrUpload(
	c: Context<AppEnv>,
	wanted: Wanted,
): Promise<{ readonly key: string; readonly object: R2Object } | { readonly meta: UploadMeta }> {
	const { config } = c.var;
	const started = performance.now();
	const keep = keepAlive(c.executionCtx);
	const storage = new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs);
	const upload = findUpload(c.env, config, wanted.path, wanted.generation, keep).then(
		(meta) => ({ meta }),
		(error: unknown) => ({ error }),
	);
	const stored = await storedObject(storage, wanted.path.key, c.req.raw);
	if (stored) return stored;
	const looked = await upload;
	wanted.timing.r2 = performance.now() - started;
	if ("error" in looked) throw looked.error;
	return looked;
}

/** The object stored under `key`, or under its other Unicode normal form. */
async function storedObject(storage: Storage, key: string, request: Request) {
	for (const name of [key, ...otherForms(key)]) {
		const object = await fetchObject(storage, name, request);
		if (object) return { key: name, object };
	}
	return null;
}

/**
 * A stored object answered like an original (preconditions, HEAD, ranges)
 * and, when whole, kept in the edge cache under the derivative's key: MISS,
 * then HIT, purged with its upload.
 */
async function serveStored(c: Context<AppEnv>, wanted: Wanted, key: string, object: R2Object) {
	const storage = new Storage(c.env.ORIGINALS, c.var.config.limits.r2TimeoutMs);
	const response = await answerObject(c, storage, key, object);
	response.headers.set("X-Cache", "MISS");
	if (response.status === 200 && c.req.method === "GET") {
		const entry = response.clone();
		c.executionCtx.waitUntil(caches.default.put(cacheKeyRequest(wanted.keyUrl), entry));
	}
	return response;
}

/**
 * Match the size and check every limit before the expensive work: all are
 * known from the header we probed. They hold for tier copies too: a source
 * too large to decode now is refused the same way.
 */
function prepareMiss(c: Context<AppEnv>, wanted: Wanted, meta: UploadMeta): Promise<Miss> {
	const { config } = c.var;
	const { path, generation, output } = wanted;
	// WordPress names an upload's sizes in one format (OUTPUT_FORMATS may map it).
	if (meta.sizesFormat !== wanted.own) throw new NotFoundError("No such size for this image");
	const size = matchSize(meta, path.width, path.height, config.sizes, wanted.signed);
	const plan = planRender(meta, size);
	assertSourceWithinLimits(meta, config.limits);
	assertOutputWithinLimits(plan, config.limits);
	return derivativeEtag(meta, plan, output, config, generation, wanted.settings).then(
		async (etag) => ({
			meta,
			plan,
			etag,
			...(output === "png" ? { optimized: await optimizedEtag(etag) } : {}),
			headers: derivativeHeaders(config, meta, wanted, etag),
		}),
	);
}

function derivativeHeaders(config: Config, meta: UploadMeta, wanted: Wanted, etag: string) {
	const headers = new Headers({
		"Content-Type": MIME[wanted.output],
		"Cache-Control": config.cacheControl,
		ETag: etag,
		"Last-Modified": meta.source.uploaded.toUTCString(),
		...SECURITY_HEADERS,
	});
	// Every variant says so, the file's own format too: a shared cache must not
	// hand a JPEG-only client the WebP it stored for another.
	if (variesByAccept(wanted.own, config.autoFormat)) headers.set("Vary", "Accept");
	return headers;
}

/**
 * The derivative's bytes, shared by every concurrent miss for it: read back
 * from the tier, or rendered (then cached, kept in the tier, and the upload's
 * other sizes asked of the work queue). Watched, never awaited across
 * requests (util/shared.ts); a waiter gives up after a render's own budget.
 */
async function sharedMake(c: Context<AppEnv>, wanted: Wanted, miss: Miss): Promise<Made> {
	const { limits } = c.var.config;
	const maxWaitMs = 3 * limits.r2TimeoutMs + 2 * limits.renderBudgetMs;
	const keep = keepAlive(c.executionCtx);
	const { shared, settled } = inflight.join(
		wanted.keyUrl,
		maxWaitMs,
		() => make(c, wanted, miss),
		(made) =>
			caches.default.put(
				cacheKeyRequest(wanted.keyUrl),
				storedResponse(made, madeHeaders(made, miss)),
			),
	);
	if (settled) {
		keep(settled);
		c.executionCtx.waitUntil(fillTier(c, wanted, miss, shared.promise));
	}
	return inflight.wait(wanted.keyUrl, shared, maxWaitMs);
}

/**
 * This size only, in the negotiated format. A negotiated AVIF is only ever
 * read from the tier (the queue makes it): until it is there, the WebP stands in.
 */
async function make(c: Context<AppEnv>, wanted: Wanted, miss: Miss): Promise<Made> {
	const { config } = c.var;
	const tier = derivativeTier(c.env, config.limits);
	// An AVIF upload's own sizes are AVIF like any upload's: only a negotiated one waits.
	if (wanted.output !== "avif" || wanted.own === "avif") {
		return makeAs(c, wanted, miss, tier, wanted.output, accepts(wanted, miss));
	}
	const started = performance.now();
	const record = { etag: miss.etag, generation: wanted.generation };
	const stored =
		tier && TierRead.check(await (miss.early ?? tier.read(tierObject(wanted))), record);
	if (stored) {
		const timings = { tier: performance.now() - started };
		return { bytes: stored.bytes, contentType: MIME.avif, timings, rendered: false };
	}
	const { meta, plan } = miss;
	const etag = await derivativeEtag(meta, plan, "webp", config, wanted.generation, wanted.settings);
	const made = await makeAs(c, wanted, miss, tier, "webp", { etag, generation: wanted.generation });
	const headers = standInHeaders(miss.headers, etag, config.avifPendingMaxAge);
	const key = tierKey(wanted.path.key, "webp", wanted.own);
	return { ...made, standIn: { headers, tierKey: key, etag } };
}

/** Read this size in `output` back from the tier, else render it (at the scale it needs). */
async function makeAs(
	c: Context<AppEnv>,
	wanted: Wanted,
	miss: Miss,
	tier: DerivativeTier | null,
	output: OutputFormat,
	want: TierWant,
): Promise<Made> {
	const { config } = c.var;
	const { meta, plan } = miss;
	const started = performance.now();
	const key = tierKey(wanted.path.key, output, wanted.own);
	// The early read was of this very key unless this is the AVIF's WebP stand-in.
	const early = key === tierObject(wanted) ? miss.early : undefined;
	const read = tier && (await (early ?? tier.read(key)));
	const stored = TierRead.check(read ?? null, want);
	if (stored) {
		const timings = { tier: performance.now() - started };
		const { bytes, etag } = stored;
		return { bytes, contentType: MIME[output], timings, rendered: false, etag };
	}
	const storage = new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs);
	const onStale = () => directory.forget(meta.uploadKey);
	const rendered = await renderGate.run(() =>
		renderPlan(storage, meta, plan, output, config, { timing: wanted.timing, onStale }),
	);
	return { ...rendered, timings: { ...rendered.timings }, rendered: true };
}

/** What the entry accepts from the tier: its own record, or a PNG's oxipng copy. */
function accepts(wanted: Wanted, miss: Miss): TierWant {
	return { etag: miss.etag, generation: wanted.generation, optimized: miss.optimized };
}

function tierObject(wanted: Wanted): string {
	return tierKey(wanted.path.key, wanted.output, wanted.own);
}

/**
 * Background work once the response is made: keep a rendered size in the
 * tier, and ask the work queue for the upload's other sizes (and its AVIF).
 * A failed render is reported through onError.
 */
async function fillTier(c: Context<AppEnv>, wanted: Wanted, miss: Miss, made: Promise<Made>) {
	const { config } = c.var;
	const tier = derivativeTier(c.env, config.limits);
	const result = await made.catch(() => undefined);
	if (!tier || !result || !(result.rendered || result.standIn)) return;
	const key = result.standIn?.tierKey ?? tierObject(wanted);
	try {
		if (result.rendered) {
			const record = { etag: result.standIn?.etag ?? miss.etag, generation: wanted.generation };
			await tier.put(key, result.bytes, result.contentType, record);
		}
	} catch (err) {
		// Background work: the response is already right; say what failed.
		const message = err instanceof Error ? err.message : String(err);
		log("error", { tier: "put", key, message });
	}
	await enqueueSizes(c.env, config, miss.meta.uploadKey, wanted.generation);
}

/** The headers the made bytes are answered with: a stand-in's own, or the entry's with their ETag. */
function madeHeaders(made: Made, miss: Miss): Headers {
	if (made.standIn) return made.standIn.headers;
	if (!made.etag || made.etag === miss.etag) return miss.headers;
	const headers = new Headers(miss.headers);
	headers.set("ETag", made.etag);
	return headers;
}

/** A rendered derivative as the edge cache keeps it. */
function storedResponse(made: Pick<Made, "bytes" | "contentType">, headers: Headers): Response {
	const stored = new Headers(headers);
	stored.set("Content-Type", made.contentType);
	stored.set("Content-Length", String(made.bytes.byteLength));
	return new Response(made.bytes, { status: 200, headers: stored });
}

function missResponse(c: Context<AppEnv>, wanted: Wanted, miss: Miss, made: Made): Response {
	const stored = storedResponse(made, madeHeaders(made, miss));
	const maxAge = hotMaxAgeMs(c.var.config, stored.headers);
	hot.put(wanted.keyUrl, made.bytes, stored.headers, Date.now(), maxAge);
	const response = finish(c, stored, "MISS");
	response.headers.set("Server-Timing", serverTiming({ ...wanted.timing, ...made.timings }));
	return response;
}
