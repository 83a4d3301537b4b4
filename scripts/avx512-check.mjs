// The addon must run on any x86-64 CPU with AVX2: AVX-512 (zmm) instructions may appear only in
// functions that are called after a run-time CPU check, which live in the C++ namespace `avx512`
// (native/src/dense_step_avx512.cc, the first layer in native/src/conv_pool_avx512.h). Shared by scripts/pack.mjs and test/backend/avx2-path.test.ts.

/** The functions of an `objdump -d` listing that use zmm registers outside namespace `avx512`. */
export function unguardedAvx512(disassembly) {
  const found = new Set();
  let fn = '';
  for (const line of disassembly.split('\n')) {
    const header = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (header) fn = header[1];
    else if (/%zmm\d/.test(line) && !fn.includes('6avx512')) found.add(fn || '(unknown)');
  }
  return [...found];
}
