// bn_rows.wgsl (include): the work split shared by batch_norm_apply.wgsl and
// batch_norm_grad_input.wgsl: tensors [N, C, S] contiguous, each row (n, c) split into P = p.parts
// parts of E = p.e values, one invocation per part (t = row * P + part), so no per-element index
// division. Provides struct RowPart {row, c, s0, s1} (the part covers s in [s0, s1) of row `row`,
// channel c) and fn bn_row_part(t) -> RowPart, which reads p.parts, p.c, p.e and p.s of the
// shader's `var<uniform> p`.
struct RowPart { row: u32, c: u32, s0: u32, s1: u32 }

fn bn_row_part(t: u32) -> RowPart {
  var r: RowPart;
  r.row = t / p.parts;
  r.c = r.row % p.c;
  r.s0 = (t % p.parts) * p.e;
  r.s1 = min(p.s, r.s0 + p.e);
  return r;
}
