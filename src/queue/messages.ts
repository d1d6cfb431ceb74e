/**
 * What arrives on the work queue, validated: our own "make this upload's
 * sizes" jobs, and R2 event notifications on the uploads bucket in the shape
 * R2 documents (developers.cloudflare.com/r2/buckets/event-notifications/).
 * One consumer tells them apart by shape; anything else is poison (acked
 * with a log line, never retried). Pure: no I/O.
 */
import type { OutputFormat } from "../image/formats";

/** Formats the consumer may be asked to make. */
const FORMATS: ReadonlySet<string> = new Set(["jpeg", "png", "webp", "gif", "avif"]);

/** Our own job: make every size of `upload` in `formats` and keep them in the tier. */
export interface SizesJob {
	readonly type: "sizes";
	/** The upload's key, as the serving path names it (extension lower case). */
	readonly upload: string;
	/** The purge generation the miss saw (the consumer works at the current one). */
	readonly generation: number;
	readonly formats: readonly OutputFormat[];
}

export const BUCKET_ACTIONS = [
	"PutObject",
	"CopyObject",
	"CompleteMultipartUpload",
	"DeleteObject",
	"LifecycleDeletion",
] as const;
export type BucketAction = (typeof BUCKET_ACTIONS)[number];

/** An R2 event notification (the fields we use). */
export interface BucketEvent {
	readonly type: "bucket";
	readonly action: BucketAction;
	readonly bucket: string;
	readonly key: string;
	readonly eTag?: string;
	readonly eventTime?: string;
}

export type Work = SizesJob | BucketEvent | { readonly type: "poison"; readonly reason: string };

/** Whether an action removes the object (else it wrote one). */
export function isDeletion(action: BucketAction): boolean {
	return action === "DeleteObject" || action === "LifecycleDeletion";
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
	typeof v === "object" && v !== null && !Array.isArray(v);

/** A key we could ever serve: non-empty, at most R2's 1024 bytes, no leading slash. */
function validKey(key: unknown): key is string {
	return (
		typeof key === "string" &&
		key !== "" &&
		!key.startsWith("/") &&
		new TextEncoder().encode(key).byteLength <= 1024
	);
}

function parseSizes(body: Record<string, unknown>): Work {
	const { upload, generation, formats } = body;
	if (!validKey(upload)) return { type: "poison", reason: "sizes: bad upload key" };
	if (!Number.isSafeInteger(generation) || (generation as number) < 0)
		return { type: "poison", reason: "sizes: bad generation" };
	if (
		!Array.isArray(formats) ||
		formats.length === 0 ||
		formats.length > FORMATS.size ||
		!formats.every((f) => typeof f === "string" && FORMATS.has(f))
	)
		return { type: "poison", reason: "sizes: bad formats" };
	return {
		type: "sizes",
		upload,
		generation: generation as number,
		formats: [...new Set(formats as OutputFormat[])],
	};
}

function parseBucketEvent(body: Record<string, unknown>): Work {
	const { action, bucket, object } = body;
	if (!(BUCKET_ACTIONS as readonly unknown[]).includes(action))
		return { type: "poison", reason: `bucket event: unknown action ${String(action)}` };
	if (typeof bucket !== "string" || !isRecord(object) || !validKey(object.key))
		return { type: "poison", reason: "bucket event: no bucket or object key" };
	return {
		type: "bucket",
		action: action as BucketAction,
		bucket,
		key: object.key,
		...(typeof object.eTag === "string" ? { eTag: object.eTag } : {}),
		...(typeof body.eventTime === "string" ? { eventTime: body.eventTime } : {}),
	};
}

/** Classify a message body by its shape. */
export function parseMessage(body: unknown): Work {
	if (!isRecord(body)) return { type: "poison", reason: "not a JSON object" };
	if (body.type === "sizes") return parseSizes(body);
	if ("action" in body && "object" in body) return parseBucketEvent(body);
	return { type: "poison", reason: "unknown message shape" };
}
