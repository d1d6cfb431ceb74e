/**
 * A counting semaphore for renders. An isolate runs one thread, so two decodes
 * never overlap in time anyway; what concurrent misses DO overlap is memory:
 * every render holds its source bytes, a decoded RGBA copy (4 bytes a pixel)
 * and a resized one. Letting only a few renders in at once bounds the peak by
 * `slots` renders instead of by the number of concurrent cache misses, at no
 * cost in throughput (R2 reads of the next render still overlap the current one).
 *
 * Every slot and every place in the queue is a lease with a time limit, not a
 * counter: a holder whose request is cancelled (client gone) never runs its
 * `finally`, so an expired lease is taken back by the next caller instead of
 * jamming the isolate. The queue is bounded, and so is the wait in it.
 */
import { OverloadedError } from "../http/errors";
import { MAX_POLL_MS, POLL_MS, sleep } from "../util/shared";

export interface GateLimits {
	/** Most requests waiting for a slot; past it, an immediate 503. */
	readonly maxWaiters: number;
	/** Longest wait for a slot (ms), then a 503. */
	readonly maxWaitMs: number;
	/** Longest a slot is held before it is taken back (ms). */
	readonly leaseMs: number;
}

interface Lease {
	readonly until: number;
}

export class Gate {
	readonly #held = new Set<Lease>();
	readonly #waiting = new Set<Lease>();
	/** The most holders there have ever been at once (tests reset it). */
	peak = 0;
	/** Slots taken back from holders that outlived their lease. */
	reclaimed = 0;

	constructor(
		readonly slots: number,
		readonly limits: GateLimits,
	) {}

	/** Holders right now. */
	get active(): number {
		this.#expire(Date.now());
		return this.#held.size;
	}

	/** Requests waiting for a slot right now. */
	get waiting(): number {
		this.#expire(Date.now());
		return this.#waiting.size;
	}

	async run<T>(work: () => Promise<T>): Promise<T> {
		await this.#acquire();
		const lease = { until: Date.now() + this.limits.leaseMs };
		this.#held.add(lease);
		this.peak = Math.max(this.peak, this.#held.size);
		try {
			return await work();
		} finally {
			this.#held.delete(lease);
		}
	}

	/**
	 * Wait for a free slot. A waiter looks on its own timer (backing off)
	 * instead of being woken by the holder: a promise resolved from another
	 * request's context would leave this request looking hung to workerd
	 * (see src/util/shared.ts).
	 */
	async #acquire(): Promise<void> {
		const now = Date.now();
		this.#expire(now);
		if (this.#held.size < this.slots) return;
		if (this.#waiting.size >= this.limits.maxWaiters) {
			throw new OverloadedError("Too many images being made; try again shortly", {
				detail: `render gate: ${this.#waiting.size} already waiting`,
			});
		}
		const place = { until: now + this.limits.maxWaitMs };
		this.#waiting.add(place);
		try {
			let pause = POLL_MS;
			for (;;) {
				await sleep(pause);
				pause = Math.min(MAX_POLL_MS, pause * 2);
				const t = Date.now();
				this.#expire(t);
				if (this.#held.size < this.slots) return;
				if (t >= place.until) {
					throw new OverloadedError("Too many images being made; try again shortly", {
						detail: `render gate: no slot within ${this.limits.maxWaitMs} ms`,
					});
				}
			}
		} finally {
			this.#waiting.delete(place);
		}
	}

	#expire(now: number): void {
		for (const lease of this.#held) {
			if (lease.until <= now) {
				this.#held.delete(lease);
				this.reclaimed++;
			}
		}
		for (const place of this.#waiting) if (place.until <= now) this.#waiting.delete(place);
	}
}
