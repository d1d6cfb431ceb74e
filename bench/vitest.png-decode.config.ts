// bench/png-decode.test.ts only (see there): the test config with its include replaced.
import base from "../vitest.config";

const config = { ...base, test: { ...base.test, include: ["bench/png-decode.test.ts"] } };
export default config;
