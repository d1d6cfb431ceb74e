/**
 * Decoded sources shared within one isolate. Decoding is the one step every
 * size of an upload repeats, so concurrent misses for different sizes of the
 * same upload share one decode, and the pixels are kept briefly for the next
 * size (the queue consumer, or a page asking for its srcset) within a byte budget.
 */
import type { RGBAImage } from "../image/orientation";
import { BoundedMap } from "../util/bounded-map";

interface Entry<T> {
	readonly id: string;
	/** The decode's scale, in eighths of the stored size (see decodeJpeg). */
	readonly scale: number;
	readonly value: Promise<T>;
	/** When the decode started (epoch ms). */
	readonly started: number;
	/** Settled: its pixels are held (the map's weight is their bytes). */
	settled: boolean;
}

/** Anything holding decoded pixels; its size is the pixels' bytes. */
export interface Decoded {
	readonly image: RGBAImage;
}

const pixelBytes = (value: unknown) => (value as Decoded).image.data.byteLength;

export class DecodedSources<T = Decoded> {
	/** Keyed `id@scale`; pending decodes weigh nothing and never expire. */
	readonly #entries: BoundedMap<Entry<T>>;

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
		/** The bytes a settled value holds (default: its decoded pixels). */
		readonly sizeOf: (value: T) => number = pixelBytes,
	) {
		this.#entries = new BoundedMap({ maxWeight: budgetBytes });
	}

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
		this.#entries.prune(now);
		// Pending for too long: its request was cancelled; it will never settle.
		this.#entries.deleteWhere(
			(_, e) => e.id === id && !e.settled && now - e.started > this.maxPendingMs,
		);
		const mine = [...this.#entries.entries()].filter(([, e]) => e.id === id);
		const hit = mine
			.filter(([, e]) => e.scale >= scale)
			.sort(([, a], [, b]) => a.scale - b.scale)[0];
		if (hit) {
			const [key, entry] = hit;
			this.#entries.touch(key, entry.settled ? now + this.ttlMs : Number.POSITIVE_INFINITY);
			return entry.value;
		}
		const smaller = mine.length > 0;
		return this.#start(id, smaller ? Math.max(scale, upgrade()) : scale, decode, now);
	}

	#start(id: string, at: number, decode: (scale: number) => Promise<T>, now: number): Promise<T> {
		const key = `${id}@${at}`;
		const value = decode(at);
		const entry: Entry<T> = { id, scale: at, value, started: now, settled: false };
		this.#entries.set(key, entry, Number.POSITIVE_INFINITY);
		value.then(
			(decoded) => this.#settle(key, entry, this.sizeOf(decoded), now),
			() => {
				if (this.#entries.peek(key) === entry) this.#entries.delete(key);
			},
		);
		return value;
	}

	#settle(key: string, entry: Entry<T>, bytes: number, now: number): void {
		if (this.#entries.peek(key) !== entry) return;
		entry.settled = true;
		// An upgrade serves every size the smaller decodes did: let them go.
		this.#entries.deleteWhere((_, e) => e.id === entry.id && e.scale < entry.scale && e.settled);
		// Waiters already hold the promise; keeping it is only for later requests.
		if (bytes > this.budgetBytes) this.#entries.delete(key);
		else this.#entries.update(key, now + this.ttlMs, bytes);
	}

	/** Bytes of settled pixels held now. */
	get heldBytes(): number {
		return this.#entries.weight;
	}

	/** Forget `value`, a decode of `id`, if it is still held (a waiter gave up on it). */
	drop(id: string, value: Promise<T>): void {
		this.#entries.deleteWhere((_, e) => e.id === id && e.value === value);
	}

	/** Forget every source whose id starts with prefix ("" = all). */
	forget(prefix = ""): void {
		this.#entries.deleteWhere((_, e) => e.id.startsWith(prefix));
	}
}
