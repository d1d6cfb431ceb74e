/**
 * The one bounded map behind every per-isolate memory (upload lookups, purge
 * generations, hot derivatives, decoded sources): least recently used first
 * out, bounded in count and in weight (bytes), each entry with its own expiry.
 * An isolate lives for many requests, so nothing it remembers may grow
 * without bound.
 */
interface Slot<V> {
	value: V;
	expires: number;
	weight: number;
}

export interface BoundedMapLimits {
	/** Most entries kept. */
	readonly maxEntries?: number;
	/** Most total weight kept; entries of weight 0 (work still pending) never count. */
	readonly maxWeight?: number;
}

export class BoundedMap<V> {
	readonly #slots = new Map<string, Slot<V>>();
	#weight = 0;

	constructor(readonly limits: BoundedMapLimits = {}) {}

	/** The live value under `key`, made most recently used; an expired one is dropped. */
	get(key: string, now = Date.now()): V | undefined {
		const slot = this.#live(key, now);
		if (!slot) return undefined;
		this.#slots.delete(key);
		this.#slots.set(key, slot);
		return slot.value;
	}

	/** The live value under `key`, leaving its recency alone. */
	peek(key: string, now = Date.now()): V | undefined {
		return this.#live(key, now)?.value;
	}

	/** Keep `value` until `expires` (epoch ms), most recently used; evicts past the limits. */
	set(key: string, value: V, expires: number, weight = 0): void {
		this.delete(key);
		this.#slots.set(key, { value, expires, weight });
		this.#weight += weight;
		this.#evict();
	}

	/** Make an entry most recently used, with a new expiry. */
	touch(key: string, expires: number): void {
		const slot = this.#slots.get(key);
		if (!slot) return;
		slot.expires = expires;
		this.#slots.delete(key);
		this.#slots.set(key, slot);
	}

	/** Change an entry's expiry and weight (a pending decode that settled); evicts past the limits. */
	update(key: string, expires: number, weight: number): void {
		const slot = this.#slots.get(key);
		if (!slot) return;
		this.#weight += weight - slot.weight;
		slot.expires = expires;
		slot.weight = weight;
		this.#evict();
	}

	delete(key: string): boolean {
		const slot = this.#slots.get(key);
		if (!slot) return false;
		this.#slots.delete(key);
		this.#weight -= slot.weight;
		return true;
	}

	/** Delete every entry `drop` picks; returns how many went. */
	deleteWhere(drop: (key: string, value: V) => boolean): number {
		let n = 0;
		for (const [key, slot] of [...this.#slots]) {
			if (drop(key, slot.value) && this.delete(key)) n++;
		}
		return n;
	}

	/** Drop every expired entry. */
	prune(now = Date.now()): void {
		for (const [key, slot] of [...this.#slots]) if (slot.expires <= now) this.delete(key);
	}

	/** Entries, least recently used first (expired ones included until pruned). */
	*entries(): IterableIterator<[string, V]> {
		for (const [key, slot] of this.#slots) yield [key, slot.value];
	}

	clear(): void {
		this.#slots.clear();
		this.#weight = 0;
	}

	get size(): number {
		return this.#slots.size;
	}

	/** Total weight held now. */
	get weight(): number {
		return this.#weight;
	}

	#live(key: string, now: number): Slot<V> | undefined {
		const slot = this.#slots.get(key);
		if (slot && slot.expires <= now) {
			this.delete(key);
			return undefined;
		}
		return slot;
	}

	#evict(): void {
		const { maxEntries = Number.POSITIVE_INFINITY, maxWeight = Number.POSITIVE_INFINITY } =
			this.limits;
		for (const [key, slot] of this.#slots) {
			const over = this.#slots.size > maxEntries;
			if (!over && this.#weight <= maxWeight) break;
			if (over || slot.weight > 0) this.delete(key);
		}
	}
}
