// Makes fixtures/originals/2025/12/big-100mp.jpeg: the seed photo enlarged to
// 12240x8160 (99.9 MP, 3:2, just under MAX_SOURCE_PIXELS), baseline 4:2:0 at
// quality 50 so the file stays small (the enlargement is smooth). Run once at
// authoring time (`node scripts/make-big-jpeg.mjs`); the file is committed.
import { mkdir } from "node:fs/promises";
import sharp from "sharp";

const root = new URL("../fixtures/originals/", import.meta.url);
const seed = new URL("2025/09/AdobeStock_1228396051_Editorial_Use_Only.jpeg", root);
const out = new URL("2025/12/big-100mp.jpeg", root);
await mkdir(new URL("2025/12/", root), { recursive: true });
sharp.cache(false);
const info = await sharp(seed.pathname, { limitInputPixels: false })
	.resize(12240, 8160, { fit: "fill", kernel: "cubic" })
	.jpeg({ quality: 50, progressive: false, chromaSubsampling: "4:2:0", mozjpeg: false })
	.toFile(out.pathname);
console.log(out.pathname, info);
