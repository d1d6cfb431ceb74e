// Type of a `.wasm` file imported as a module. tsconfig `paths` points the
// squoosh resize kernel (the tests' reference), PNG codec and oxipng here, because their packages ship a `.wasm.d.ts` that
// describe the instance's exports rather than the module import workerd gives.
declare const module: WebAssembly.Module;
export default module;
