import { describe, expect, it } from "vitest";
import { isDeletion, parseMessage } from "./messages";

/** R2 event notifications as R2 documents them (developers.cloudflare.com/r2/buckets/event-notifications). */
const base = {
	account: "3f4b7e3dcab231cbfdaa90a6a28bd548",
	bucket: "wp-uploads",
	eventTime: "2024-05-24T19:36:44.379Z",
};

describe("parseMessage", () => {
	it("reads R2's event shape for every action", () => {
		expect(
			parseMessage({
				...base,
				action: "PutObject",
				object: { key: "2025/09/a.jpg", size: 65536, eTag: "c846ff7a18f28c2e262116d6e8719ef0" },
			}),
		).toEqual({
			type: "bucket",
			action: "PutObject",
			bucket: "wp-uploads",
			key: "2025/09/a.jpg",
			eTag: "c846ff7a18f28c2e262116d6e8719ef0",
			eventTime: base.eventTime,
		});
		const copy = parseMessage({
			...base,
			action: "CopyObject",
			object: { key: "b.jpg", size: 1, eTag: "e" },
			copySource: { bucket: "wp-uploads", object: "a.jpg" },
		});
		expect(copy).toMatchObject({ type: "bucket", action: "CopyObject", key: "b.jpg" });
		for (const action of ["CompleteMultipartUpload", "DeleteObject", "LifecycleDeletion"]) {
			expect(parseMessage({ ...base, action, object: { key: "a.jpg" } })).toMatchObject({
				type: "bucket",
				action,
				key: "a.jpg",
			});
		}
		expect(isDeletion("DeleteObject")).toBe(true);
		expect(isDeletion("LifecycleDeletion")).toBe(true);
		expect(isDeletion("CopyObject")).toBe(false);
	});

	it("reads our own sizes job, formats deduplicated", () => {
		expect(
			parseMessage({
				type: "sizes",
				upload: "a/b.jpg",
				generation: 3,
				formats: ["jpeg", "avif", "jpeg"],
			}),
		).toEqual({ type: "sizes", upload: "a/b.jpg", generation: 3, formats: ["jpeg", "avif"] });
	});

	it.each([
		null,
		42,
		[],
		{},
		{ type: "sizes", upload: "a/b.jpg", generation: 1.5, formats: ["jpeg"] },
		{ type: "sizes", upload: "/a/b.jpg", generation: 0, formats: ["jpeg"] },
		{ type: "sizes", upload: "a/b.jpg", generation: 0, formats: [] },
		{ type: "sizes", upload: "x".repeat(1025), generation: 0, formats: ["jpeg"] },
		{ ...base, action: "PutObject", object: {} },
		{ ...base, action: "PutObject", object: "a.jpg" },
		{ ...base, action: "PutObject" },
		{ action: "PutObject", object: { key: "a.jpg" } },
	])("%j is poison", (body) => {
		expect(parseMessage(body).type).toBe("poison");
	});
});
