/**
 * The persistent derivative tier: derivatives already made, kept in their own
 * R2 bucket (`DERIVATIVES`, optional; never the ORIGINALS bucket), so a cold
 * edge cache costs an R2 read instead of a decode. Each object records the
 * ETag it was made as (which covers the source's etag, the geometry and the
 * pipeline settings) and the purge generation it was made for; an object
 * whose record differs from the current one is ignored, never served. A PNG
 * entry also accepts the queue's oxipng copy of its bytes, stored under that
 * copy's own ETag (optimizedEtag), which is then the one answered with.
 */
import type { Limits } from "../config";
import { UpstreamError } from "../http/errors";
import { WritableStorage } from "../origin/storage";
import { log } from "../util/log";

/** What the queue's oxipng pass decided for a PNG object (src/queue/optimize.ts). */
export type OxipngOutcome = "smaller" | "kept" | "too-large";

export interface TierRecord {
	readonly etag: string;
	readonly generation: number;
	/**
	 * PNG objects the queue looked at: "smaller", these are oxipng's bytes
	 * (under their own ETag); otherwise ours were kept. Absent: not looked at
	 * yet (a request's own copy), or not a PNG.
	 */
	readonly oxipng?: OxipngOutcome;
}

/** What an entry accepts from the tier. */
export interface TierWant {
	readonly etag: string;
	readonly generation: number;
	/** A PNG entry's other ETag: the queue's oxipng copy (same pixels, fewer bytes). */
	readonly optimized?: string;
}

/** An object's record, as stored in its custom metadata (null: none). */
function recordOf(object: R2Object | null): TierRecord | null {
	const meta = object?.customMetadata;
	if (!meta?.etag || !meta.generation) return null;
	const oxipng = meta.oxipng as OxipngOutcome | undefined;
	return { etag: meta.etag, generation: Number(meta.generation), ...(oxipng ? { oxipng } : {}) };
}

/** The ETag of the stored bytes if the entry may serve them, else null. */
function accepted(object: R2Object, want: TierWant): string | null {
	const record = recordOf(object);
	if (!record || record.generation !== want.generation) return null;
	const ok = record.etag === want.etag || record.etag === want.optimized;
	return ok ? record.etag : null;
}

/** Bytes from the tier and the ETag they were stored under. */
export interface Stored {
	readonly bytes: Uint8Array;
	readonly etag: string;
}

/** A stored object, served only if its record is one the entry accepts. */
export class TierRead {
	constructor(
		readonly bytes: Uint8Array,
		readonly object: R2Object,
	) {}

	static check(read: TierRead | null, want: TierWant): Stored | null {
		const etag = read && accepted(read.object, want);
		return read && etag ? { bytes: read.bytes, etag } : null;
	}
}

export class DerivativeTier {
	constructor(readonly storage: WritableStorage) {}

	/** The stored bytes for `key` if the entry accepts them, else null. */
	async get(key: string, want: TierWant): Promise<Stored | null> {
		return TierRead.check(await this.read(key), want);
	}

	/**
	 * Whatever is stored under `key`, record not checked yet: a miss starts
	 * this before its upload lookup, so the two R2 round trips overlap.
	 */
	async read(key: string): Promise<TierRead | null> {
		try {
			const read = await this.storage.read(key);
			return read ? new TierRead(read.bytes, read.object) : null;
		} catch (err) {
			// The tier is an optimisation: when it is down, render instead.
			if (!(err instanceof UpstreamError)) throw err;
			log("error", { tier: "get", key, message: err.message });
			return null;
		}
	}

	/** The record stored under `key` (a HEAD, no body), null if none. */
	async record(key: string): Promise<TierRecord | null> {
		return recordOf(await this.storage.head(key));
	}

	async put(key: string, bytes: Uint8Array, contentType: string, record: TierRecord) {
		await this.storage.put(key, bytes, {
			httpMetadata: { contentType },
			customMetadata: {
				etag: record.etag,
				generation: String(record.generation),
				...(record.oxipng ? { oxipng: record.oxipng } : {}),
			},
		});
	}
}

/** The derivative tier, when a DERIVATIVES bucket is bound. */
export function derivativeTier(env: Env, limits: Limits): DerivativeTier | null {
	const bucket = (env as { DERIVATIVES?: R2Bucket }).DERIVATIVES;
	return bucket ? new DerivativeTier(new WritableStorage(bucket, limits.r2TimeoutMs)) : null;
}

/**
 * The tier's object key for a derivative in an output format: its own key in
 * the file's own format, with the format appended for a negotiated variant
 * (`photo-730x487.jpeg` and `photo-730x487.jpeg.webp`).
 */
export function tierKey(key: string, output: string, own: string): string {
	return output === own ? key : `${key}.${output}`;
}
