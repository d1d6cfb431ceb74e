/**
 * Purge generations. Every derivative has a small number that is part of its
 * cache key and its ETag. A purge raises it, so every copy cached under the old
 * number becomes unreachable in every data centre at once, without this worker
 * having to reach any of them.
 *
 * KV layout (namespace PURGE_STATE), so a request reads at most one key of its
 * own plus one shared key that every request of the isolate reuses:
 *
 *   `u:<upload key>`  {"g": 2, "d": {"photo-730x487.jpeg": 1}}   image and URL purges
 *   `epochs`          {"all": 1, "prefixes": [["2025/09/", 3]]}   prefix and everything purges
 *
 * A derivative's generation is the SUM of `all`, each prefix its key starts
 * with, its upload's `g` and its own `d` entry. A purge only ever adds to one of
 * them, and the folds that keep the records small move counts without losing
 * any, so a derivative's generation never goes down and an old key never comes
 * back. Never-purged images have no record and generation 0 (the plain key).
 *
 * KV has no compare-and-swap: two purges that rewrite the same record within
 * KV's propagation window (~60 s) from different places can lose one bump.
 */
import { UpstreamError } from "../http/errors";
import { guarded } from "../origin/storage";
import { fileOf } from "../url/path";
import { BoundedMap } from "../util/bounded-map";
import { hex } from "../util/hex";
import { log } from "../util/log";
import { type KeepAlive, SharedTimeoutError, watch } from "../util/shared";

export interface UploadDoc {
	/** Bumped by image purges: every derivative of the upload. */
	readonly g: number;
	/** Bumped by URL purges: one derivative, by file name. */
	readonly d: Readonly<Record<string, number>>;
}

export interface EpochDoc {
	/** Bumped by "everything" purges. */
	readonly all: number;
	/** Bumped by prefix purges; most recently bumped last. */
	readonly prefixes: readonly (readonly [string, number])[];
}

export const EMPTY_UPLOAD: UploadDoc = Object.freeze({ g: 0, d: Object.freeze({}) });
export const EMPTY_EPOCHS: EpochDoc = Object.freeze({ all: 0, prefixes: Object.freeze([]) });

/** Caps that keep both records small; past them, the oldest counts are folded. */
export const MAX_PREFIXES = 200;
export const MAX_URL_ENTRIES = 64;

export const EPOCHS_KEY = "epochs";
/** KV keys are limited to 512 bytes; longer upload keys are hashed. */
const MAX_PLAIN_KV_KEY = 480;
/** Budget for one KV read or write. */
export const KV_TIMEOUT_MS = 3000;
/**
 * KV's own edge cache for hot-path reads (KV's minimum). A purge elsewhere is
 * seen here after at most this plus the isolate memo.
 */
export const KV_CACHE_TTL_S = 30;

const utf8 = new TextEncoder();

/** The upload's identity for generations: its key with the extension in lower case. */
export function generationKey(uploadKey: string): string {
	return uploadKey.replace(/\.([A-Za-z0-9]+)$/, (_, ext: string) => `.${ext.toLowerCase()}`);
}

/** Pure: the generation of the object at `key` (a derivative or any file of the upload). */
export function generationOf(key: string, upload: UploadDoc, epochs: EpochDoc): number {
	let sum = epochs.all + upload.g + (upload.d[fileOf(key)] ?? 0);
	for (const [prefix, n] of epochs.prefixes) if (key.startsWith(prefix)) sum += n;
	return sum;
}

/**
 * Pure: the record after a purge of the whole upload (no `files`) or of some
 * of its derivatives by file name. A whole-upload purge folds the URL entries
 * into `g`, so each derivative still goes up.
 */
export function bumpUpload(doc: UploadDoc, files?: readonly string[]): UploadDoc {
	const urlSum = Object.values(doc.d).reduce((a, b) => a + b, 0);
	if (!files) return { g: doc.g + 1 + urlSum, d: {} };
	let { g } = doc;
	let d: Record<string, number> = { ...doc.d };
	const fresh = files.filter((f) => !(f in d));
	if (Object.keys(d).length + fresh.length > MAX_URL_ENTRIES) {
		// Fold: g takes the whole sum, so no derivative goes down (some go up).
		g += urlSum;
		d = {};
	}
	for (const file of new Set(files)) d[file] = (d[file] ?? 0) + 1;
	return { g, d };
}

/** Pure: the epochs after a prefix purge, or after purging everything. */
export function bumpEpochs(doc: EpochDoc, target: { prefix: string } | "everything"): EpochDoc {
	const prefixSum = doc.prefixes.reduce((a, [, n]) => a + n, 0);
	if (target === "everything") return { all: doc.all + 1 + prefixSum, prefixes: [] };
	const old = doc.prefixes.find(([p]) => p === target.prefix)?.[1] ?? 0;
	const prefixes: (readonly [string, number])[] = doc.prefixes.filter(([p]) => p !== target.prefix);
	let { all } = doc;
	while (prefixes.length >= MAX_PREFIXES) {
		// The least recently bumped prefix moves into `all`: keys under it keep
		// their generation, every other key goes up (a harmless extra purge).
		const oldest = prefixes.shift();
		if (oldest) all += oldest[1];
	}
	prefixes.push([target.prefix, old + 1]);
	return { all, prefixes };
}

/**
 * Pure: the later of two snapshots of one upload's record (KV's answer and
 * what this isolate remembers may each lag the other). Every key's generation
 * under the result is at least its generation under either, so a purge built
 * on it raises every key above anything either snapshot has served.
 */
export function mergeUpload(a: UploadDoc, b: UploadDoc): UploadDoc {
	const d: Record<string, number> = { ...a.d };
	for (const [file, n] of Object.entries(b.d)) d[file] = Math.max(d[file] ?? 0, n);
	return { g: Math.max(a.g, b.g), d };
}

export function mergeEpochs(a: EpochDoc, b: EpochDoc): EpochDoc {
	const counts = new Map(a.prefixes);
	for (const [prefix, n] of b.prefixes) counts.set(prefix, Math.max(counts.get(prefix) ?? 0, n));
	return { all: Math.max(a.all, b.all), prefixes: [...counts] };
}

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Validate a record read from KV (null when the upload was never purged). */
export function parseUploadDoc(json: unknown): UploadDoc {
	if (json === null) return EMPTY_UPLOAD;
	const doc = json as { g?: unknown; d?: unknown };
	const d = doc?.d ?? {};
	if (
		typeof doc !== "object" ||
		!count(doc.g) ||
		typeof d !== "object" ||
		d === null ||
		!Object.values(d).every(count)
	) {
		throw new Error(`malformed upload generation record: ${JSON.stringify(json).slice(0, 200)}`);
	}
	return { g: doc.g, d: d as Record<string, number> };
}

export function parseEpochs(json: unknown): EpochDoc {
	if (json === null) return EMPTY_EPOCHS;
	const doc = json as { all?: unknown; prefixes?: unknown };
	if (
		typeof doc !== "object" ||
		!count(doc.all) ||
		!Array.isArray(doc.prefixes) ||
		!doc.prefixes.every(
			(e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && count(e[1]),
		)
	) {
		throw new Error(`malformed epochs record: ${JSON.stringify(json).slice(0, 200)}`);
	}
	return { all: doc.all, prefixes: doc.prefixes as [string, number][] };
}

/** The KV key of an upload's record: readable when short enough, else a hash. */
export async function uploadDocKey(uploadKey: string): Promise<string> {
	const key = generationKey(uploadKey);
	if (utf8.encode(key).byteLength <= MAX_PLAIN_KV_KEY) return `u:${key}`;
	return `u#${hex(await crypto.subtle.digest("SHA-256", utf8.encode(key)))}`;
}

// KV I/O. Failures and time-outs become UpstreamError (503 on time-out).

export async function readUploadDoc(
	kv: KVNamespace,
	uploadKey: string,
	cacheTtl?: number,
): Promise<UploadDoc> {
	const key = await uploadDocKey(uploadKey);
	const json = await guarded(
		() => kv.get(key, { type: "json", ...(cacheTtl ? { cacheTtl } : {}) }),
		KV_TIMEOUT_MS,
		`kv get ${key}`,
	);
	return parseUploadDoc(json);
}

export async function readEpochs(kv: KVNamespace, cacheTtl?: number): Promise<EpochDoc> {
	const json = await guarded(
		() => kv.get(EPOCHS_KEY, { type: "json", ...(cacheTtl ? { cacheTtl } : {}) }),
		KV_TIMEOUT_MS,
		`kv get ${EPOCHS_KEY}`,
	);
	return parseEpochs(json);
}

export async function writeUploadDoc(
	kv: KVNamespace,
	uploadKey: string,
	doc: UploadDoc,
): Promise<void> {
	const key = await uploadDocKey(uploadKey);
	await guarded(() => kv.put(key, JSON.stringify(doc)), KV_TIMEOUT_MS, `kv put ${key}`);
}

export async function writeEpochs(kv: KVNamespace, doc: EpochDoc): Promise<void> {
	await guarded(
		() => kv.put(EPOCHS_KEY, JSON.stringify(doc)),
		KV_TIMEOUT_MS,
		`kv put ${EPOCHS_KEY}`,
	);
}

/** Longest a request waits for a KV read another request started (ms). */
const READ_WAIT_MS = 30_000;

interface Memo<T> {
	value: T | Promise<T>;
	expires: number;
}

/** A memo holding a record (not a read still in flight). */
function isSettled<T>(memo: Memo<T> | undefined): memo is { value: T; expires: number } {
	return memo !== undefined && !(memo.value instanceof Promise);
}

/**
 * Per-isolate memory of the records, so a cache HIT normally costs no KV read
 * at all: each record is trusted for `ttlMs`, then read again (concurrent
 * readers share one read). A purge that runs in this isolate writes its new
 * records here at once. When KV fails, the last known record is used; with
 * none, the request fails with 503 rather than serve what may have been purged.
 */
export class Generations {
	/** Kept past their expiry: a stale record is the fallback when KV fails. */
	readonly #uploads: BoundedMap<Memo<UploadDoc>>;
	#epochs: Memo<EpochDoc> | undefined;

	constructor(
		readonly maxEntries = 10_000,
		/** Longest a request waits for a KV read another request started (ms). */
		readonly readWaitMs = READ_WAIT_MS,
	) {
		this.#uploads = new BoundedMap({ maxEntries });
	}

	/**
	 * The generation of `key` (a derivative of `uploadKey`): a number when both
	 * records are fresh in memory, else a promise. No KV binding: always 0.
	 */
	current(
		kv: KVNamespace | undefined,
		uploadKey: string,
		key: string,
		ttlMs: number,
		now = Date.now(),
		/** Keeps a KV read this call starts alive if the request is cancelled (see util/shared.ts). */
		keep?: KeepAlive,
	): number | Promise<number> {
		if (!kv) return 0;
		const id = generationKey(uploadKey);
		const upload = this.#fresh(this.#uploads.peek(id), now);
		const epochs = this.#fresh(this.#epochs, now);
		if (upload && epochs && !(upload instanceof Promise) && !(epochs instanceof Promise)) {
			return generationOf(key, upload, epochs);
		}
		const uploadP = upload ?? this.#loadUpload(kv, id, ttlMs, now, keep);
		const epochsP = epochs ?? this.#loadEpochs(kv, ttlMs, now, keep);
		// A read another request started is watched, never awaited (see Shared).
		// One that never settles (its request was cancelled) is dropped by the
		// waiter that gives up on it, so the next request reads KV again.
		const watched = <T>(value: T | Promise<T>, drop: () => void) =>
			watch(value, this.readWaitMs).catch((err: unknown) => {
				if (err instanceof SharedTimeoutError) drop();
				throw err;
			});
		// Both settle before the answer, so a read given up on is dropped before
		// the caller sees the 503.
		return Promise.allSettled([
			watched(uploadP, () => {
				if (this.#uploads.peek(id)?.value === uploadP) this.#uploads.delete(id);
			}),
			watched(epochsP, () => {
				if (this.#epochs?.value === epochsP) this.#epochs = undefined;
			}),
		]).then(([u, e]) => {
			if (u.status === "rejected") throw u.reason;
			if (e.status === "rejected") throw e.reason;
			return generationOf(key, u.value, e.value);
		});
	}

	/** A purge in this isolate: these records take effect here immediately. */
	remember(uploadKey: string, doc: UploadDoc, ttlMs: number, now = Date.now()): void {
		this.#set(generationKey(uploadKey), { value: doc, expires: now + ttlMs });
	}

	rememberEpochs(doc: EpochDoc, ttlMs: number, now = Date.now()): void {
		this.#epochs = { value: doc, expires: now + ttlMs };
	}

	/** The record this isolate is using now, if any (purges delete its cache keys too). */
	known(uploadKey: string): UploadDoc | undefined {
		const value = this.#uploads.peek(generationKey(uploadKey))?.value;
		return value instanceof Promise ? undefined : value;
	}

	knownEpochs(): EpochDoc | undefined {
		const value = this.#epochs?.value;
		return value instanceof Promise ? undefined : value;
	}

	clear(): void {
		this.#uploads.clear();
		this.#epochs = undefined;
	}

	#fresh<T>(memo: Memo<T> | undefined, now: number): T | Promise<T> | undefined {
		return memo && memo.expires > now ? memo.value : undefined;
	}

	#set(id: string, memo: Memo<UploadDoc>): void {
		this.#uploads.set(id, memo, Number.POSITIVE_INFINITY);
	}

	#loadUpload(
		kv: KVNamespace,
		id: string,
		ttlMs: number,
		now: number,
		keep?: KeepAlive,
	): Promise<UploadDoc> {
		const stale = this.#uploads.peek(id);
		// KV's answer may be older than what this isolate already served (its
		// edge cache lags a purge by up to KV_CACHE_TTL_S): merge, never step back.
		const value = readUploadDoc(kv, id, KV_CACHE_TTL_S).then(
			(doc) => (isSettled(stale) ? mergeUpload(stale.value, doc) : doc),
			(err) => this.#fallback(stale, err, (v) => this.#set(id, v), ttlMs),
		);
		this.#set(id, { value, expires: now + ttlMs });
		value.then(
			(doc) => {
				if (this.#uploads.peek(id)?.value === value)
					this.#set(id, { value: doc, expires: now + ttlMs });
			},
			() => {
				if (this.#uploads.peek(id)?.value === value) this.#uploads.delete(id);
			},
		);
		keep?.(value);
		return value;
	}

	#loadEpochs(kv: KVNamespace, ttlMs: number, now: number, keep?: KeepAlive): Promise<EpochDoc> {
		const stale = this.#epochs;
		const value = readEpochs(kv, KV_CACHE_TTL_S).then(
			(doc) => (isSettled(stale) ? mergeEpochs(stale.value, doc) : doc),
			(err) =>
				this.#fallback(
					stale,
					err,
					(v) => {
						this.#epochs = v;
					},
					ttlMs,
				),
		);
		this.#epochs = { value, expires: now + ttlMs };
		value.then(
			(doc) => {
				if (this.#epochs?.value === value) this.#epochs = { value: doc, expires: now + ttlMs };
			},
			() => {
				if (this.#epochs?.value === value) this.#epochs = undefined;
			},
		);
		keep?.(value);
		return value;
	}

	async #fallback<T>(
		stale: Memo<T> | undefined,
		err: unknown,
		keep: (memo: Memo<T>) => void,
		ttlMs: number,
	): Promise<T> {
		// Only a record already in hand: a read still in flight may be another
		// request's, which this one must never await (see util/shared.ts).
		const last = isSettled(stale) ? stale.value : undefined;
		if (last === undefined) {
			if (err instanceof UpstreamError) throw err;
			throw new UpstreamError("Purge state unavailable", { cause: err, detail: String(err) });
		}
		log("error", { event: "generation_read_failed", error: String(err) });
		keep({ value: last, expires: Date.now() + ttlMs });
		return last;
	}
}
