// kahan.wgsl (include): one step of Kahan-compensated summation. Provides
// fn kahan_add(acc: vec2<f32>, v: f32, zero: u32) -> vec2<f32>, acc = (sum, compensation): adds v
// and returns the new pair; start from vec2(0.0). kahan_add4 adds (v.x + v.y) + (v.z + v.w): one
// compensated step per vec4 (the four-term sum rounds twice, on values of one magnitude). WGSL has
// no `precise`, and drivers may treat float math as reassociable and fold (tot - sum) - y to 0 (Mesa
// does), so the new total passes through an xor with `zero` (a uniform that is always 0), which they
// cannot see through.
fn kahan_add(acc: vec2<f32>, v: f32, zero: u32) -> vec2<f32> {
  let y = v - acc.y;
  let tot = bitcast<f32>(bitcast<u32>(acc.x + y) ^ zero);
  return vec2<f32>(tot, (tot - acc.x) - y);
}

fn kahan_add4(acc: vec2<f32>, v: vec4<f32>, zero: u32) -> vec2<f32> {
  return kahan_add(acc, (v.x + v.y) + (v.z + v.w), zero);
}
