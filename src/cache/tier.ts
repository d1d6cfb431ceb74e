/**
 * The persistent derivative tier: derivatives already made, kept in their own
 * R2 bucket (`DERIVATIVES`, optional; never the ORIGINALS bucket), so a cold
 * edge cache costs an R2 read instead of a decode. Each object records the
 * ETag it was made as (which covers the source's etag, the geometry and the
 * pipeline settings) and the purge generation it was made for; an object
 * whose record differs from the current one is ignored, never served.
 */
import type { Limits } from "../config";
import { UpstreamError } from "../http/errors";
import { WritableStorage } from "../origin/storage";
import { log } from "../util/log";

export interface TierRecord {
	readonly etag: string;
	readonly generation: number;
}

function matches(object: R2Object, want: TierRecord): boolean {
	const meta = object.customMetadata ?? {};
	return meta.etag === want.etag && meta.generation === String(want.generation);
}

/** A stored object, served only if its record matches the entry's. */
export class TierRead {
	constructor(
		readonly bytes: Uint8Array,
		readonly object: R2Object,
	) {}

	static check(read: TierRead | null, want: TierRecord): Uint8Array | null {
		return read && matches(read.object, want) ? read.bytes : null;
	}
}

export class DerivativeTier {
	constructor(readonly storage: WritableStorage) {}

	/** The stored bytes for `key` if they were made as `want`, else null. */
	async get(key: string, want: TierRecord): Promise<Uint8Array | null> {
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

	/** Whether `key` is already stored as `want` (a HEAD, no body). */
	async has(key: string, want: TierRecord): Promise<boolean> {
		const head = await this.storage.head(key);
		return head !== null && matches(head, want);
	}

	async put(key: string, bytes: Uint8Array, contentType: string, record: TierRecord) {
		await this.storage.put(key, bytes, {
			httpMetadata: { contentType },
			customMetadata: { etag: record.etag, generation: String(record.generation) },
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
