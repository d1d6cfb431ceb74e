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
 *
 * The request that STARTED the work can be cancelled too (its client went
 * away): its pending I/O then never settles and its `finally` blocks never
 * run. So shared work is kept alive by its starter's `waitUntil` (see
 * `keepAlive`), cleans up in its own settlement rather than in its starter's
 * code, and a waiter that times out treats the entry as stale and evicts it.
 */
import { UpstreamError } from "../http/errors";

/** How often a waiter first looks (ms): well under a render, above timer noise. */
export const POLL_MS = 4;
/** Waiters back off to this pause between looks (ms). */
export const MAX_POLL_MS = 32;

/** Hands shared work to the runtime so it outlives its starter's client. */
export type KeepAlive = (work: Promise<unknown>) => void;

/**
 * `ctx.waitUntil`, for shared work: the runtime keeps running it after the
 * starting request's client disconnects (the request itself is cancelled
 * then, and so would everything it started be). Rejections are the waiters'
 * business, not the runtime's.
 */
export function keepAlive(ctx: { waitUntil(promise: Promise<unknown>): void }): KeepAlive {
	return (work) => ctx.waitUntil(work.catch(() => undefined));
}

type Outcome<T> =
	| { readonly ok: true; readonly value: T }
	| { readonly ok: false; readonly error: unknown };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A timer turn between background steps. While promises chain on local I/O a
 * request sharing the isolate is not let in; measured under `wrangler dev`, a
 * PNG upload's queue job (five oxipng passes) held the status route 2.0-2.4 s.
 * Yielding before each render and oxipng pass bounds the wait to one step.
 */
export const yieldToRequests = () => sleep(0);

export class Shared<T> {
	#outcome: Outcome<T> | undefined;
	/** When the work started (epoch ms). */
	readonly started = Date.now();

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

	/**
	 * Still unsettled after `maxAgeMs`: whoever started it was most likely
	 * cancelled, and it will never settle. A new request starts afresh.
	 */
	stale(maxAgeMs: number, now = Date.now()): boolean {
		return this.#outcome === undefined && now - this.started > maxAgeMs;
	}

	/** The outcome, from any request; a 503 if it takes longer than `maxWaitMs`. */
	async get(maxWaitMs: number): Promise<T> {
		const deadline = Date.now() + maxWaitMs;
		let pause = POLL_MS;
		while (this.#outcome === undefined) {
			if (Date.now() > deadline) {
				throw new SharedTimeoutError(maxWaitMs);
			}
			await sleep(pause);
			pause = Math.min(MAX_POLL_MS, pause * 2);
		}
		if (this.#outcome.ok) return this.#outcome.value;
		throw this.#outcome.error;
	}
}

/** A waiter gave up on shared work: the caller should evict the entry it waited on. */
export class SharedTimeoutError extends UpstreamError {
	constructor(maxWaitMs: number) {
		super("Timed out waiting for a concurrent request", {
			detail: `shared work unsettled after ${maxWaitMs} ms`,
			timeout: true,
		});
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
