/**
 * The hottest derivatives, kept in the isolate's memory in front of the Cache
 * API: a HIT for one of them needs no cache lookup at all. Keys are the edge
 * cache's own key URLs, which carry the purge generation and the settings
 * hash, so a purge or a settings change makes old entries unreachable as it
 * does in the edge cache; a purge also clears the purging isolate's entries,
 * and an entry lives no longer than the generation memo (other isolates see
 * a purge within that time) nor than Cache-Control lets a shared cache keep
 * it. Bounded by bytes (least recently used go first) and by age.
 */

import { BoundedMap } from "../util/bounded-map";

export interface HotEntry {
	readonly bytes: Uint8Array;
	readonly headers: readonly (readonly [string, string])[];
}

export class HotCache {
	readonly #slots: BoundedMap<HotEntry>;

	constructor(
		/** Most bytes held. */
		readonly budgetBytes = 8 * 2 ** 20,
		/** Larger responses are not kept (they would push out many small ones). */
		readonly maxEntryBytes = 2 ** 20,
		/** How long an entry is served after it was stored (ms). */
		readonly ttlMs = 60_000,
	) {
		this.#slots = new BoundedMap({ maxWeight: budgetBytes });
	}

	get(key: string, now = Date.now()): HotEntry | undefined {
		return this.#slots.get(key, now);
	}

	/**
	 * Keep `bytes` (a 200 response's body) and its headers under `key`, for
	 * at most `maxAgeMs` (and never beyond ttlMs).
	 */
	put(
		key: string,
		bytes: Uint8Array,
		headers: Headers,
		now = Date.now(),
		maxAgeMs = this.ttlMs,
	): void {
		const age = Math.min(this.ttlMs, maxAgeMs);
		if (bytes.byteLength > this.maxEntryBytes || this.budgetBytes <= 0 || !(age > 0)) return;
		this.#slots.set(key, { bytes, headers: [...headers] }, now + age, bytes.byteLength);
	}

	delete(key: string): void {
		this.#slots.delete(key);
	}

	clear(): void {
		this.#slots.clear();
	}

	get heldBytes(): number {
		return this.#slots.weight;
	}
}

/**
 * How long a response may be kept here: not at all when a shared cache may
 * not keep it (no-store, private, no-cache), else its s-maxage or max-age.
 */
export function sharedMaxAgeMs(cacheControl: string | null): number {
	const cc = (cacheControl ?? "").toLowerCase();
	if (/(^|[\s,])(no-store|private|no-cache)\b/.test(cc)) return 0;
	const m = /(?:^|[\s,])s-maxage=(\d+)/.exec(cc) ?? /(?:^|[\s,])max-age=(\d+)/.exec(cc);
	return m ? Number(m[1]) * 1000 : 0;
}

/** A response for a kept entry. */
export function hotResponse(entry: HotEntry): Response {
	return new Response(entry.bytes, { status: 200, headers: new Headers([...entry.headers]) });
}
