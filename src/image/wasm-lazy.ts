/**
 * The holder every WASM module lives in (`Lazy`), and the one registry that
 * names them all — jpeg, resize, png, oxipng, webp-decode, webp-encode, avif-decode,
 * avif-encode — so
 * one reset (resetCodecs) and one memory report (wasmMemory, wasmPeakMemory)
 * cover every codec.
 * Each module is instantiated once per isolate from a statically imported
 * `.wasm` module (workerd cannot compile WASM from bytes at run time), through
 * a promise that is cleared if it rejects. A call that throws (a trap, out of
 * memory, a codec's error exit) drops that instance, so the next request gets
 * a fresh one instead of a poisoned heap.
 */
import { ImageError, InternalError, OverloadedError, UnprocessableError } from "../http/errors";
import { Shared, SharedTimeoutError } from "../util/shared";

/** Counters the tests and the bench read: how much real work was done. */
export const codecStats = {
	decodes: 0,
	/** Pixels JPEG decodes produced (a scaled decode makes fewer). */
	decodedPixels: 0,
	resizes: 0,
	/** Of those, resizes from rows that arrived asynchronously (a PNG streamed as it is inflated). */
	asyncResizes: 0,
	encodes: 0,
	/** oxipng runs (the queue's background pass over PNG sizes). */
	optimizations: 0,
	instantiations: 0,
	/** Codec calls that threw (the instance was dropped). */
	traps: 0,
	/** Instances dropped because their heap grew past KEEP_HEAP_BYTES. */
	shed: 0,
};

/**
 * A WASM heap only ever grows, and the instance keeps it for the isolate's
 * life: after one 8-megapixel render the three codecs would hold ~200 MiB,
 * more than a Worker's 128 MiB. An instance whose heap ends a call above this
 * is dropped (the garbage collector reclaims it) and the next call makes a
 * small one, which costs a few milliseconds next to such a render.
 */
export const KEEP_HEAP_BYTES = 32 * 2 ** 20;

/**
 * Longest a call waits for an instance being created (by any request). It
 * takes milliseconds; one still pending after this was started by a request
 * that was cancelled, and is replaced.
 */
const CREATE_WAIT_MS = 10_000;

/** Every codec instance, by name: what wasmMemory() reports and resetCodecs() resets. */
const registry = new Map<string, Lazy<unknown>>();

/** A lazily created WASM instance that can be thrown away after a trap. */
export class Lazy<T> {
	#instance: Shared<T> | undefined;
	/** The created instance, once there is one (for the memory report). */
	#ready: T | undefined;
	/** Largest heap any of this codec's instances reached (bytes). */
	peakHeap = 0;
	constructor(
		/** Its key in the registry (wasmMemory, wasmPeakMemory, resetCodecs); unique. */
		readonly name: string,
		readonly create: () => Promise<T>,
		/** The instance's heap size; without one it is never shed. */
		readonly heapBytes: (instance: T) => number = () => 0,
	) {
		if (registry.has(name)) throw new Error(`WASM codec "${name}" registered twice`);
		registry.set(name, this as Lazy<unknown>);
	}

	/** The current instance's handle, made on first use (cleared if creation fails). */
	#current(): Shared<T> {
		if (!this.#instance || this.#instance.stale(CREATE_WAIT_MS)) {
			codecStats.instantiations++;
			const created = this.create();
			const shared = new Shared(created);
			this.#instance = shared;
			created.then(
				(instance) => {
					if (this.#instance === shared) this.#ready = instance;
				},
				() => {
					if (this.#instance === shared) this.#instance = undefined;
				},
			);
		}
		return this.#instance;
	}

	/** The instance; one another request is still creating is watched, not awaited. */
	get(): Promise<T> {
		return this.#wait(this.#current());
	}

	/** The current instance's heap (bytes), 0 if there is none; never creates one. */
	currentHeap(): number {
		return this.#ready === undefined ? 0 : this.heapBytes(this.#ready);
	}

	/** Wait for `pending`; one that never settles is dropped for the next caller. */
	async #wait(pending: Shared<T>): Promise<T> {
		try {
			return await pending.get(CREATE_WAIT_MS);
		} catch (err) {
			if (err instanceof SharedTimeoutError && this.#instance === pending) this.reset();
			throw err;
		}
	}

	/** Forget the instance; the next get() makes a new one. */
	reset(): void {
		this.#instance = undefined;
		this.#ready = undefined;
	}

	/**
	 * Run fn on the instance; if anything is thrown out of it, discard the
	 * instance and rethrow. Besides real traps (RuntimeError, RangeError on
	 * OOM), libjpeg's error_exit leaves through the imported `fail`, which
	 * throws a LibjpegError through the WASM frames (and a Rust panic throws
	 * likewise): the C stack pointer and the codec's heap allocations are then
	 * never restored, so the instance is no longer trusted.
	 */
	async use<R>(fn: (instance: T) => R | Promise<R>): Promise<R> {
		const { instance, release } = await this.hold();
		let failed = true;
		try {
			const out = await fn(instance);
			failed = false;
			return out;
		} finally {
			release(failed);
		}
	}

	/**
	 * The instance, held until release() (use, spread over calls: a decoder
	 * that awaits its input between them). release(true) after a throw drops
	 * it as use does; either way its heap is counted and shed if too big.
	 */
	async hold(): Promise<{ instance: T; release: (failed: boolean) => void }> {
		const pending = this.#current();
		const instance = await this.#wait(pending);
		return { instance, release: (failed) => this.#release(pending, instance, failed) };
	}

	#release(pending: Shared<T>, instance: T, failed: boolean): void {
		if (failed) {
			codecStats.traps++;
			// Only if no one has replaced it since (another request's trap).
			if (this.#instance === pending) this.reset();
		}
		const heap = this.heapBytes(instance);
		this.peakHeap = Math.max(this.peakHeap, heap);
		if (heap > KEEP_HEAP_BYTES && this.#instance === pending) {
			codecStats.shed++;
			this.reset();
		}
	}
}

/** The heap of an Emscripten module (jSquash's codecs, e.g. the WebP encoder). */
export const emscriptenHeap = (m: unknown) => (m as { HEAP8: Int8Array }).HEAP8.buffer.byteLength;

/** Current WASM heap of every codec that has an instance (bytes; 0 if none). */
export function wasmMemory(): Record<string, number> {
	return Object.fromEntries([...registry].map(([name, codec]) => [name, codec.currentHeap()]));
}

/** The largest heap each codec has reached in this isolate (bytes). */
export function wasmPeakMemory(): Record<string, number> {
	return Object.fromEntries([...registry].map(([name, codec]) => [name, codec.peakHeap]));
}

/** Test hook: drop every instance, as after a trap, and forget the peaks. */
export function resetCodecs(): void {
	for (const codec of registry.values()) {
		codec.reset();
		codec.peakHeap = 0;
	}
}

/** What a codec threw, for the log line: a WASM module may throw anything. */
export function describe(step: string, err: unknown): string {
	if (err instanceof Error) return `${step}: ${err.name}: ${err.message}`;
	const name = (err as { name?: unknown } | null)?.name;
	return `${step}: ${String(name ?? typeof err)}`;
}

/**
 * Out of memory: a heap that could not grow (RangeError from JS, a failed
 * allocation reported by the codec or libjpeg's "Insufficient memory", or
 * Emscripten's abort("OOM")). That is
 * this isolate's state, not the file's fault.
 */
export function isOutOfMemory(err: unknown): boolean {
	if (err instanceof RangeError) return true;
	return (
		err instanceof Error &&
		/out of memory|insufficient memory|\bOOM\b|Cannot enlarge memory/i.test(err.message)
	);
}

/**
 * The typed error for a codec call that threw (the status policy): out of
 * memory is a 503 to retry; otherwise, decoding the source's bytes failed
 * because of those bytes (422), while encoding or resizing pixels we made
 * failing is our bug (500). `step` goes in the log line only.
 */
export function codecError(
	err: unknown,
	blame: "source" | "ours",
	publicMessage: string,
	step: string,
): ImageError {
	if (err instanceof ImageError) return err;
	const options = { cause: err, detail: describe(step, err) };
	if (isOutOfMemory(err)) return new OverloadedError("Busy, try again shortly", options);
	if (blame === "source") return new UnprocessableError(publicMessage, options);
	return new InternalError(publicMessage, options);
}
