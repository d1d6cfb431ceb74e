/**
 * A counting semaphore for renders. An isolate runs one thread, so two decodes
 * never overlap in time anyway; what concurrent misses DO overlap is memory:
 * every render holds its source bytes, a decoded RGBA copy (4 bytes a pixel)
 * and a resized one. Letting only a few renders in at once bounds the peak by
 * `slots` renders instead of by the number of concurrent cache misses, at no
 * cost in throughput (R2 reads of the next render still overlap the current one).
 */
import { POLL_MS, sleep } from "../shared";

export class Gate {
	#free: number;
	/** Holders right now, and the most there have ever been at once. */
	active = 0;
	peak = 0;

	constructor(readonly slots: number) {
		this.#free = slots;
	}

	async run<T>(work: () => Promise<T>): Promise<T> {
		// A waiter looks for a free slot on its own timer instead of being
		// woken by the holder: a promise resolved from another request's
		// context would leave this request looking hung to workerd (see Shared).
		while (this.#free === 0) await sleep(POLL_MS);
		this.#free--;
		this.active++;
		this.peak = Math.max(this.peak, this.active);
		try {
			return await work();
		} finally {
			this.active--;
			this.#free++;
		}
	}
}
