/**
 * Everything this isolate remembers between requests, in one place: route
 * modules import it, and `resetState()` empties it (tests, the bench).
 */
import { Generations } from "./cache/generation";
import { HotCache } from "./cache/hot";
import type { Config } from "./config";
import { lookupUpload, UploadDirectory, type UploadMeta } from "./origin/lookup";
import { Storage } from "./origin/storage";
import { Gate } from "./render/gate";
import { Inflight } from "./render/inflight";
import type { DecodedSource } from "./render/pipeline";
import { DecodedSources } from "./render/sources";
import { type UploadName, uploadKeys } from "./url/path";
import { BoundedMap } from "./util/bounded-map";
import type { KeepAlive } from "./util/shared";

/** Lookups of uploads (three ranged R2 reads each), shared by every request. */
export const directory = new UploadDirectory();

/** Purge generations this isolate has read (or written, when a purge ran here). */
export const generations = new Generations();

/** The isolate's hottest derivatives, in front of the Cache API (see cache/hot.ts). */
export const hot = new HotCache();

/** Decoded sources shared by every size being made from them (see render/sources.ts). */
export const sources = new DecodedSources<DecodedSource>();

/**
 * Compressed originals shared by the streamed sizes of a big JPEG (a few
 * seconds). 32 MiB holds the largest file MAX_SOURCE_BYTES lets through.
 */
export const streamedOriginals = new DecodedSources<Uint8Array>(
	32 * 2 ** 20,
	10_000,
	60_000,
	(bytes) => bytes.byteLength,
);

/** A derivative being made, shared by every miss for it. */
export interface Made {
	readonly bytes: Uint8Array;
	readonly contentType: string;
	readonly timings: Record<string, number>;
	/** Rendered here (false: read back from the derivative tier). */
	readonly rendered: boolean;
	/**
	 * The bytes' ETag when not the entry's own: a PNG's oxipng copy, read
	 * back from the tier (src/queue/optimize.ts).
	 */
	readonly etag?: string;
	/**
	 * Set when the bytes are not the entry asked for but a stand-in (the WebP
	 * for an AVIF not made yet): its own headers (ETag, a short Cache-Control)
	 * and tier object.
	 */
	readonly standIn?: { readonly headers: Headers; readonly tierKey: string; readonly etag: string };
}

/** Concurrent misses for one derivative share one render (see render/inflight.ts). */
export const inflight = new Inflight<Made>();

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

/**
 * Uploads (at a purge generation, in a set of formats) whose "make the other
 * sizes" job this isolate already sent to the work queue: sent at most once.
 * Forgotten after a day, so an upload whose job was lost is asked for again.
 */
export const enqueued = new BoundedMap<true>({ maxEntries: 10_000 });
/** Work-queue counters (the bench waits on them for an idle isolate). */
export const queueStats = { sent: 0, handled: 0, active: 0 };

/** How long `enqueued` remembers a job (ms). */
export const ENQUEUED_MEMO_MS = 24 * 3600_000;

/** Forget everything this isolate remembers. */
export function resetState(): void {
	directory.forget("");
	generations.clear();
	hot.clear();
	sources.forget();
	streamedOriginals.forget();
	inflight.clear();
	enqueued.clear();
}

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
	const memoMs = config.generationMemoMs;
	return generations.current(env.PURGE_STATE, uploadKey, key, memoMs, Date.now(), keep);
}

/**
 * The upload's lookup, remembered per purge generation: a purge makes the
 * next request look it up again. Shared by serving and the size table.
 */
export function findUpload(
	env: Env,
	config: Config,
	upload: UploadName,
	generation: number,
	keep?: KeepAlive,
): Promise<UploadMeta> {
	const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
	return directory.get(
		`${uploadKeys(upload).upload}#${generation}`,
		() => lookupUpload(storage, upload, config),
		keep,
	);
}
