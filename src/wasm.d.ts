/** `.wasm` imports are compiled modules in workerd (wrangler's CompiledWasm rule). */
declare module "*.wasm" {
	const module: WebAssembly.Module;
	export default module;
}
