#!/usr/bin/env node
// Regenerate fixtures/hostile/: small, odd but real image files for the
// hostile-input tests. Needs ImageMagick (`convert`) and libjpeg-turbo-progs
// (`jpegtran`) on the developer's machine; the tests only read the committed
// output, so neither is needed to run `npm test`.
//
//   apt-get install -y imagemagick libjpeg-turbo-progs && node scripts/make-hostile-fixtures.mjs
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const src = new URL("../fixtures/originals/2025/09/garden-progressive.jpg", import.meta.url)
	.pathname;
const out = new URL("../fixtures/hostile/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const convert = (...args) => execFileSync("convert", args);
const file = (name) => `${out}${name}`;

// The upright picture everything else is made from: 480x320, baseline, no EXIF.
convert(
	src,
	"-resize",
	"480x320^",
	"-gravity",
	"center",
	"-extent",
	"480x320",
	"-strip",
	"-quality",
	"90",
	"-interlace",
	"none",
	file("upright.jpg"),
);
convert(file("upright.jpg"), "-colorspace", "CMYK", "-quality", "85", file("cmyk.jpg"));
convert(file("upright.jpg"), "-colorspace", "Gray", "-quality", "85", file("gray.jpg"));
convert(file("upright.jpg"), "-resize", "240x160", file("small.png"));
convert(file("upright.jpg"), "-resize", "240x160", "-quality", "80", file("small.webp"));

// A progressive JPEG with one luma scan per DCT coefficient (72 scans in all;
// jpegtran allows at most 100): legal, and slow to decode.
const scans = ["0: 0-0, 0, 0;", "1: 0-0, 0, 0;", "2: 0-0, 0, 0;"];
for (let k = 1; k < 64; k++) scans.push(`0: ${k}-${k}, 0, 0;`);
for (const c of [1, 2]) scans.push(`${c}: 1-5, 0, 0;`, `${c}: 6-20, 0, 0;`, `${c}: 21-63, 0, 0;`);
writeFileSync(file("scans.txt"), scans.join("\n"));
execFileSync("jpegtran", [
	"-scans",
	file("scans.txt"),
	"-outfile",
	file("progressive-many-scans.jpg"),
	file("upright.jpg"),
]);
execFileSync("rm", [file("scans.txt")]);

// Orientation k: the pixels are stored so that a viewer applying EXIF
// orientation k shows upright.jpg. Stored = inverse of the viewer's transform.
const STORE = {
	1: [],
	2: ["-flop"],
	3: ["-rotate", "180"],
	4: ["-flip"],
	5: ["-transpose"],
	6: ["-rotate", "270"],
	7: ["-transverse"],
	8: ["-rotate", "90"],
};

/** APP1 "Exif" with a little-endian TIFF holding only IFD0 Orientation=k. */
function exifSegment(k) {
	const tiff = Buffer.alloc(8 + 2 + 12 + 4);
	tiff.write("II", 0, "latin1");
	tiff.writeUInt16LE(42, 2);
	tiff.writeUInt32LE(8, 4);
	tiff.writeUInt16LE(1, 8); // one entry
	tiff.writeUInt16LE(0x0112, 10); // Orientation
	tiff.writeUInt16LE(3, 12); // SHORT
	tiff.writeUInt32LE(1, 14); // count
	tiff.writeUInt16LE(k, 18); // value, left-justified
	tiff.writeUInt32LE(0, 22); // no next IFD
	const body = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
	const head = Buffer.from([0xff, 0xe1, 0, 0]);
	head.writeUInt16BE(body.length + 2, 2);
	return Buffer.concat([head, body]);
}

for (const [k, ops] of Object.entries(STORE)) {
	const stored = convert(file("upright.jpg"), ...ops, "-strip", "-quality", "92", "jpg:-");
	// Right after SOI, before JFIF: where cameras put it.
	const bytes = Buffer.concat([stored.subarray(0, 2), exifSegment(Number(k)), stored.subarray(2)]);
	writeFileSync(file(`orientation-${k}.jpg`), bytes);
}
console.log(`wrote ${out}`, readFileSync(file("upright.jpg")).length);
