/**
 * Decoded sources shared within one isolate. Decoding is the one step every
 * size of an upload repeats, so concurrent misses for different sizes of the
 * same upload share one decode, and the pixels are kept briefly for the next
 * size (the fan-out, or a page asking for its srcset) within a byte budget.
 */
import type { RGBAImage } from "../image/orientation";

interface Entry<T> {
	readonly id: string;
	/** The decode's scale, in eighths of the stored size (see decodeJpeg). */
	readonly scale: number;
	readonly value: Promise<T>;
	/** Bytes held once decoded; 0 while pending. */
	bytes: number;
	expires: number;
	/** When the decode started (epoch ms). */
	readonly started: number;
}

/**
 * Anything holding decoded pixels (its size is the pixels' bytes), or a
 * source read row by row on each use (its size is what it holds, the file).
 */
export type Decoded = { readonly image: RGBAImage } | { readonly heldBytes: number };

const heldBy = (decoded: Decoded) =>
	"image" in decoded ? decoded.image.data.byteLength : decoded.heldBytes;

export class DecodedSources<T extends Decoded = Decoded> {
	readonly #entries = new Map<string, Entry<T>>();

	constructor(
		/** Most decoded bytes kept after their decode settles. */
		readonly budgetBytes = 48 * 1024 * 1024,
		/** How long settled pixels are kept after their last use. */
		readonly ttlMs = 10_000,
		/**
		 * A decode still pending after this was started by a request that was
		 * cancelled (client gone) and will never settle: it is replaced.
		 */
		readonly maxPendingMs = 60_000,
	) {}

	/**
	 * The decoded pixels for `id` (which must change when the source's bytes
	 * do, e.g. key + etag) at `scale` eighths of the stored size or more:
	 * shared with a decode already running or kept at that scale or a larger
	 * one (the smallest such), else made by `decode(scale)`; or by
	 * `decode(upgrade())` when a smaller decode of `id` is already running or
	 * kept (several sizes of one upload are wanted: one decode at that scale,
	 * enough for all of them, serves the rest). `upgrade` is asked only then.
	 */
	get(
		id: string,
		scale: number,
		decode: (scale: number) => Promise<T>,
		now = Date.now(),
		upgrade: () => number = () => scale,
	): Promise<T> {
		this.#evict(now);
		let hit: [string, Entry<T>] | undefined;
		let smaller = false;
		for (const [key, entry] of this.#entries) {
			if (entry.id !== id) continue;
			if (entry.bytes === 0 && now - entry.started > this.maxPendingMs) {
				this.#entries.delete(key);
			} else if (entry.scale < scale) {
				smaller = true;
			} else if (!hit || entry.scale < hit[1].scale) {
				hit = [key, entry];
			}
		}
		if (hit) {
			const [key, entry] = hit;
			entry.expires = now + this.ttlMs;
			this.#entries.delete(key);
			this.#entries.set(key, entry);
			return entry.value;
		}
		const at = smaller ? Math.max(scale, upgrade()) : scale;
		const key = `${id}@${at}`;
		const value = decode(at);
		const entry: Entry<T> = {
			id,
			scale: at,
			value,
			bytes: 0,
			expires: now + this.ttlMs,
			started: now,
		};
		this.#entries.set(key, entry);
		value.then(
			(decoded) => {
				if (this.#entries.get(key) !== entry) return;
				// (at least 1: 0 marks a decode still pending)
				entry.bytes = Math.max(1, heldBy(decoded));
				// An upgrade serves every size the smaller decodes did: let them go.
				for (const [k, other] of this.#entries) {
					if (other.id === id && other.scale < at && other.bytes > 0) this.#entries.delete(k);
				}
				// Waiters already hold the promise; keeping it is only for later requests.
				if (entry.bytes > this.budgetBytes) this.#entries.delete(key);
				else this.#evict(now);
			},
			() => {
				if (this.#entries.get(key) === entry) this.#entries.delete(key);
			},
		);
		return value;
	}

	/** Bytes of settled pixels held now. */
	get heldBytes(): number {
		let n = 0;
		for (const entry of this.#entries.values()) n += entry.bytes;
		return n;
	}

	/** Forget `value`, a decode of `id`, if it is still held (a waiter gave up on it). */
	drop(id: string, value: Promise<T>): void {
		for (const [key, entry] of this.#entries) {
			if (entry.id === id && entry.value === value) this.#entries.delete(key);
		}
	}

	/** Forget every source whose id starts with prefix ("" = all). */
	forget(prefix = ""): void {
		for (const [key, entry] of [...this.#entries]) {
			if (entry.id.startsWith(prefix)) this.#entries.delete(key);
		}
	}

	#evict(now: number): void {
		for (const [id, entry] of this.#entries) {
			if (entry.bytes > 0 && entry.expires <= now) this.#entries.delete(id);
		}
		let held = this.heldBytes;
		// Map order is recency order: drop the least recently used settled entries.
		for (const [id, entry] of this.#entries) {
			if (held <= this.budgetBytes) break;
			if (entry.bytes === 0) continue;
			this.#entries.delete(id);
			held -= entry.bytes;
		}
	}
}
