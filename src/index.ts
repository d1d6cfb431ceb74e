import decode, { init as initDec } from "@jsquash/jpeg/decode";
import decWasm from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import resize, { initResize } from "@jsquash/resize";
import resizeWasm from "@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm";
let ready: Promise<unknown> | undefined;
export default {
  async fetch(req: Request, env: Env) {
    ready ??= Promise.all([initDec(decWasm), initResize(resizeWasm)]);
    await ready;
    const obj = await env.ORIGINALS.get("a.jpg");
    if (!obj) return new Response("nf", { status: 404 });
    const img = await decode(await obj.arrayBuffer());
    const out = await resize(img, { width: 100, height: 50 });
    return new Response(`${img.width}x${img.height} -> ${out.width}x${out.height}`);
  },
} satisfies ExportedHandler<Env>;
