/**
 * A lock held by at most one piece of background work per isolate. A holder
 * that never releases it (its request was cut off, and `finally` never ran)
 * loses it after the lease.
 */
export class LeaseLock {
	#until = 0;
	#holder: object | undefined;

	constructor(readonly leaseMs: number) {}

	/** The release function, or undefined when someone else holds the lock. */
	take(now = Date.now()): (() => void) | undefined {
		if (this.#holder !== undefined && this.#until > now) return undefined;
		const holder = {};
		this.#holder = holder;
		this.#until = now + this.leaseMs;
		return () => {
			if (this.#holder === holder) this.#holder = undefined;
		};
	}
}
