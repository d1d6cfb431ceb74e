/**
 * Results shared by concurrent requests of one isolate (a lookup, a render, a
 * codec instance, a render slot).
 *
 * workerd ties a pending promise to the request that created it. A request
 * that awaits ANOTHER request's pending promise has no I/O of its own in
 * flight, so the runtime decides it has hung and cancels it ("The Workers
 * runtime canceled this request because it detected that your Worker's code
 * had hung"); under vitest it simply never finishes. So a waiter never awaits
 * someone else's promise: `Shared` records the outcome in plain fields when
 * the work settles, and `get()` watches them from the caller's own request,
 * sleeping on its own timer between looks. A settled result costs no wait.
 */
import { UpstreamError } from "./errors";

/** How often a waiter looks (ms): well under a render, above timer noise. */
export const POLL_MS = 4;

type Outcome<T> =
	| { readonly ok: true; readonly value: T }
	| { readonly ok: false; readonly error: unknown };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Shared<T> {
	#outcome: Outcome<T> | undefined;

	constructor(readonly promise: Promise<T>) {
		promise.then(
			(value) => {
				this.#outcome = { ok: true, value };
			},
			(error: unknown) => {
				this.#outcome = { ok: false, error };
			},
		);
	}

	get settled(): boolean {
		return this.#outcome !== undefined;
	}

	/** The outcome, from any request; a 503 if it takes longer than `maxWaitMs`. */
	async get(maxWaitMs: number): Promise<T> {
		const deadline = Date.now() + maxWaitMs;
		while (this.#outcome === undefined) {
			if (Date.now() > deadline) {
				throw new UpstreamError("Timed out waiting for a concurrent request", {
					detail: `shared work unsettled after ${maxWaitMs} ms`,
					timeout: true,
				});
			}
			await sleep(POLL_MS);
		}
		if (this.#outcome.ok) return this.#outcome.value;
		throw this.#outcome.error;
	}
}

const watched = new WeakMap<Promise<unknown>, Shared<unknown>>();

/**
 * A value, or a promise another request may have created, waited for from
 * this request's own context (see Shared). Each promise gets one watcher.
 */
export function watch<T>(value: T | Promise<T>, maxWaitMs: number): Promise<T> {
	if (!(value instanceof Promise)) return Promise.resolve(value);
	let shared = watched.get(value) as Shared<T> | undefined;
	if (!shared) {
		shared = new Shared(value);
		watched.set(value, shared);
	}
	return shared.get(maxWaitMs);
}
