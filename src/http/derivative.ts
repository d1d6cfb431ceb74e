/**
 * The derivative route: a size made on demand and kept in the edge cache.
 * (Originals are streamed by http/original.ts.)
 */
import type { Context } from "hono";
import { Generations } from "../cache/generation";
import { HotCache, hotResponse, sharedMaxAgeMs } from "../cache/hot";
import { cacheKeyRequest, cacheKeyUrl, ifNoneMatchHits, keyOrigin } from "../cache/keys";
import type { Config } from "../config";
import { MIME } from "../image/probe";
import { extensionFormat, lookupUpload, UploadDirectory } from "../origin/lookup";
import { Storage } from "../origin/storage";
import {
	derivativeEtag,
	derivativeSettings,
	derivativeTier,
	fanOut,
	renderPlan,
	scaleFor,
	tierKey,
	uploadScale,
} from "../render/derivatives";
import { Gate } from "../render/gate";
import { assertWithinLimits } from "../render/limits";
import { matchSize, planRender } from "../render/plan";
import { type DerivativePath, publicPath, uploadKeys } from "../url/path";
import { type KeepAlive, keepAlive, Shared, SharedTimeoutError, sleep } from "../util/shared";
import { ForbiddenError } from "./errors";
import { acceptClass, negotiateFormat, variesByAccept } from "./negotiate";
import { SECURITY_HEADERS } from "./original";
import { verifyPath } from "./signing";

export interface AppVariables {
	config: Config;
	/** Set by the derivative route so onError can cache a 404 briefly. */
	negativeCacheKey?: string;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };

/** Lookups of uploads shared by every request of this isolate. */
export const directory = new UploadDirectory();

/** Purge generations this isolate has read (or written, when a purge ran here). */
export const generations = new Generations();

/**
 * The purge generation of `key` (a derivative of the upload, or the upload
 * itself for what describes all of it). Normally answered from memory.
 */
export async function generationFor(
	env: Env,
	config: Config,
	uploadKey: string,
	key: string,
	/** Keeps a KV read this call starts alive if the request is cancelled. */
	keep?: KeepAlive,
): Promise<number> {
	return generations.current(
		env.PURGE_STATE,
		uploadKey,
		key,
		config.generationMemoMs,
		Date.now(),
		keep,
	);
}

/** What a miss produced: freshly rendered, or read back from the derivative tier. */
interface Made {
	readonly bytes: Uint8Array;
	readonly contentType: string;
	readonly timings: Record<string, number>;
	readonly rendered: boolean;
}

/** The isolate's hottest derivatives, in front of the Cache API (see hot.ts). */
export const hot = new HotCache();

/** How long a response may stay hot: within its Cache-Control and the generation memo. */
function hotMaxAgeMs(config: Config, headers: Headers): number {
	return Math.min(sharedMaxAgeMs(headers.get("Cache-Control")), config.generationMemoMs);
}

/** Concurrent misses for one derivative share one render (or one tier read). */
const inflight = new Map<string, Shared<Made>>();
/** How long a finished render stays shared after its cache put lands (ms). */
const INFLIGHT_GRACE_MS = 1000;

/** Most misses queued for a render slot in one isolate; past it, a 503. */
export const MAX_RENDER_WAITERS = 32;
/** Longest a miss waits in that queue (ms), then a 503. */
export const RENDER_QUEUE_WAIT_MS = 30_000;
/** A render slot not given back within this (ms) is taken back. */
export const RENDER_SLOT_LEASE_MS = 60_000;

/**
 * Renders (source download + decode → encode) admitted at once per isolate:
 * one decoding while the next one's source downloads. Bounds memory under a
 * burst of different misses (see Gate).
 */
export const renderGate = new Gate(2, {
	maxWaiters: MAX_RENDER_WAITERS,
	maxWaitMs: RENDER_QUEUE_WAIT_MS,
	leaseMs: RENDER_SLOT_LEASE_MS,
});

function storageFor(c: Context<AppEnv>): Storage {
	return new Storage(c.env.ORIGINALS, c.var.config.limits.r2TimeoutMs);
}

function serverTiming(t: Record<string, number>): string {
	return Object.entries(t)
		.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
		.join(", ");
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

export async function serveDerivative(c: Context<AppEnv>, path: DerivativePath): Promise<Response> {
	const { config } = c.var;
	const signed = await signedRequest(c, path);
	const origin = keyOrigin(config.publicOrigin, c.req.url);
	const uploadKey = uploadKeys(path.dir, path.name, path.ext).upload;
	const started = performance.now();
	const generation = await generationFor(
		c.env,
		config,
		uploadKey,
		path.key,
		keepAlive(c.executionCtx),
	);
	// Negotiation is decided from the name alone, so a HIT needs no R2 read.
	// The cache key carries the format only when it is not the file's own.
	// (GIF, AVIF and unknown extensions never render: they are refused below.)
	const own = extensionFormat(path.ext) ?? "jpeg";
	const output = negotiateFormat(own, acceptClass(c.req.header("Accept")), config.autoFormat);
	const settings = derivativeSettings(config, variesByAccept(own, config.autoFormat));
	const keyUrl = cacheKeyUrl(
		origin,
		config.mountPath,
		path.key,
		output === own ? { generation, settings } : { generation, format: output, settings },
	);
	const kept = hot.get(keyUrl);
	if (kept) return finish(c, hotResponse(kept), "HIT");
	const cache = caches.default;
	const generated = performance.now();
	const cached = await cache.match(cacheKeyRequest(keyUrl));
	if (cached?.status === 200) {
		// Small enough to keep in the isolate: the next HIT skips the lookup.
		const length = Number(cached.headers.get("Content-Length"));
		if (length > 0 && length <= hot.maxEntryBytes) {
			const bytes = new Uint8Array(await cached.arrayBuffer());
			hot.put(keyUrl, bytes, cached.headers, Date.now(), hotMaxAgeMs(config, cached.headers));
			return finish(c, new Response(bytes, { headers: cached.headers }), "HIT");
		}
		return finish(c, cached, "HIT");
	}
	// A remembered 404 was for unsigned requests: a signed one may make the size.
	if (cached && !signed) return finish(c, cached, "HIT");

	c.set("negativeCacheKey", keyUrl);
	const storage = storageFor(c);
	const lookupStart = performance.now();
	// Before the lookup: the purge generation (KV, memoised) and the cache lookup.
	const timing: Record<string, number> = {
		kv: generated - started,
		cache: lookupStart - generated,
	};
	// A purge changes the generation, so the next request looks the upload up again.
	const keep = keepAlive(c.executionCtx);
	const meta = await directory.get(
		`${uploadKey}#${generation}`,
		() => lookupUpload(storage, path.dir, path.name, path.ext, config.limits),
		keep,
	);
	timing.r2 = performance.now() - lookupStart;
	const plan = planRender(meta, matchSize(meta, path.width, path.height, config.sizes, signed));
	// Limits come before the expensive work: all are known from the header we
	// probed, before the source is downloaded or decoded. They hold for stored
	// (tier) derivatives too: a source too large to decode now is refused the
	// same way whether or not some size of it was made before.
	assertWithinLimits(meta, plan, config.limits);
	const etag = await derivativeEtag(meta, plan, output, config, generation, settings);
	const headers = new Headers({
		"Content-Type": MIME[output],
		"Cache-Control": config.cacheControl,
		ETag: etag,
		"Last-Modified": meta.source.uploaded.toUTCString(),
		...SECURITY_HEADERS,
	});
	// Every variant says so, the file's own format too: a shared cache must not
	// hand a JPEG-only client the WebP it stored for another.
	if (variesByAccept(own, config.autoFormat)) headers.set("Vary", "Accept");
	// A client that already holds these bytes needs no render at all.
	if (ifNoneMatchHits(c.req.header("If-None-Match") ?? null, etag)) {
		headers.set("X-Cache", "MISS");
		return new Response(null, { status: 304, headers });
	}

	const tier = derivativeTier(c.env, config.limits);
	const tierObject = tierKey(path.key, output, own);
	const record = { etag, generation };
	// Watched, never awaited across requests (see Shared); a waiter gives up
	// after the time the render itself may take.
	const { limits } = config;
	const maxWaitMs = 3 * limits.r2TimeoutMs + 2 * limits.renderBudgetMs;
	let making = inflight.get(keyUrl);
	// Unsettled for longer than any render takes: its starter was cancelled
	// before it could keep it alive. Start afresh.
	if (making?.stale(maxWaitMs)) {
		inflight.delete(keyUrl);
		making = undefined;
	}
	if (making === undefined) {
		const make = async (): Promise<Made> => {
			const tierStart = performance.now();
			const bytes = tier ? await tier.get(tierObject, record) : null;
			if (bytes) {
				const timings = { tier: performance.now() - tierStart };
				return { bytes, contentType: MIME[output], timings, rendered: false };
			}
			// With a tier, the fan-out makes every size from this miss's decode:
			// decode at the scale all of them need, not just this one.
			const fanning = tier !== null && meta.exact;
			const rendered = await renderGate.run(() =>
				renderPlan(storage, meta, plan, output, config, {
					timing,
					onStale: () => directory.forget(meta.uploadKey),
					scale: Math.max(scaleFor(meta, [plan]), fanning ? uploadScale(meta, config) : 0),
				}),
			);
			return { ...rendered, timings: { ...rendered.timings }, rendered: true };
		};
		const shared = new Shared(make());
		making = shared;
		inflight.set(keyUrl, shared);
		// The render belongs to every request waiting for it, not to this one:
		// it runs on if this client goes away, and its entry goes in its own
		// settlement. Misses that arrive after the render but before the cache
		// has it still share it: the entry goes a moment after the put lands.
		keep(
			shared.promise
				.then(async (made) => {
					await cache.put(cacheKeyRequest(keyUrl), storedResponse(made, headers));
					await sleep(INFLIGHT_GRACE_MS);
				})
				.finally(() => {
					if (inflight.get(keyUrl) === shared) inflight.delete(keyUrl);
				}),
		);
		if (tier) {
			// Once the source is decoded, keep this size and make the others.
			// (a failed render is reported through onError, not here)
			const filled = shared.promise.then(
				async (made) => {
					if (!made.rendered) return;
					await tier.put(tierObject, made.bytes, made.contentType, record);
					await fanOut(storage, tier, meta, path, output, config, (key) =>
						generationFor(c.env, config, uploadKey, key),
					);
				},
				() => undefined,
			);
			c.executionCtx.waitUntil(
				filled.catch((err: unknown) => {
					// Background work: the response is already right; say what failed.
					const message = err instanceof Error ? err.message : String(err);
					console.error(JSON.stringify({ level: "error", tier: "put", key: tierObject, message }));
				}),
			);
		}
	}
	let rendered: Made;
	try {
		rendered = await making.get(maxWaitMs);
	} catch (err) {
		// Gave up waiting: nobody is going to settle it; the next miss renders.
		if (err instanceof SharedTimeoutError && inflight.get(keyUrl) === making) {
			inflight.delete(keyUrl);
		}
		throw err;
	}
	const stored = storedResponse(rendered, headers);
	hot.put(keyUrl, rendered.bytes, stored.headers, Date.now(), hotMaxAgeMs(config, stored.headers));
	const response = finish(c, stored, "MISS");
	response.headers.set("Server-Timing", serverTiming({ ...timing, ...rendered.timings }));
	return response;
}

/** A rendered derivative as the edge cache keeps it. */
function storedResponse(
	rendered: { readonly bytes: Uint8Array; readonly contentType: string },
	headers: Headers,
): Response {
	const stored = new Headers(headers);
	stored.set("Content-Type", rendered.contentType);
	stored.set("Content-Length", String(rendered.bytes.byteLength));
	return new Response(rendered.bytes, { status: 200, headers: stored });
}

/** Conditional GET, HEAD and the X-Cache marker, for hits and misses alike. */
export function finish(c: Context<AppEnv>, stored: Response, state: "HIT" | "MISS"): Response {
	const headers = new Headers(stored.headers);
	headers.set("X-Cache", state);
	const etag = headers.get("ETag");
	if (
		etag &&
		stored.status === 200 &&
		ifNoneMatchHits(c.req.header("If-None-Match") ?? null, etag)
	) {
		headers.delete("Content-Length");
		return new Response(null, { status: 304, headers });
	}
	const body = c.req.method === "HEAD" ? null : stored.body;
	return new Response(body, { status: stored.status, headers });
}
