/**
 * Concurrent misses for one derivative share one render (or one tier read).
 * The work belongs to every request waiting for it, not to the one that
 * started it: it runs on if that client goes away, and its entry is removed
 * in its own settlement (a moment after the result is cached, so misses that
 * arrive in between still share it). See util/shared.ts for why waiters
 * watch rather than await.
 */
import { Shared, SharedTimeoutError, sleep } from "../util/shared";

export class Inflight<T> {
	readonly #entries = new Map<string, Shared<T>>();

	constructor(
		/** How long a finished render stays shared after it was stored (ms). */
		readonly graceMs = 1000,
	) {}

	/**
	 * The work for `key`: joined while it runs, else started with `start`;
	 * `stored` runs once it succeeds (the cache put) before the entry goes.
	 * Returns the shared work and the settlement to keep alive (started only).
	 */
	join(
		key: string,
		maxWaitMs: number,
		start: () => Promise<T>,
		stored: (value: T) => Promise<unknown>,
	): { readonly shared: Shared<T>; readonly settled?: Promise<unknown> } {
		const running = this.#entries.get(key);
		// Unsettled for longer than any render takes: its starter was cancelled
		// before it could keep it alive. Start afresh.
		if (running && !running.stale(maxWaitMs)) return { shared: running };
		const shared = new Shared(start());
		this.#entries.set(key, shared);
		const settled = shared.promise
			.then(async (value) => {
				await stored(value);
				await sleep(this.graceMs);
			})
			.finally(() => this.#forget(key, shared));
		return { shared, settled };
	}

	/** The outcome; a waiter that gives up drops the entry so the next miss starts afresh. */
	async wait(key: string, shared: Shared<T>, maxWaitMs: number): Promise<T> {
		try {
			return await shared.get(maxWaitMs);
		} catch (err) {
			if (err instanceof SharedTimeoutError) this.#forget(key, shared);
			throw err;
		}
	}

	clear(): void {
		this.#entries.clear();
	}

	#forget(key: string, shared: Shared<T>): void {
		if (this.#entries.get(key) === shared) this.#entries.delete(key);
	}
}
