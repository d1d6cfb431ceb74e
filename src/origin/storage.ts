/**
 * R2 access with a time budget. R2 failures become UpstreamError (502, or 503
 * on a time-out) so they reach the client as retryable and are never cached.
 */
import { SourceChangedError, UpstreamError } from "../http/errors";

/** Set once a call's time budget ran out: whatever arrives later is unwanted. */
export interface Late {
	readonly expired: boolean;
}

/**
 * Cancel an R2 object's body nobody will read, so its bytes stop coming (and
 * the connection is let go) instead of streaming into the void.
 */
export function discard(value: unknown): void {
	if (value === null || typeof value !== "object" || !("body" in value)) return;
	const body = (value as { body: unknown }).body;
	if (body instanceof ReadableStream && !body.locked) body.cancel().catch(() => undefined);
}

function withTimeout<T>(work: (late: Late) => Promise<T>, ms: number, what: string): Promise<T> {
	let timer: number | null = null;
	const late = { expired: false };
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			late.expired = true;
			reject(
				new UpstreamError("Storage timed out", { detail: `${what}: >${ms} ms`, timeout: true }),
			);
		}, ms);
	});
	// (a synchronous throw becomes a rejection, so the timer is always cleared)
	const running = Promise.resolve(late).then(work);
	// An answer after the time-out is dropped: cancel a body it carries.
	running.then(
		(value) => {
			if (late.expired) discard(value);
		},
		() => undefined,
	);
	return Promise.race([running, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Run one storage call (R2 or KV) with a time budget; any failure becomes an
 * UpstreamError. `work` may look at `late.expired` to stop early (e.g. not
 * download a body that arrived after the time-out).
 */
export async function guarded<T>(
	work: (late: Late) => Promise<T>,
	ms: number,
	what: string,
): Promise<T> {
	try {
		return await withTimeout(work, ms, what);
	} catch (err) {
		if (err instanceof UpstreamError) throw err;
		throw new UpstreamError("Storage unavailable", {
			cause: err,
			detail: `${what}: ${String(err)}`,
		});
	}
}

export class Storage {
	constructor(
		readonly bucket: R2Bucket,
		readonly timeoutMs: number,
	) {}

	/**
	 * The whole object, read into memory, or null when it does not exist. With
	 * `etag`, only that version is read: a different one throws a 503 (the
	 * caller's idea of the object is stale; a retry will look again) before its
	 * bytes are downloaded.
	 */
	async read(key: string, etag?: string): Promise<{ object: R2Object; bytes: Uint8Array } | null> {
		return guarded(
			async (late) => {
				const object = await this.bucket.get(key, etag ? { onlyIf: { etagMatches: etag } } : {});
				if (!object) return null;
				if (late.expired) {
					discard(object);
					return null;
				}
				if (!("body" in object) || (etag !== undefined && object.etag !== etag)) {
					throw new SourceChangedError(`get ${key}: etag ${object.etag}, expected ${etag}`);
				}
				return { object, bytes: new Uint8Array(await object.arrayBuffer()) };
			},
			this.timeoutMs,
			`get ${key}`,
		);
	}

	/**
	 * The first `length` bytes (fewer if the object is shorter), or null when
	 * it does not exist, in ONE ranged get (R2 clamps a range past the end). An
	 * empty object yields an empty prefix: R2 refuses every range of a
	 * zero-byte object (416, or a bare error from miniflare), so only then does
	 * a HEAD tell "empty" from "R2 failed".
	 */
	async readPrefix(
		key: string,
		length: number,
	): Promise<{ object: R2Object; bytes: Uint8Array } | null> {
		return guarded(
			async (late) => {
				let object: R2ObjectBody | null;
				try {
					object = await this.bucket.get(key, { range: { offset: 0, length } });
				} catch (err) {
					const head = await this.bucket.head(key);
					if (head?.size === 0) return { object: head, bytes: new Uint8Array(0) };
					throw err;
				}
				if (!object) return null;
				if (late.expired) {
					discard(object);
					return null;
				}
				return { object, bytes: new Uint8Array(await object.arrayBuffer()) };
			},
			this.timeoutMs,
			`range ${key}`,
		);
	}

	async head(key: string): Promise<R2Object | null> {
		return guarded(() => this.bucket.head(key), this.timeoutMs, `head ${key}`);
	}

	/** Stream an object as stored (for originals asked for by their own name). */
	async stream(key: string, options?: R2GetOptions): Promise<R2Object | R2ObjectBody | null> {
		return guarded(() => this.bucket.get(key, options), this.timeoutMs, `get ${key}`);
	}

	/** One page of keys under a prefix (at most `limit`), for listings that stay bounded. */
	async list(prefix: string, limit: number): Promise<string[]> {
		return guarded(
			async () => (await this.bucket.list({ prefix, limit })).objects.map((o) => o.key),
			this.timeoutMs,
			`list ${prefix}`,
		);
	}
}

/**
 * Storage the worker may write to. Only ever built on the DERIVATIVES bucket;
 * the ORIGINALS bucket is wrapped in plain read-only `Storage`.
 */
export class WritableStorage extends Storage {
	async put(key: string, bytes: Uint8Array, options: R2PutOptions): Promise<void> {
		await guarded(() => this.bucket.put(key, bytes, options), this.timeoutMs, `put ${key}`);
	}
}
