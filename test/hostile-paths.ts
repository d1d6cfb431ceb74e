/**
 * Generators of hostile URL paths (the part after the mount), shared by the
 * pure parser's property tests and the worker-level run in workerd.
 */
import fc from "fast-check";

export const TOKENS = [
	"..",
	".",
	"%2e%2e",
	"%2E%2e",
	"%2e.",
	"%252e%252e",
	"%25",
	"%",
	"%%",
	"%zz",
	"%1",
	"%C0%AF",
	"%E0%80%AF",
	"%ED%A0%80",
	"%F0%9F%98%80",
	"%FF",
	"%00",
	"\u0000",
	"\\",
	"%5c",
	"%5C",
	"%2f",
	"%2F",
	"/",
	"//",
	"~",
	"-",
	"--",
	"-0x0",
	"-00730x487",
	"-730X487",
	"-1e3x5",
	"-730x487x2",
	"-730x487",
	"-150x150",
	"-99999x99999",
	"-100000x1",
	"-18446744073709551616x1",
	"-9007199254740993x2",
	"-1x-1",
	"-scaled",
	"-rotated",
	".jpeg",
	".jpg",
	".JPEG",
	".png",
	".j",
	".jpegjpeg",
	".tar.gz",
	". ",
	"?",
	"#",
	"%3F",
	"%23",
	" ",
	"%20",
	"+",
	"é",
	"%C3%A9",
	"😀",
	"\uFEFF",
	"\u202E",
	"photo",
	"2025",
	"09",
];

const nastyText = fc.oneof(
	fc.constantFrom(...TOKENS),
	fc.string({ unit: "binary", maxLength: 8 }),
	fc.string({ unit: "grapheme", maxLength: 8 }),
	fc.stringMatching(/^%[0-9A-Fa-fxyz]{0,3}$/),
	fc.nat({ max: 99999 }).map(String),
	fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
);

// Encoded once, twice, or not at all: what a client (or a scanner) may send.
const encodings = fc.constantFrom(
	(s: string) => s,
	(s: string) => encodeURIComponentSafe(s),
	(s: string) => encodeURIComponentSafe(encodeURIComponentSafe(s)),
);

function encodeURIComponentSafe(s: string): string {
	try {
		return encodeURIComponent(s);
	} catch {
		return s; // lone surrogates cannot be encoded: leave them raw
	}
}

const segment = fc
	.tuple(fc.array(nastyText, { minLength: 0, maxLength: 6 }), encodings)
	.map(([parts, encode]) => encode(parts.join("")));

export const hostilePath = fc.oneof(
	{
		weight: 8,
		arbitrary: fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join("/")),
	},
	// Plausible WordPress paths with one hostile twist.
	{
		weight: 4,
		arbitrary: fc
			.tuple(
				fc.constantFrom("2025/09/", "", "2025/", "a/b/c/d/"),
				fc.constantFrom("photo", "my-photo", "x", "café", "a-b"),
				fc.constantFrom("", ...TOKENS),
				fc.oneof(
					fc.tuple(fc.integer({ min: -5, max: 100000 }), fc.integer({ min: -5, max: 100000 })),
					fc.constant(null),
				),
				fc.constantFrom(".jpeg", ".jpg", ".png", ".JPG", "", ".", ".jp", ".webp", ".jpeg.exe"),
			)
			.map(
				([dir, name, twist, size, ext]) =>
					`${dir}${name}${twist}${size ? `-${size[0]}x${size[1]}` : ""}${ext}`,
			),
	},
	// Overlong: past the 1024-byte key and the 3x raw-length limits.
	{
		weight: 1,
		arbitrary: fc
			.tuple(
				fc.constantFrom("a", "%C3%A9", "a/", "%2e%2e/", "😀"),
				fc.integer({ min: 300, max: 3000 }),
			)
			.map(([unit, n]) => `2025/${unit.repeat(n)}-150x150.jpeg`),
	},
);
