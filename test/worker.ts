/**
 * Driving the real handler with a modified environment: extra vars, and an
 * ORIGINALS bucket that records every key it is asked for and can be told to
 * fail. The worker's `fetch` is called directly (same module instance as the
 * test, so `codecStats` and the render gate are the worker's own).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../src/index";

export type Fault =
	| "none"
	/** Every call rejects, as when R2 is down. */
	| "throw"
	/** Every call takes 5 s (set R2_TIMEOUT_MS low). */
	| "slow"
	/** Every GET answers after 300 ms, with a body whose cancellation is recorded. */
	| "late"
	/** Ranged GETs work, a whole-object GET finds nothing (gone since lookup). */
	| "null-full";

export interface Recorder {
	readonly bucket: R2Bucket;
	/** Keys asked for, in order, with how: head, range or full get. */
	readonly reads: { key: string; how: "head" | "range" | "full" }[];
	fault: Fault;
	/** Keys whose body the worker cancelled (fault "late"). */
	readonly cancelled: string[];
}

/** A read-only view of `inner` that records reads and injects faults. */
export function recordingBucket(inner: R2Bucket = env.ORIGINALS): Recorder {
	const recorder: Recorder = {
		reads: [],
		cancelled: [],
		fault: "none",
		bucket: undefined as unknown as R2Bucket,
	};
	const fail = async (): Promise<never> => {
		if (recorder.fault === "slow") await new Promise((r) => setTimeout(r, 5000));
		throw new Error("injected R2 failure");
	};
	const bucket = {
		async head(key: string) {
			recorder.reads.push({ key, how: "head" });
			if (recorder.fault === "throw" || recorder.fault === "slow") return fail();
			return inner.head(key);
		},
		async get(key: string, options?: R2GetOptions) {
			const how = options?.range ? "range" : "full";
			recorder.reads.push({ key, how });
			if (recorder.fault === "throw" || recorder.fault === "slow") return fail();
			if (recorder.fault === "null-full" && how === "full") return null;
			if (recorder.fault === "late") {
				await new Promise((r) => setTimeout(r, 300));
				return observed(await inner.get(key, options), () => recorder.cancelled.push(key));
			}
			return inner.get(key, options);
		},
		// The worker must never write to, list or delete from the uploads bucket.
		put: () => expect.fail("ORIGINALS.put called"),
		delete: () => expect.fail("ORIGINALS.delete called"),
		list: () => expect.fail("ORIGINALS.list called"),
		createMultipartUpload: () => expect.fail("ORIGINALS.createMultipartUpload called"),
		resumeMultipartUpload: () => expect.fail("ORIGINALS.resumeMultipartUpload called"),
	};
	(recorder as { bucket: R2Bucket }).bucket = bucket as unknown as R2Bucket;
	return recorder;
}

/** `object` with a body that reports its cancellation (and can still be read). */
function observed(object: R2ObjectBody | null, onCancel: () => void): R2ObjectBody | null {
	if (!object) return null;
	const reader = object.body.getReader();
	const body = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const { done, value } = await reader.read();
			if (done) controller.close();
			else controller.enqueue(value);
		},
		cancel(reason) {
			onCancel();
			return reader.cancel(reason);
		},
	});
	// Own properties shadow the prototype's getters (assignment would throw).
	return Object.create(object, {
		body: { value: body },
		arrayBuffer: { value: () => new Response(body).arrayBuffer() },
	}) as R2ObjectBody;
}

/** An env for the worker: the test env with some vars replaced. */
export function workerEnv(overrides: Record<string, unknown> = {}): Env {
	return { ...env, ...overrides } as Env;
}

/** One request through the worker's default export, waiting for its waitUntil work. */
export async function call(
	url: string,
	workerEnvironment: Env = env,
	init?: RequestInit,
): Promise<Response> {
	const ctx = createExecutionContext();
	const request = new Request(url, init) as Request<unknown, IncomingRequestCfProperties>;
	const fetch = worker.fetch as NonNullable<typeof worker.fetch>;
	const response = await fetch(request, workerEnvironment, ctx);
	await waitOnExecutionContext(ctx);
	return response;
}

/** A response's body, and that it says nothing about our code or config. */
export async function publicText(res: Response): Promise<string> {
	const text = await res.text();
	expect(text).not.toMatch(/\bat .*\.(ts|js)\b|Error:|wasm|mozjpeg|ExitStatus/i);
	return text;
}
