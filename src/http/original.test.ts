import { describe, expect, it } from "vitest";
import { evaluatePreconditions, ifMatchHolds, parseRange } from "./original";

describe("parseRange (one object of 1000 bytes unless said)", () => {
	it.each([
		// header, size, answer
		[null, 1000, { kind: "full" }],
		["bytes=0-99", 1000, { kind: "range", offset: 0, length: 100 }],
		["bytes=0-0", 1000, { kind: "range", offset: 0, length: 1 }],
		["bytes=990-", 1000, { kind: "range", offset: 990, length: 10 }],
		["bytes=990-5000", 1000, { kind: "range", offset: 990, length: 10 }],
		["bytes=999-999", 1000, { kind: "range", offset: 999, length: 1 }],
		["bytes=-10", 1000, { kind: "range", offset: 990, length: 10 }],
		["bytes=-5000", 1000, { kind: "range", offset: 0, length: 1000 }],
		["BYTES = 5 - 9", 1000, { kind: "range", offset: 5, length: 5 }],
		["bytes=1000-", 1000, { kind: "unsatisfiable" }],
		["bytes=1000-2000", 1000, { kind: "unsatisfiable" }],
		["bytes=-0", 1000, { kind: "unsatisfiable" }],
		["bytes=0-", 0, { kind: "unsatisfiable" }],
		["bytes=-5", 0, { kind: "full" }],
		// Syntactically invalid: ignored (§14.2), so a plain 200.
		["bytes=9-5", 1000, { kind: "full" }],
		["bytes=abc", 1000, { kind: "full" }],
		["bytes=", 1000, { kind: "full" }],
		["bytes=-", 1000, { kind: "full" }],
		["items=0-5", 1000, { kind: "full" }],
		["bytes 0-5", 1000, { kind: "full" }],
		["bytes=0x10-20", 1000, { kind: "full" }],
		["bytes=1e3-", 1000, { kind: "full" }],
		["bytes=-1-2", 1000, { kind: "full" }],
		["bytes=0-1234567890123456", 1000, { kind: "full" }],
		// More than one range: the whole body rather than multipart/byteranges.
		["bytes=0-5,10-20", 1000, { kind: "full" }],
		["bytes=0-5, 2000-3000", 1000, { kind: "full" }],
	])("%j over %i bytes → %j", (header, size, answer) => {
		expect(parseRange(header, size)).toEqual(answer);
	});
});

describe("preconditions (RFC 9110 §13.2.2 order)", () => {
	const etag = '"abc"';
	const uploaded = new Date("2025-09-01T12:00:00Z");
	const before = "Mon, 01 Sep 2025 11:00:00 GMT";
	const same = "Mon, 01 Sep 2025 12:00:00 GMT";
	const after = "Mon, 01 Sep 2025 13:00:00 GMT";
	it.each<[Record<string, string>, string]>([
		[{}, "ok"],
		[{ "If-Match": '"abc"' }, "ok"],
		[{ "If-Match": '"x", "abc"' }, "ok"],
		[{ "If-Match": "*" }, "ok"],
		[{ "If-Match": '"nope"' }, "412"],
		[{ "If-Match": 'W/"abc"' }, "412"],
		[{ "If-Unmodified-Since": before }, "412"],
		[{ "If-Unmodified-Since": same }, "ok"],
		[{ "If-Unmodified-Since": "garbage" }, "ok"],
		// If-Match present: If-Unmodified-Since is not evaluated.
		[{ "If-Match": '"abc"', "If-Unmodified-Since": before }, "ok"],
		[{ "If-None-Match": '"abc"' }, "304"],
		[{ "If-None-Match": 'W/"abc"' }, "304"],
		[{ "If-None-Match": "*" }, "304"],
		[{ "If-None-Match": '"other"' }, "ok"],
		[{ "If-Modified-Since": same }, "304"],
		[{ "If-Modified-Since": after }, "304"],
		[{ "If-Modified-Since": before }, "ok"],
		// If-None-Match present: If-Modified-Since is not evaluated.
		[{ "If-None-Match": '"other"', "If-Modified-Since": after }, "ok"],
		// A failed If-Match wins over a matching If-None-Match.
		[{ "If-Match": '"nope"', "If-None-Match": '"abc"' }, "412"],
	])("%j → %s", (headers, answer) => {
		expect(evaluatePreconditions(new Headers(headers), etag, uploaded)).toBe(answer);
	});

	it("If-Match never matches a weak ETag", () => {
		expect(ifMatchHolds('W/"abc"', 'W/"abc"')).toBe(false);
	});
});
