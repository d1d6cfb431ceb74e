import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	bumpEpochs,
	bumpUpload,
	EMPTY_EPOCHS,
	EMPTY_UPLOAD,
	type EpochDoc,
	Generations,
	generationKey,
	generationOf,
	MAX_PREFIXES,
	MAX_URL_ENTRIES,
	mergeEpochs,
	mergeUpload,
	parseEpochs,
	parseUploadDoc,
	type UploadDoc,
	uploadDocKey,
	writeEpochs,
	writeUploadDoc,
} from "./generation";

const KEY = "2025/09/photo-150x150.jpeg";

describe("generationOf", () => {
	it.each<[string, UploadDoc, EpochDoc, number]>([
		["never purged", EMPTY_UPLOAD, EMPTY_EPOCHS, 0],
		["image purged twice", { g: 2, d: {} }, EMPTY_EPOCHS, 2],
		["this URL purged", { g: 1, d: { "photo-150x150.jpeg": 3 } }, EMPTY_EPOCHS, 4],
		["another URL purged", { g: 1, d: { "photo-730x487.jpeg": 3 } }, EMPTY_EPOCHS, 1],
		["everything", EMPTY_UPLOAD, { all: 5, prefixes: [] }, 5],
		[
			"matching prefixes add up",
			EMPTY_UPLOAD,
			{
				all: 1,
				prefixes: [
					["2025/", 2],
					["2025/09/", 3],
				],
			},
			6,
		],
		["a partial-name prefix", EMPTY_UPLOAD, { all: 0, prefixes: [["2025/09/photo-1", 1]] }, 1],
		[
			"other folders do not",
			EMPTY_UPLOAD,
			{
				all: 0,
				prefixes: [
					["2025/10/", 7],
					["2024/", 1],
				],
			},
			0,
		],
	])("%s", (_, upload, epochs, expected) => {
		expect(generationOf(KEY, upload, epochs)).toBe(expected);
	});
});

describe("bumps", () => {
	it("a whole-upload purge folds URL entries into g so every derivative goes up", () => {
		const doc = { g: 1, d: { "a-1x1.jpg": 4 } };
		const next = bumpUpload(doc);
		expect(next).toEqual({ g: 6, d: {} });
		expect(generationOf("x/a-1x1.jpg", next, EMPTY_EPOCHS)).toBeGreaterThan(
			generationOf("x/a-1x1.jpg", doc, EMPTY_EPOCHS),
		);
	});

	it("a URL purge moves only that file", () => {
		expect(bumpUpload({ g: 2, d: { "a-1x1.jpg": 1 } }, ["a-1x1.jpg", "a-2x2.jpg"])).toEqual({
			g: 2,
			d: { "a-1x1.jpg": 2, "a-2x2.jpg": 1 },
		});
	});

	it("stays bounded: past the caps the oldest counts fold into the shared number", () => {
		let doc: UploadDoc = EMPTY_UPLOAD;
		for (let i = 0; i < MAX_URL_ENTRIES * 3; i++) doc = bumpUpload(doc, [`a-${i}x1.jpg`]);
		expect(Object.keys(doc.d).length).toBeLessThanOrEqual(MAX_URL_ENTRIES);
		let epochs: EpochDoc = EMPTY_EPOCHS;
		for (let i = 0; i < MAX_PREFIXES * 2; i++) epochs = bumpEpochs(epochs, { prefix: `${i}/` });
		expect(epochs.prefixes.length).toBeLessThanOrEqual(MAX_PREFIXES);
		expect(bumpEpochs(epochs, "everything").prefixes).toEqual([]);
	});

	// The property the whole design rests on: whatever sequence of purges runs,
	// no key's generation ever goes down (an old cache key never comes back),
	// and every key a purge covers goes up.
	it("no sequence of purges lowers any key's generation; covered keys always rise", () => {
		const files = ["a-1x1.jpg", "a-2x2.jpg", "b-1x1.jpg"];
		const dirs = ["p/", "p/q/", "r/"];
		const keys = dirs.flatMap((d) => files.map((f) => `${d}${f}`));
		const upload = (key: string) => key.replace(/-\dx\d/, "");
		const purge = fc.oneof(
			fc.record({ kind: fc.constant("image" as const), key: fc.constantFrom(...keys) }),
			fc.record({ kind: fc.constant("url" as const), key: fc.constantFrom(...keys) }),
			fc.record({
				kind: fc.constant("prefix" as const),
				key: fc.constantFrom("p/", "p/q/", "r/", "p/a", "p/q/b-"),
			}),
			fc.record({ kind: fc.constant("everything" as const), key: fc.constant("") }),
		);
		fc.assert(
			fc.property(fc.array(purge, { maxLength: 60 }), (purges) => {
				const docs = new Map<string, UploadDoc>();
				let epochs: EpochDoc = EMPTY_EPOCHS;
				const gen = (key: string) =>
					generationOf(key, docs.get(upload(key)) ?? EMPTY_UPLOAD, epochs);
				for (const p of purges) {
					const before = new Map(keys.map((k) => [k, gen(k)]));
					const doc = docs.get(upload(p.key)) ?? EMPTY_UPLOAD;
					if (p.kind === "image") docs.set(upload(p.key), bumpUpload(doc));
					if (p.kind === "url") {
						docs.set(upload(p.key), bumpUpload(doc, [p.key.slice(p.key.lastIndexOf("/") + 1)]));
					}
					if (p.kind === "prefix") epochs = bumpEpochs(epochs, { prefix: p.key });
					if (p.kind === "everything") epochs = bumpEpochs(epochs, "everything");
					for (const k of keys) {
						const covered =
							(p.kind === "image" && upload(k) === upload(p.key)) ||
							(p.kind === "url" && k === p.key) ||
							(p.kind === "prefix" && k.startsWith(p.key)) ||
							p.kind === "everything";
						const was = before.get(k) ?? 0;
						if (covered ? gen(k) <= was : gen(k) < was) return false;
					}
				}
				return true;
			}),
			{ numRuns: 300 },
		);
	});
});

describe("merging two snapshots of a record", () => {
	it.each<[UploadDoc, UploadDoc]>([
		[
			{ g: 5, d: {} },
			{ g: 1, d: { "a-1x1.jpg": 3 } },
		],
		[
			{ g: 0, d: { "a-1x1.jpg": 1 } },
			{ g: 0, d: { "a-1x1.jpg": 2, "a-2x2.jpg": 1 } },
		],
		[EMPTY_UPLOAD, { g: 2, d: {} }],
	])("upload %o + %o: every key at least as high as under either", (a, b) => {
		const m = mergeUpload(a, b);
		for (const key of ["x/a-1x1.jpg", "x/a-2x2.jpg", "x/a-3x3.jpg"]) {
			const got = generationOf(key, m, EMPTY_EPOCHS);
			expect(got).toBeGreaterThanOrEqual(generationOf(key, a, EMPTY_EPOCHS));
			expect(got).toBeGreaterThanOrEqual(generationOf(key, b, EMPTY_EPOCHS));
		}
	});

	it("epochs: a folded snapshot and a stale one", () => {
		const stale: EpochDoc = { all: 1, prefixes: [["p/", 4]] };
		const folded = bumpEpochs(stale, "everything");
		const m = mergeEpochs(stale, folded);
		for (const key of ["p/a-1x1.jpg", "q/a-1x1.jpg"]) {
			const got = generationOf(key, EMPTY_UPLOAD, m);
			expect(got).toBeGreaterThanOrEqual(generationOf(key, EMPTY_UPLOAD, folded));
			expect(got).toBeGreaterThanOrEqual(generationOf(key, EMPTY_UPLOAD, stale));
		}
	});
});

describe("records", () => {
	it.each([[{ g: -1, d: {} }], [{ g: 1.5 }], [{ g: 1, d: { x: "2" } }], ["nonsense"]])(
		"a malformed upload record %o is an error, not generation 0",
		(json) => {
			expect(() => parseUploadDoc(json)).toThrow(/malformed/);
		},
	);

	it.each([[{ all: 1 }], [{ all: 0, prefixes: [["a/"]] }], [{ all: 0, prefixes: [[1, 1]] }]])(
		"a malformed epochs record %o is an error",
		(json) => {
			expect(() => parseEpochs(json)).toThrow(/malformed/);
		},
	);

	it("keys: readable when short, hashed past KV's 512-byte limit, extension case folded", async () => {
		expect(generationKey("a/Photo.JPG")).toBe("a/Photo.jpg");
		expect(await uploadDocKey("2025/09/a.JPEG")).toBe("u:2025/09/a.jpeg");
		const long = await uploadDocKey(`${"é".repeat(400)}.jpg`);
		expect(long).toMatch(/^u#[0-9a-f]{64}$/);
	});
});

describe("Generations (per-isolate memo over real KV)", () => {
	it("reads KV once per memo period, sees other isolates' purges after it, and its own at once", async () => {
		const kv = env.PURGE_STATE;
		const upload = "memo/photo.jpeg";
		const key = "memo/photo-150x150.jpeg";
		const here = new Generations();
		const elsewhere = new Generations();
		const t0 = 1_000_000;
		expect(await here.current(kv, upload, key, 5000, t0)).toBe(0);
		expect(await elsewhere.current(kv, upload, key, 5000, t0)).toBe(0);
		// Fresh memo: a plain number, no promise, no KV read.
		expect(here.current(kv, upload, key, 5000, t0 + 10)).toBe(0);

		// A purge runs "here": KV and this isolate's memo get the new record.
		const next = bumpUpload(EMPTY_UPLOAD);
		await writeUploadDoc(kv, upload, next);
		here.remember(upload, next, 5000, t0 + 20);
		expect(here.current(kv, upload, key, 5000, t0 + 30)).toBe(1);
		// Another isolate keeps its memo until it expires, then reads KV again.
		expect(elsewhere.current(kv, upload, key, 5000, t0 + 4999)).toBe(0);
		expect(await elsewhere.current(kv, upload, key, 5000, t0 + 5001)).toBe(1);

		// Epochs work the same way.
		await writeEpochs(kv, bumpEpochs(EMPTY_EPOCHS, { prefix: "memo/" }));
		expect(await elsewhere.current(kv, upload, key, 5000, t0 + 10_002)).toBe(2);
		await writeEpochs(kv, EMPTY_EPOCHS);
	});

	it("a stale KV read after the memo expires never steps a generation back", async () => {
		const kv = env.PURGE_STATE;
		const upload = "stepback/photo.jpeg";
		const key = "stepback/photo-150x150.jpeg";
		const memo = new Generations();
		await writeUploadDoc(kv, upload, { g: 2, d: { "photo-150x150.jpeg": 1 } });
		await writeEpochs(kv, { all: 1, prefixes: [["stepback/", 2]] });
		const t0 = 2_000_000;
		expect(await memo.current(kv, upload, key, 1000, t0)).toBe(6);
		// KV now answers with older records, as its edge cache may for 30 s.
		await writeUploadDoc(kv, upload, { g: 1, d: {} });
		await writeEpochs(kv, EMPTY_EPOCHS);
		try {
			expect(await memo.current(kv, upload, key, 1000, t0 + 1001)).toBe(6);
			expect(memo.known(upload)).toEqual({ g: 2, d: { "photo-150x150.jpeg": 1 } });
			expect(memo.knownEpochs()).toEqual({ all: 1, prefixes: [["stepback/", 2]] });
			// A newer record still moves it up.
			await writeUploadDoc(kv, upload, { g: 4, d: {} });
			expect(await memo.current(kv, upload, key, 1000, t0 + 2002)).toBe(8);
		} finally {
			await writeEpochs(kv, EMPTY_EPOCHS);
		}
	});

	it("a KV read that never settles (its request was cancelled) is dropped by the waiter that gives up", async () => {
		let calls = 0;
		const kv = {
			get: (key: string, options: KVNamespaceGetOptions<"json">) => {
				calls++;
				// The first read hangs for good, as one started by a cancelled request does.
				if (calls <= 2) return new Promise(() => {});
				return env.PURGE_STATE.get(key, options);
			},
		} as unknown as KVNamespace;
		const memo = new Generations(100, 50);
		const started = Date.now();
		await expect(
			Promise.resolve(memo.current(kv, "hang/a.jpg", "hang/a-1x1.jpg", 60_000)),
		).rejects.toMatchObject({ status: 503 });
		expect(Date.now() - started).toBeLessThan(1000);
		// Well within the memo's 60 s: the next request reads KV again instead
		// of waiting on the dead read.
		expect(await memo.current(kv, "hang/a.jpg", "hang/a-1x1.jpg", 60_000)).toBe(0);
		expect(calls).toBe(4);
	});

	it("when KV fails while another request's read is still in flight, it never awaits that read", async () => {
		let calls = 0;
		const kv = {
			get: () => {
				calls++;
				// The first read (another request's) never settles; the next one fails.
				if (calls <= 2) return new Promise(() => {});
				return Promise.reject(new Error("KV down"));
			},
		} as unknown as KVNamespace;
		const memo = new Generations(100, 60_000);
		const first = memo.current(kv, "inflight/a.jpg", "inflight/a-1x1.jpg", 10, 0);
		void Promise.resolve(first).catch(() => undefined);
		await new Promise((resolve) => setTimeout(resolve, 10));
		// Past the memo: this request reads KV itself, which fails. The record it
		// could fall back on is the first request's unsettled read: no record.
		const answer = Promise.resolve(
			memo.current(kv, "inflight/a.jpg", "inflight/a-1x1.jpg", 10, 100),
		);
		const outcome = await Promise.race([
			answer.then(
				() => "answered",
				(err: unknown) => (err as { status?: number }).status,
			),
			new Promise((resolve) => setTimeout(() => resolve("hung"), 500)),
		]);
		expect(outcome).toBe(502);
	});

	it("without a KV binding every generation is 0", () => {
		expect(new Generations().current(undefined, "a.jpg", "a-1x1.jpg", 5000)).toBe(0);
	});

	it("when KV fails it keeps the last known record; with none it refuses (502), never 0", async () => {
		const failing = {
			get: async () => {
				throw new Error("KV down");
			},
		} as unknown as KVNamespace;
		const memo = new Generations();
		memo.remember("f/a.jpg", { g: 3, d: {} }, 10, 0);
		memo.rememberEpochs(EMPTY_EPOCHS, 10, 0);
		const error = console.error;
		console.error = () => {};
		try {
			expect(await memo.current(failing, "f/a.jpg", "f/a-1x1.jpg", 10, 100)).toBe(3);
			await expect(
				Promise.resolve(new Generations().current(failing, "f/a.jpg", "f/a-1x1.jpg", 10, 100)),
			).rejects.toMatchObject({ status: 502 });
		} finally {
			console.error = error;
		}
	});
});
