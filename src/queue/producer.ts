/**
 * The producer side: a miss that rendered its own size asks the work queue to
 * make the upload's other sizes (and the formats negotiation may serve), at
 * most once per upload, purge generation and formats in this isolate. Without
 * a DERIVATIVE_QUEUE binding nothing is sent (no fan-out at all).
 */
import type { Config } from "../config";
import { type AcceptClass, negotiateFormat } from "../http/negotiate";
import type { OutputFormat } from "../image/formats";
import { extensionFormat } from "../origin/extensions";
import { ENQUEUED_MEMO_MS, enqueued, queueStats } from "../state";
import { log } from "../util/log";
import type { SizesJob } from "./messages";

const CLASSES: readonly AcceptClass[] = ["neither", "webp", "avif"];

/** The work queue, when bound. */
export function workQueue(env: Env): Queue<unknown> | undefined {
	return (env as { DERIVATIVE_QUEUE?: Queue<unknown> }).DERIVATIVE_QUEUE;
}

/** Every format an upload's sizes may be served in under this config (own format first). */
export function servedFormats(uploadKey: string, config: Config): OutputFormat[] {
	const own = extensionFormat(uploadKey.slice(uploadKey.lastIndexOf(".") + 1)) ?? "jpeg";
	return [...new Set(CLASSES.map((a) => negotiateFormat(own, a, config.autoFormat)))];
}

/**
 * Send the upload's sizes job unless this isolate already did. Never throws:
 * a failed send is logged and forgotten, so a later miss tries again.
 */
export async function enqueueSizes(
	env: Env,
	config: Config,
	upload: string,
	generation: number,
): Promise<boolean> {
	const queue = workQueue(env);
	if (!queue) return false;
	const formats = servedFormats(upload, config);
	const memo = `${upload}#${generation}#${formats.join(",")}`;
	if (enqueued.get(memo)) return false;
	enqueued.set(memo, true, Date.now() + ENQUEUED_MEMO_MS);
	const job: SizesJob = { type: "sizes", upload, generation, formats };
	try {
		await queue.send(job, { contentType: "json" });
		queueStats.sent++;
		return true;
	} catch (err) {
		enqueued.delete(memo);
		log("error", {
			queue: "send",
			upload,
			message: err instanceof Error ? err.message : String(err),
		});
		return false;
	}
}
