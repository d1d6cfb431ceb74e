/**
 * The work queue's consumer (the worker's `queue()` handler): our own sizes
 * jobs and R2 bucket events, told apart by shape (messages.ts). Messages for
 * one upload are handled together, one upload at a time (each holds decoded
 * pixels). A message that can never succeed (malformed, or an upload that is
 * missing, too large or undecodable) is acknowledged with one log line; a
 * transient failure is retried, at most max_retries times (wrangler.jsonc),
 * then goes to the dead-letter queue.
 */
import { derivativeTier } from "../cache/tier";
import { type Config, loadConfig } from "../config";
import { ImageError } from "../http/errors";
import type { OutputFormat } from "../image/formats";
import { queueStats } from "../state";
import { log } from "../util/log";
import { planUploadEvents, purgeUpload, uploadOfObject } from "./bucket";
import { makeSizes } from "./make-sizes";
import { type BucketEvent, parseMessage } from "./messages";
import { servedFormats, workQueue } from "./producer";

/** One upload's messages in a batch, and what they ask for. */
interface Group {
	readonly messages: Message<unknown>[];
	readonly formats: Set<OutputFormat>;
	readonly events: BucketEvent[];
}

export async function consume(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	queueStats.active++;
	try {
		await consumeBatch(batch, env);
	} finally {
		queueStats.active--;
		queueStats.handled += batch.messages.length;
	}
}

async function consumeBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	let config: Config;
	try {
		config = loadConfig(env);
	} catch (err) {
		// A deploy mistake: keep the work for the fixed version (then the DLQ).
		log("error", { queue: batch.queue, message: `config: ${String(err)}` });
		batch.retryAll();
		return;
	}
	const groups = new Map<string, Group>();
	for (const message of batch.messages) {
		const work = parseMessage(message.body);
		if (work.type === "poison") {
			log("warn", { queue: batch.queue, id: message.id, poison: work.reason });
			message.ack();
			continue;
		}
		const upload = work.type === "sizes" ? work.upload : uploadOfObject(work.key);
		let group = groups.get(upload);
		if (!group) {
			group = { messages: [], formats: new Set(), events: [] };
			groups.set(upload, group);
		}
		group.messages.push(message);
		if (work.type === "sizes") for (const f of work.formats) group.formats.add(f);
		else group.events.push(work);
	}
	await workThrough(groups, env, config);
}

/**
 * One upload after another, until QUEUE_BATCH_BUDGET_MS of wall time has
 * passed (wall time is at least the CPU time spent here): the uploads left
 * are handed back at once, so a batch of many big uploads does not reach
 * the invocation's CPU limit, which would cost the upload in hand too.
 */
async function workThrough(groups: Map<string, Group>, env: Env, config: Config) {
	const deadline = Date.now() + config.queueBatchBudgetMs;
	for (const [upload, group] of groups) {
		if (Date.now() > deadline) await handBack(env, upload, group);
		else await settle(upload, group, () => work(env, config, upload, group));
	}
}

/**
 * Put an upload's messages back on the queue untouched: sent again and
 * acknowledged, so a deferral does not count as a failed attempt (retry()
 * would, and max_retries of them would send work never tried to the
 * dead-letter queue). Without the producer binding, retry() it is.
 */
async function handBack(env: Env, upload: string, group: Group): Promise<void> {
	log("info", { queue: "deferred", upload, messages: group.messages.length });
	const queue = workQueue(env);
	if (!queue) {
		for (const m of group.messages) m.retry();
		return;
	}
	try {
		await queue.sendBatch(group.messages.map((m) => ({ body: m.body })));
		for (const m of group.messages) m.ack();
	} catch {
		for (const m of group.messages) m.retry();
	}
}

/** Carry out one upload's messages. */
async function work(env: Env, config: Config, upload: string, group: Group) {
	let formats = [...group.formats];
	if (group.events.length > 0) {
		const plan = await planUploadEvents(env, upload, group.events);
		if (plan.purge) await purgeUpload(env, config, upload, plan.known);
		if (!plan.prerender) return { purged: plan.purge };
		formats = [...new Set([...formats, ...servedFormats(upload, config)])];
	}
	const tier = derivativeTier(env, config.limits);
	if (!tier || formats.length === 0) return { made: 0, note: "no DERIVATIVES tier bound" };
	return makeSizes({ env, config, tier, upload, formats });
}

/** Ack or retry one upload's messages by how its work ended; one log line either way. */
async function settle(upload: string, group: Group, run: () => Promise<unknown>) {
	const started = performance.now();
	try {
		const outcome = await run();
		const ms = Math.round(performance.now() - started);
		log("info", {
			queue: "done",
			upload,
			messages: group.messages.length,
			ms,
			...(outcome as object),
		});
		for (const m of group.messages) m.ack();
	} catch (err) {
		const message = err instanceof Error ? err.message : String(err);
		// The upload's own fault (gone, too large, undecodable): no retry helps.
		if (err instanceof ImageError && err.status < 500) {
			log("warn", { queue: "dropped", upload, status: err.status, message });
			for (const m of group.messages) m.ack();
			return;
		}
		log("error", {
			queue: "retry",
			upload,
			message,
			attempts: group.messages.map((m) => m.attempts),
		});
		for (const m of group.messages) m.retry({ delaySeconds: 10 * m.attempts });
	}
}
