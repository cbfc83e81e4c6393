// linear: y = x · Wᵀ (no bias), and its two backward products, as one tiled f32 GEMM
//   C[M,N] (+)= Σ_k A(m,k) · B(k,n)
// forward          y[M,out]  = x[M,in] · W[out,in]ᵀ     A = x (row-major),  B(k,n) = W[n,k]
// backward_input   dx[M,in]  = dy[M,out] · W[out,in]    A = dy (row-major), B = W (row-major)
// backward_weight  dW[out,in] = dyᵀ · x                  A(m,k) = dy[k,m],   B = x (row-major)
// Each workgroup computes a 64×64 tile of C with 16×16 threads holding 4×4 outputs each; K advances 16 at a time
// through workgroup memory. Element offsets let a call work on a row range of a larger tensor.

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TILE: u32 = 64u;
const KT: u32 = 16u;
var<workgroup> As: array<f32, 1024>; // [KT][TILE]: As[k * TILE + m]
var<workgroup> Bs: array<f32, 1024>; // [KT][TILE]: Bs[k * TILE + n]

fn load_a(m: u32, k: u32, trans: bool) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (trans) { return A[p.offA + k * p.lda + m]; }
  return A[p.offA + m * p.lda + k];
}

fn load_b(k: u32, n: u32, trans: bool) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  if (trans) { return B[p.offB + n * p.ldb + k]; }
  return B[p.offB + k * p.ldb + n];
}

fn gemm(wg: vec3u, lid: vec3u, trans_a: bool, trans_b: bool) {
  let tx = lid.x; // 0..15 → columns
  let ty = lid.y; // 0..15 → rows
  let li = ty * 16u + tx;
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  for (var k0 = 0u; k0 < p.K; k0 += KT) {
    // 1024 elements of each tile, 256 threads, 4 each.
    for (var e = 0u; e < 4u; e++) {
      let idx = li + e * 256u;
      if (trans_a) {
        // consecutive threads walk m (contiguous in memory when A is transposed)
        let m = idx % TILE; let k = idx / TILE;
        As[k * TILE + m] = load_a(row0 + m, k0 + k, true);
      } else {
        let k = idx % KT; let m = idx / KT;
        As[k * TILE + m] = load_a(row0 + m, k0 + k, false);
      }
      if (trans_b) {
        let k = idx % KT; let n = idx / KT;
        Bs[k * TILE + n] = load_b(k0 + k, col0 + n, true);
      } else {
        let n = idx % TILE; let k = idx / TILE;
        Bs[k * TILE + n] = load_b(k0 + k, col0 + n, false);
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < KT; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[k * TILE + ty + i * 16u];
        b[i] = Bs[k * TILE + tx + i * 16u];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(a[i], b[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ty + i * 16u;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + tx + j * 16u;
      if (c >= p.N) { continue; }
      let o = p.offC + r * p.ldc + c;
      if (p.accumulate != 0u) { C[o] = C[o] + acc[i * 4u + j]; } else { C[o] = acc[i * 4u + j]; }
    }
  }
}

@compute @workgroup_size(16, 16)
fn linear_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  gemm(wg, lid, false, true);
}

@compute @workgroup_size(16, 16)
fn linear_backward_input(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  gemm(wg, lid, false, false);
}

@compute @workgroup_size(16, 16)
fn linear_backward_weight(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  gemm(wg, lid, true, false);
}
