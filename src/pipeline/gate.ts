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
 * jamming the isolate.
 */
import { POLL_MS, sleep } from "../shared";

export interface GateLimits {
	/** Longest a slot is held before it is taken back (ms). */
	readonly leaseMs: number;
}

interface Lease {
	readonly until: number;
}

export class Gate {
	readonly #held = new Set<Lease>();
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
	 * Wait for a free slot. A waiter looks on its own timer instead of being
	 * woken by the holder: a promise resolved from another request's context
	 * would leave this request looking hung to workerd (see src/shared.ts).
	 */
	async #acquire(): Promise<void> {
		for (;;) {
			this.#expire(Date.now());
			if (this.#held.size < this.slots) return;
			await sleep(POLL_MS);
		}
	}

	#expire(now: number): void {
		for (const lease of this.#held) {
			if (lease.until <= now) {
				this.#held.delete(lease);
				this.reclaimed++;
			}
		}
	}
}
